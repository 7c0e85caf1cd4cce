#pragma once
// Each `swinsmt` subcommand lives in its own file and registers itself on the CLI11 app.

#include "common_options.hpp"

#include <CLI/CLI.hpp>

namespace swinsmt::cli {

void add_forward_command(CLI::App& app);
void add_doctor_command(CLI::App& app);
void add_inspect_command(CLI::App& app);
void add_convert_command(CLI::App& app);
void add_segment_command(CLI::App& app);

}  // namespace swinsmt::cli
