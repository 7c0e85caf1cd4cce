#pragma once
// Each `swinsmt` subcommand lives in its own file and registers itself on the CLI11 app.

#include <swinsmt/options.hpp>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

namespace swinsmt::cli {

void add_forward_command(CLI::App& app);
void add_doctor_command(CLI::App& app);

/// Sets LibTorch's intra-op threads: `requested` if > 0, else all hardware threads (LibTorch's own
/// default counts physical cores and can leave half the machine idle).
void set_threads(int requested);

void add_inspect_command(CLI::App& app);
void add_convert_command(CLI::App& app);

/// The constructor arguments of the official SwinSMT as JSON, as the reference fixtures write them
/// in their "config" metadata (img_size, in_channels, ..., downsample, normalize).
nlohmann::json config_json(const SwinSMTOptions& options);
void add_segment_command(CLI::App& app);

/// Refuses to replace an existing file unless `overwrite` (nothing the user gave is overwritten
/// without being asked). Throws swinsmt::Error.
void check_writable_output(const std::string& path, bool overwrite);

}  // namespace swinsmt::cli
