// `swinsmt convert`: any checkpoint to safetensors, the state dict with its wrapper prefix removed
// and, when the tensors are a SwinSMT, the configuration in the metadata (so the file is
// self-describing and loads without Python or pickle). With --card the model card (preprocessing,
// labels, provenance) goes into the metadata too, after it has been checked against the tensors.

#include "commands.hpp"
#include "common/file_io.hpp"
#include "common/sha256.hpp"

#include <swinsmt/checkpoint/checkpoint.hpp>
#include <swinsmt/checkpoint/config_inference.hpp>
#include <swinsmt/checkpoint/model_card.hpp>
#include <swinsmt/checkpoint/safetensors.hpp>
#include <swinsmt/error.hpp>

#include <iostream>

namespace swinsmt::cli {
namespace {

struct ConvertArgs {
  std::string checkpoint, output, card;
  ModelArgs model;
  bool overwrite = false;
};

void run_convert(const ConvertArgs& args) {
  check_writable_output(args.output, args.overwrite);
  const auto ckpt = read_checkpoint(args.checkpoint);
  Metadata metadata{{"format", "pt"}};
  ConfigOverrides overrides = args.model.overrides();
  std::optional<ModelCard> card;
  if (!args.card.empty()) {
    card = read_model_card(args.card);
    check_model_card(*card, ckpt.state, args.card, args.checkpoint);
    // The card records the file it describes; one written for another file is refused.
    const std::string sha256 = sha256_of_file(args.checkpoint);
    if (!card->source_sha256.empty() && card->source_sha256 != sha256)
      throw Error(args.card + " says provenance.source_sha256 " + card->source_sha256 + ", but " + args.checkpoint +
                  " has SHA-256 " + sha256);
    card->source_sha256 = sha256;
    // Flags given here win; the embedded card then records what they chose.
    const ConfigOverrides flags = overrides;
    overrides = card_overrides(*card);
    if (flags.downsample) overrides.downsample = card->merging = *flags.downsample;
    if (flags.normalize) overrides.normalize = card->normalize = *flags.normalize;
  }
  std::string config_note;
  try {
    const auto config = infer_options(ckpt.state, overrides, args.checkpoint);
    metadata["config"] = config_json(config).dump();
    metadata["description"] = describe(config);
    config_note = "config " + describe(config);
  } catch (const Error& e) {
    if (card) throw;  // a card describes a network: its configuration must be known
    config_note = "no config metadata (" + std::string(e.what()) + ")";
  }
  if (card) {
    metadata[kModelCardMetadataKey] = model_card_json(*card);
    config_note += "; model card " + (card->name.empty() ? args.card : card->name) + " (" +
                   std::to_string(card->labels.size()) + " labels, " + describe_preprocessing(*card) + ")";
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
  cmd->add_option("--card", args->card,
                  "Model card (JSON, docs/model-card.md) to embed: preprocessing, labels, provenance; checked "
                  "against the tensors")
      ->check(CLI::ExistingFile);
  add_configuration_options(*cmd, args->model);  // recorded in the config metadata
  cmd->add_flag("--overwrite", args->overwrite, "Replace the output file if it exists");
  cmd->callback([args] { run_convert(*args); });
}

}  // namespace swinsmt::cli
