// `swinsmt`: command-line front end of the library. Errors are one sentence on stderr; exit codes in
// cli/common_options.hpp (0 done, 1 error, 2 some cases failed, 128 + signal when interrupted).

#include "commands.hpp"
#include "stop_signals.hpp"

#include <swinsmt/error.hpp>
#include <swinsmt/kernels/cpu_buffer_pool.hpp>
#include <swinsmt/version.hpp>

#include <c10/util/Exception.h>

#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <string>
#include <utility>

namespace {

int run(int argc, char** argv) {
  CLI::App app{"swinsmt: Swin SMT whole-body CT segmentation (117 TotalSegmentator-v2 structures) on LibTorch"};
  app.footer(
      "Environment: OMP_WAIT_POLICY and OPENBLAS_THREAD_TIMEOUT default to PASSIVE and 4 (idle thread pools\n"
      "sleep instead of spinning); SWINSMT_CPU_BUFFER_POOL=0 keeps LibTorch's CPU allocator instead of the\n"
      "buffer pool that reuses freed activations. `swinsmt doctor` shows what is in effect.");
  app.set_version_flag("--version", std::string("swinsmt ") + SWINSMT_VERSION +
                                        " (run `swinsmt doctor` for LibTorch, BLAS, threads and devices)");
  app.require_subcommand(1);
  swinsmt::cli::add_forward_command(app);
  swinsmt::cli::add_doctor_command(app);
  swinsmt::cli::add_inspect_command(app);
  swinsmt::cli::add_convert_command(app);
  swinsmt::cli::add_segment_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const std::exception&) {
    std::cerr << "swinsmt: error: " << swinsmt::cli::current_error_message() << "\n";
    return 1;
  }
  return swinsmt::cli::exit_status();
}

}  // namespace

// LibTorch's OpenMP threads spin-wait after every parallel region by default, while OpenBLAS runs
// the matrix products on threads of its own: on few cores the two pools take turns stealing the
// cores (one 128^3 window: 25-30 % slower). OpenBLAS's idle threads in turn call sched_yield in a
// loop for ~0.1 s after each product before they sleep (the README example: 20 of 44 CPU seconds
// in the kernel; 3.6 with the shortest timeout). Both libraries read these variables only when they
// are loaded, so the CLI re-executes itself once with them unless the user set them. SIGINT and
// SIGTERM are blocked before that, so that every thread of the new image, OpenBLAS's included
// (started before main()), has them blocked and only the watcher thread takes them (stop_signals.hpp).
void prepare_process(char** argv) {
  bool changed = false;
  for (const auto& [name, value] :
       {std::pair{"OMP_WAIT_POLICY", "PASSIVE"}, std::pair{"OPENBLAS_THREAD_TIMEOUT", "4"}}) {
    if (std::getenv(name) == nullptr && setenv(name, value, 1) == 0) changed = true;
  }
  const bool blocked_at_start = swinsmt::cli::block_stop_signals();
  if (changed || !blocked_at_start) execv("/proc/self/exe", argv);  // returns only on failure: then run as we are
}

int main(int argc, char** argv) {
  prepare_process(argv);
  swinsmt::cli::start_stop_signal_watcher();
  // Keep freed activations for the next layer and window instead of faulting fresh pages in for
  // each (swinsmt/kernels/cpu_buffer_pool.hpp); SWINSMT_CPU_BUFFER_POOL=0 keeps LibTorch's allocator.
  const char* pool = std::getenv("SWINSMT_CPU_BUFFER_POOL");
  if (pool == nullptr || std::string(pool) != "0") swinsmt::use_cpu_buffer_pool();
  // Building the CLI11 app can throw too (bad_alloc): no exception leaves main.
  try {
    return run(argc, argv);
  } catch (...) {
    std::cerr << "swinsmt: error: unexpected failure while starting\n";
    return 1;
  }
}
