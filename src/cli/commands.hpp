#pragma once
// Each `swinsmt` subcommand lives in its own file and registers itself on the CLI11 app.

#include <CLI/CLI.hpp>

namespace swinsmt::cli {

void add_forward_command(CLI::App& app);
void add_segment_command(CLI::App& app);

/// Refuses to replace an existing file unless `overwrite` (nothing the user gave is overwritten
/// without being asked). Throws swinsmt::Error.
void check_writable_output(const std::string& path, bool overwrite);

}  // namespace swinsmt::cli
