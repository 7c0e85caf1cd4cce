// `swinsmt inspect`: what a checkpoint holds, without building the model: container, where the
// state dict was found, tensor and parameter counts, the configuration the tensors imply, and the
// other top-level entries (step, epoch, optimizer, ...).

#include "commands.hpp"
#include "common/strings.hpp"

#include <swinsmt/checkpoint/checkpoint.hpp>
#include <swinsmt/checkpoint/config_inference.hpp>
#include <swinsmt/checkpoint/model_card.hpp>
#include <swinsmt/error.hpp>

#include <ATen/ATen.h>

#include <iostream>
#include <map>
#include <optional>

namespace swinsmt::cli {
namespace {

struct InspectArgs {
  std::string checkpoint;
  ModelArgs model;
  bool json = false;
};

using detail::ends_with;

// Learnable values: floating-point tensors, without the derived relative_position_index buffers.
int64_t parameter_count(const StateDict& state) {
  int64_t n = 0;
  for (const auto& item : state)
    if (item.value().is_floating_point() && !ends_with(item.key(), "relative_position_index"))
      n += item.value().numel();
  return n;
}

std::string grouped(int64_t n) {
  std::string digits = std::to_string(n), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

void run_inspect(const InspectArgs& args) {
  const auto ckpt = read_checkpoint(args.checkpoint);
  const auto& info = ckpt.info;
  const ConfigOverrides overrides = args.model.overrides();
  std::optional<SwinSMTOptions> config;
  std::string config_error;
  try {
    config = infer_options(ckpt.state, overrides, args.checkpoint);
  } catch (const Error& e) {
    config_error = e.what();
  }
  std::map<std::string, int64_t> dtypes;
  for (const auto& item : ckpt.state) ++dtypes[c10::toString(item.value().scalar_type())];
  const int64_t params = parameter_count(ckpt.state);
  // A malformed card is reported, not fatal: inspect is where one looks at a broken file.
  std::optional<ModelCard> card;
  std::string card_error;
  try {
    card = model_card_from_metadata(info.metadata, args.checkpoint);
  } catch (const Error& e) {
    card_error = e.what();
  }

  if (args.json) {
    nlohmann::json out = {
        {"path", info.path},
        {"container", container_name(info.container)},
        {"location", info.location},
        {"stripped_prefix", info.stripped_prefix},
        {"tensors", ckpt.state.size()},
        {"dtypes", dtypes},
        {"parameters", params},
        {"config", config ? config_json(*config) : nlohmann::json(nullptr)},
        {"description", config ? describe(*config) : ""},
        {"config_error", config_error},
        {"model_card", card ? nlohmann::json::parse(model_card_json(*card)) : nlohmann::json(nullptr)},
        {"model_card_error", card_error},
        {"entries", nlohmann::json::object()},
        {"metadata", info.metadata}};
    for (const auto& [key, text] : info.entries) out["entries"][key] = text;
    std::cout << out.dump(2) << "\n";
    return;
  }
  std::cout << "file:        " << info.path << "\n"
            << "container:   " << container_name(info.container) << "\n"
            << "state dict:  " << (info.location.empty() ? "top level" : "under \"" + info.location + "\"") << "\n"
            << "prefix:      " << (info.stripped_prefix.empty() ? "none" : "\"" + info.stripped_prefix + "\" stripped")
            << "\n"
            << "tensors:     " << ckpt.state.size() << " (";
  bool first = true;
  for (const auto& [name, count] : dtypes) std::cout << (first ? "" : ", ") << count << " " << name, first = false;
  std::cout << ")\n"
            << "parameters:  " << grouped(params) << "\n";
  if (config)
    std::cout << "config:      " << describe(*config) << "\n";
  else
    std::cout << "config:      not inferred: " << config_error << "\n";
  if (card) {
    const auto& c = *card;
    std::cout << "model card:  " << (c.name.empty() ? "(no name)" : c.name) << " (schema version " << c.version << ")\n"
              << "  network:       merging " << merging_name(c.merging) << ", normalize "
              << (c.normalize ? "true" : "false") << ", out_channels " << c.out_channels << "\n"
              << "  preprocessing: orientation " << c.orientation << ", " << describe_preprocessing(c) << " (-> "
              << c.intensity.b_min << ".." << c.intensity.b_max << (c.intensity.clip ? ", clipped" : "") << ")\n"
              << "  inference:     overlap " << c.overlap << ", " << c.blending
              << " blending, back to the input grid: " << back_to_input_name(c.back_to_input) << "\n"
              << "  labels:        " << c.labels.size() << ":";
    for (const auto& l : c.labels) std::cout << " " << l.value << " " << l.name << (&l == &c.labels.back() ? "" : ",");
    std::cout << "\n"
              << "  provenance:    source SHA-256 " << (c.source_sha256.empty() ? "-" : c.source_sha256)
              << ", training data " << (c.training_data.empty() ? "-" : c.training_data) << ", licence "
              << (c.licence.empty() ? "-" : c.licence) << "\n";
  } else if (!card_error.empty()) {
    std::cout << "model card:  unreadable: " << card_error << "\n";
  }
  if (!info.entries.empty()) {
    std::cout << "other entries:\n";
    for (const auto& [key, text] : info.entries) std::cout << "  " << key << " -> " << text << "\n";
  }
  if (!info.metadata.empty()) {
    std::cout << "metadata:\n";
    for (const auto& [key, text] : info.metadata)
      if (key != kModelCardMetadataKey)  // shown above
        std::cout << "  " << key << ": " << (text.size() > 200 ? text.substr(0, 200) + "..." : text) << "\n";
  }
}

}  // namespace

void add_inspect_command(CLI::App& app) {
  auto args = std::make_shared<InspectArgs>();
  auto* cmd =
      app.add_subcommand("inspect", "Show what a checkpoint holds and the model configuration its tensors imply");
  cmd->add_option("checkpoint", args->checkpoint, "Checkpoint (.pth, .ckpt, .safetensors)")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_flag("--json", args->json, "Print one JSON object instead of text");
  add_configuration_options(*cmd, args->model);  // reported as given
  cmd->callback([args] { run_inspect(*args); });
}

}  // namespace swinsmt::cli
