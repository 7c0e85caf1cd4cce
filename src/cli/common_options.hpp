#pragma once
// Options and helpers that several subcommands share, declared once: the model options
// (--merging, --no-normalize: what a checkpoint's tensors do not record; --device, --dtype: where
// and in which precision the network runs), the thread count and the configuration as JSON.

#include <swinsmt/checkpoint/load.hpp>
#include <swinsmt/nn/options.hpp>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <string>

namespace swinsmt::cli {

struct ModelArgs {
  std::string merging = "merging", device = "cpu", dtype = "float32";
  bool no_normalize = false;

  /// --merging and --no-normalize as configuration overrides.
  ConfigOverrides overrides() const;
  /// overrides() plus the parsed --device and --dtype. Throws swinsmt::Error for a bad device.
  LoadOptions load_options() const;
};

/// Adds --merging and --no-normalize (inspect, convert, forward, segment).
void add_configuration_options(CLI::App& command, ModelArgs& args);
/// Adds --device and --dtype (forward, segment).
void add_device_options(CLI::App& command, ModelArgs& args);

/// Sets LibTorch's intra-op threads: `requested` if > 0, else all hardware threads (LibTorch's own
/// default counts physical cores and can leave half the machine idle).
void set_threads(int requested);

/// The constructor arguments of the official SwinSMT as JSON, as the reference fixtures write them
/// in their "config" metadata (img_size, in_channels, ..., downsample, normalize).
nlohmann::json config_json(const SwinSMTOptions& options);

}  // namespace swinsmt::cli
