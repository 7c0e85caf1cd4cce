// `swinsmt doctor`: what this process runs on (LibTorch, BLAS, threads, devices) and what to fix.

#include "commands.hpp"

#include <swinsmt/kernels/runtime_info.hpp>

#include <iostream>

namespace swinsmt::cli {

void add_doctor_command(CLI::App& app) {
  auto threads = std::make_shared<int>(0);
  auto* cmd = app.add_subcommand("doctor", "Report LibTorch version, the BLAS library in use, threads and devices");
  cmd->add_option("--threads", *threads, "CPU threads to report (default: every CPU this process may use)");
  cmd->callback([threads] {
    set_threads(*threads);
    std::cout << describe(runtime_info());
  });
}

}  // namespace swinsmt::cli
