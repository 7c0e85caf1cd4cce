#include <swinsmt/pipeline/label_descriptions.hpp>

#include <swinsmt/error.hpp>
#include <swinsmt/pipeline/preview.hpp>

#include <algorithm>

namespace swinsmt {
namespace {

io::CodedConcept coded(const CodedConcept& c) { return {c.code, c.scheme, c.meaning}; }

std::array<uint8_t, 3> rgb(const std::array<int, 3>& c) {
  // parse_model_card checked 0..255.
  return {static_cast<uint8_t>(c[0]), static_cast<uint8_t>(c[1]), static_cast<uint8_t>(c[2])};
}

}  // namespace

const CardLabel* find_card_label(int id, const std::vector<CardLabel>& card_labels) {
  const auto it =
      std::find_if(card_labels.begin(), card_labels.end(), [&](const CardLabel& l) { return l.value == id; });
  return it == card_labels.end() ? nullptr : &*it;
}

io::SegmentDescription describe_label(int id, const std::string& name, const std::vector<CardLabel>& card_labels) {
  const CardLabel* card = find_card_label(id, card_labels);
  io::SegmentDescription d;
  // parse_model_card lets type and category come only together, so a card label's codes are whole.
  if (card && card->type && card->category) {
    d.name = name;
    d.category = coded(*card->category);
    d.type = coded(*card->type);
    if (card->modifier) d.modifier = coded(*card->modifier);
    if (card->region) d.region = coded(*card->region);
    const io::StructureCode* code = io::find_structure_code(name);
    d.rgb = code ? code->rgb : label_colour(id);
  } else if (io::find_structure_code(name)) {
    d = io::segment_description(name);
  } else {
    throw Error("structure \"" + name + "\" (label " + std::to_string(id) +
                ") has no DICOM codes: the model card gives it no \"type\" and \"category\" (docs/model-card.md), "
                "and the built-in table holds only the " +
                std::to_string(io::structure_codes().size()) + " TotalSegmentator-v2 structures");
  }
  if (card && card->color) d.rgb = rgb(*card->color);
  return d;
}

std::array<uint8_t, 3> preview_colour(int id, const std::vector<CardLabel>& card_labels) {
  const CardLabel* card = find_card_label(id, card_labels);
  return card && card->color ? rgb(*card->color) : label_colour(id);
}

}  // namespace swinsmt
