#pragma once
// How the outputs show a label beyond its name: the codes and colour of DICOM outputs, and the
// preview's colour. A model card's label gives them where it has them; otherwise DICOM outputs take
// the built-in table of the TotalSegmentator structures by name (io::structure_code) and the
// preview its own colour per label id (label_colour).

#include <swinsmt/checkpoint/model_card.hpp>
#include <swinsmt/io/segment_description.hpp>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace swinsmt {

/// The label of `card_labels` with value `id`; nullptr when there is none.
const CardLabel* find_card_label(int id, const std::vector<CardLabel>& card_labels);

/// What DICOM outputs say about label `id` named `name`: the card label's codes (type, category,
/// modifier, region) when it gives them, else the built-in table's for `name`; the card label's
/// colour when it gives one, else the table's for `name`, else label_colour(id). Throws
/// swinsmt::Error naming the structure and its label id when neither the card nor the table has
/// codes for it.
io::SegmentDescription describe_label(int id, const std::string& name, const std::vector<CardLabel>& card_labels);

/// The preview's colour of label `id`: the card label's colour when it gives one, else
/// label_colour(id).
std::array<uint8_t, 3> preview_colour(int id, const std::vector<CardLabel>& card_labels);

}  // namespace swinsmt
