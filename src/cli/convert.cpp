// `swinsmt convert`: any checkpoint to safetensors, the state dict with its wrapper prefix removed
// and, when the tensors are a SwinSMT, the configuration in the metadata (so the file is
// self-describing and loads without Python or pickle).

#include "commands.hpp"
#include "common/file_io.hpp"

#include <swinsmt/checkpoint/checkpoint.hpp>
#include <swinsmt/checkpoint/config_inference.hpp>
#include <swinsmt/checkpoint/safetensors.hpp>
#include <swinsmt/error.hpp>

#include <iostream>

namespace swinsmt::cli {
namespace {

struct ConvertArgs {
  std::string checkpoint, output;
  ModelArgs model;
  bool overwrite = false;
};

void run_convert(const ConvertArgs& args) {
  check_writable_output(args.output, args.overwrite);
  const auto ckpt = read_checkpoint(args.checkpoint);
  Metadata metadata{{"format", "pt"}};
  const ConfigOverrides overrides = args.model.overrides();
  std::string config_note;
  try {
    const auto config = infer_options(ckpt.state, overrides, args.checkpoint);
    metadata["config"] = config_json(config).dump();
    metadata["description"] = describe(config);
    config_note = "config " + describe(config);
  } catch (const Error& e) {
    config_note = "no config metadata (" + std::string(e.what()) + ")";
  }
  write_safetensors(args.output, ckpt.state, metadata);
  std::cerr << "wrote " << args.output << ": " << ckpt.state.size() << " tensors from "
            << container_name(ckpt.info.container)
            << (ckpt.info.location.empty() ? "" : " (under \"" + ckpt.info.location + "\")") << "; " << config_note
            << "\n";
}

}  // namespace

void add_convert_command(CLI::App& app) {
  auto args = std::make_shared<ConvertArgs>();
  auto* cmd =
      app.add_subcommand("convert", "Write a checkpoint's state dict as safetensors, with the inferred configuration");
  cmd->add_option("checkpoint", args->checkpoint, "Checkpoint (.pth, .ckpt, .safetensors)")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("output", args->output, "safetensors file to write")->required();
  add_configuration_options(*cmd, args->model);  // recorded in the config metadata
  cmd->add_flag("--overwrite", args->overwrite, "Replace the output file if it exists");
  cmd->callback([args] { run_convert(*args); });
}

}  // namespace swinsmt::cli
