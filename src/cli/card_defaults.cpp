#include "card_defaults.hpp"

#include "common/sha256.hpp"

#include <swinsmt/pipeline/card_options.hpp>

#include <iostream>
#include <sstream>

namespace swinsmt::cli {

std::optional<ModelCard> model_card_for(const std::string& weights, const std::string& card_path) {
  if (!card_path.empty()) return read_model_card(card_path);
  return read_embedded_model_card(weights);
}

SegmentOptions apply_model_card(const std::optional<ModelCard>& card, SegmentOptions from_flags,
                                const CLI::App& command, const std::string& weights) {
  if (!card) {
    std::cerr << "swinsmt: " << weights
              << " has no model card: using the built-in TotalSegmentator defaults and labels (give one with --card "
                 "FILE, or embed it with swinsmt convert --card)\n";
    return from_flags;
  }
  SegmentOptions options = segment_options(*card, from_flags);
  // A flag given on the command line wins over the card.
  std::string overridden;
  const auto given = [&](const char* flag) {
    const bool is_given = command.count(flag) > 0;
    if (is_given) overridden += std::string(overridden.empty() ? "" : ", ") + flag;
    return is_given;
  };
  if (given("--spacing")) options.spacing = from_flags.spacing;
  if (given("--hu-window")) options.hu_min = from_flags.hu_min, options.hu_max = from_flags.hu_max;
  if (given("--roi")) options.roi_size = from_flags.roi_size;
  if (given("--overlap")) options.overlap = from_flags.overlap;
  if (given("--blend")) options.blend = from_flags.blend;
  std::cerr << "swinsmt: from card: " << describe_preprocessing(*card)
            << (overridden.empty() ? "" : " (" + overridden + " given here instead)") << "\n";
  return options;
}

LabelTable run_label_names(const std::optional<ModelCard>& card) { return card ? card->label_names() : labels(); }

std::string card_run_key(const std::optional<ModelCard>& card, const SegmentOptions& options) {
  std::ostringstream key;
  key << "intensity out " << options.out_min << " " << options.out_max << (options.clip ? " clip" : " no-clip")
      << "; back to input " << back_to_input_name(options.back_to_input);
  if (card) {
    // The names decide masks and statistics; the codes and colours decide DICOM outputs and the
    // preview.
    std::string names;
    const auto concept_text = [](const char* key, const std::optional<CodedConcept>& c) {
      return c ? std::string(";") + key + "=" + c->scheme + ":" + c->code + ":" + c->meaning : std::string();
    };
    for (const auto& label : card->labels) {
      names += std::to_string(label.value) + "=" + label.name;
      names += concept_text("type", label.type) + concept_text("category", label.category) +
               concept_text("modifier", label.modifier) + concept_text("region", label.region);
      if (label.color)
        names += ";color=" + std::to_string((*label.color)[0]) + " " + std::to_string((*label.color)[1]) + " " +
                 std::to_string((*label.color)[2]);
      names += ",";
    }
    Sha256 digest;
    digest.update(names.data(), names.size());
    key << "; label table sha256 " << digest.hex_digest();
  }
  return key.str();
}

}  // namespace swinsmt::cli
