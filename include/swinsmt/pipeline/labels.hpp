#pragma once
// The 117 TotalSegmentator-v2 structures Swin SMT segments (label 0 is background), and lookups in
// any label table (a model card's, ModelCard::label_names()).

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace swinsmt {

/// Label id -> structure name.
using LabelTable = std::map<int, std::string>;

/// Label id (1..117) -> structure name ("spleen", "kidney_right", ...), TotalSegmentator v2 "total"
/// task. The table (data/totalseg_v2_labels.json) is embedded in the library at build time, so this
/// works wherever the library is installed.
const std::map<int, std::string>& labels();

/// Parses a label table in the JSON form {"1": "spleen", ...}. Throws swinsmt::Error naming `source`.
std::map<int, std::string> parse_label_table(const std::string& json_text, const std::string& source);

/// The name of a label id in `table` (default: labels()), or "label_<id>" when the table has none.
std::string label_name(int id, const LabelTable& table = labels());

/// Label ids of `names` (exact structure names in `table`). Throws swinsmt::Error for an unknown
/// name, listing the closest known names.
std::vector<int> label_ids(const std::vector<std::string>& names, const LabelTable& table = labels());

/// Up to `count` structure names of `table` closest to `name` (edit distance, then shared substrings).
std::vector<std::string> closest_label_names(const std::string& name, size_t count = 3,
                                             const LabelTable& table = labels());

}  // namespace swinsmt
