#pragma once
// SIGINT and SIGTERM, received by one thread of their own.
//
// A signal handler runs on the stack of whichever thread the kernel picks, below that thread's stack
// pointer. oneDNN 2.6's JIT sgemm (Debian 12's libdnnl2, behind the Soft MoE, attention and Winograd
// products) keeps data below its stack pointer, so a handler that lands on a thread inside it
// overwrites that data and corrupts the heap (glibc: "corrupted size vs. prev_size"; a SIGTERM during
// a window did so about once in 50 runs, a signal every 20 us inside dnnl_sgemm every time). Hence
// the CLI blocks both signals in every thread and one watcher thread takes them with sigwait: the
// process starts with them blocked (block_stop_signals() before the CLI re-executes itself, so even
// the threads libraries start before main() inherit the mask), and every thread started later
// inherits it from main().

#include <atomic>

namespace swinsmt::cli {

/// Blocks SIGINT and SIGTERM in the calling thread (and so in the threads it starts later). A signal
/// the process ignores (SIGINT in a shell's background job) stays ignored and is left alone. Returns
/// true when both were blocked already, as after a re-execution that blocked them.
bool block_stop_signals();

/// Starts the watcher thread (once; call after block_stop_signals()). While a StopSignals lives, the
/// first signal is recorded for stop_signal_received() and a second ends the process at once, as the
/// signal's default action does; while none lives, the first one does.
void start_stop_signal_watcher();

/// The first SIGINT or SIGTERM received while the current StopSignals lives, else 0.
int stop_signal_received();

/// While it lives, SIGINT and SIGTERM ask the run to stop (the run polls stop_signal_received()
/// between windows and cases) instead of ending the process.
class StopSignals {
 public:
  StopSignals();
  ~StopSignals();
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;
};

}  // namespace swinsmt::cli
