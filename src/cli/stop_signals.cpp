#include "stop_signals.hpp"

#include <pthread.h>
#include <signal.h>

#include <csignal>
#include <cstdlib>
#include <mutex>
#include <thread>

namespace swinsmt::cli {
namespace {

// Both trivially destructible: the watcher may still read them while static destructors run at exit.
std::atomic<int> received{0};
std::atomic<bool> listening{false};

/// SIGINT and SIGTERM, less those the process ignores.
sigset_t stop_signal_set() {
  sigset_t set;
  sigemptyset(&set);
  for (int signal : {SIGINT, SIGTERM}) {
    struct sigaction current {};
    if (sigaction(signal, nullptr, &current) == 0 && current.sa_handler == SIG_IGN) continue;
    sigaddset(&set, signal);
  }
  return set;
}

/// The signal's default action (ending the process) on the calling thread.
[[noreturn]] void end_process_with(int signal) {
  std::signal(signal, SIG_DFL);
  sigset_t one;
  sigemptyset(&one);
  sigaddset(&one, signal);
  pthread_sigmask(SIG_UNBLOCK, &one, nullptr);
  raise(signal);
  std::_Exit(128 + signal);  // not reached: the default action of SIGINT and SIGTERM ends the process
}

/// What a signal does: the first one while a run listens is recorded, any other ends the process.
void on_stop_signal(int signal) {
  if (!listening.load() || received.exchange(signal) != 0) end_process_with(signal);
}

// A fallback for a thread that has the signals unblocked after all (a library's thread started
// before main() when the re-execution failed): the same decision, on that thread's stack.
extern "C" void on_stop_signal_in_handler(int signal) { on_stop_signal(signal); }

void watch(sigset_t set) {
  for (;;) {
    int signal = 0;
    if (sigwait(&set, &signal) == 0) on_stop_signal(signal);
  }
}

}  // namespace

bool block_stop_signals() {
  const sigset_t set = stop_signal_set();
  sigset_t before;
  pthread_sigmask(SIG_BLOCK, &set, &before);
  for (int signal : {SIGINT, SIGTERM})
    if (sigismember(&set, signal) && !sigismember(&before, signal)) return false;
  return true;
}

void start_stop_signal_watcher() {
  static std::once_flag once;
  std::call_once(once, [] {
    const sigset_t set = stop_signal_set();
    bool any = false;
    for (int signal : {SIGINT, SIGTERM})
      if (sigismember(&set, signal)) std::signal(signal, on_stop_signal_in_handler), any = true;
    if (any) std::thread(watch, set).detach();
  });
}

int stop_signal_received() { return received.load(); }

StopSignals::StopSignals() {
  start_stop_signal_watcher();
  received = 0;
  listening = true;
}

StopSignals::~StopSignals() { listening = false; }

}  // namespace swinsmt::cli
