#pragma once
// Options and helpers that several subcommands share, declared once: the model options
// (--merging, --no-normalize: what a checkpoint's tensors do not record; --device, --dtype: where
// and in which precision the network runs), the thread count and the configuration as JSON.

#include <swinsmt/checkpoint/load.hpp>
#include <swinsmt/kernels/runtime_info.hpp>
#include <swinsmt/nn/options.hpp>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <string>

namespace swinsmt::cli {

struct ModelArgs {
  std::string merging;  ///< "" = not given: the model card's, else the official "merging"
  std::string device = "cpu", dtype = "float32";
  bool no_normalize = false;

  /// --merging and --no-normalize as configuration overrides (set only when given).
  ConfigOverrides overrides() const;
  /// overrides() plus the parsed --device and --dtype. Throws swinsmt::Error for a bad device.
  LoadOptions load_options() const;
};

/// Adds --merging and --no-normalize (inspect, convert, forward, segment).
void add_configuration_options(CLI::App& command, ModelArgs& args);
/// Adds --device and --dtype (forward, segment).
void add_device_options(CLI::App& command, ModelArgs& args);

/// Sets LibTorch's intra-op threads: `requested` if > 0, else every available CPU (LibTorch's own
/// default counts physical cores and can leave half the machine idle). More than available_cpus()
/// (kernels/runtime_info.hpp)
/// is bounded to it with a warning on stderr (oversubscribed pools run many times slower, and
/// thousands of threads can hang LibTorch's pool creation). Returns the count set.
int set_threads(int requested);

/// The one sentence to print for the exception being handled (call inside a catch block):
/// swinsmt::Error's text, LibTorch's without its C++ backtrace, any other std::exception's what().
std::string current_error_message();

/// Exit status of the process: 0 done, 1 an error before any case ran (usage, weights, outputs) or
/// every case failed, kExitSomeFailed when some cases failed and the others were written,
/// kExitInterrupted + signal number when SIGINT or SIGTERM stopped the run.
constexpr int kExitSomeFailed = 2;
constexpr int kExitInterrupted = 128;
int& exit_status();

/// The constructor arguments of the official SwinSMT as JSON, as the reference fixtures write them
/// in their "config" metadata (img_size, in_channels, ..., downsample, normalize).
nlohmann::json config_json(const SwinSMTOptions& options);

}  // namespace swinsmt::cli
