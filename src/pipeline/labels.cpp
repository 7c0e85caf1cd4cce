#include <swinsmt/pipeline/labels.hpp>

#include <swinsmt/error.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <numeric>

namespace swinsmt {
namespace detail {
extern const char* const kEmbeddedLabelTable;
}

std::map<int, std::string> parse_label_table(const std::string& json_text, const std::string& source) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(json_text);
  } catch (const std::exception& e) {
    throw Error(source + " is not valid JSON: " + e.what());
  }
  if (!j.is_object()) throw Error(source + ": expected a JSON object {\"1\": \"spleen\", ...}");
  std::map<int, std::string> table;
  for (const auto& [key, value] : j.items()) {
    int id = 0;
    try {
      size_t used = 0;
      id = std::stoi(key, &used);
      if (used != key.size()) throw std::invalid_argument(key);
    } catch (const std::exception&) {
      throw Error(source + ": label id \"" + key + "\" is not an integer");
    }
    if (id < 1 || id > 255) throw Error(source + ": label id " + key + " is outside 1..255");
    if (!value.is_string()) throw Error(source + ": the name of label " + key + " is not a string");
    table[id] = value.get<std::string>();
  }
  return table;
}

const std::map<int, std::string>& labels() {
  static const std::map<int, std::string> table =
      parse_label_table(detail::kEmbeddedLabelTable, "embedded label table");
  return table;
}

std::string label_name(int id, const LabelTable& table) {
  const auto it = table.find(id);
  return it != table.end() ? it->second : "label_" + std::to_string(id);
}

namespace {

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  std::iota(row.begin(), row.end(), 0);
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

}  // namespace

std::vector<std::string> closest_label_names(const std::string& name, size_t count, const LabelTable& table) {
  // A name containing the query ("rib" -> "rib_left_1") ranks first, then by edit distance.
  std::vector<std::pair<size_t, std::string>> ranked;
  for (const auto& [id, known] : table) {
    const bool contains = !name.empty() && known.find(name) != std::string::npos;
    ranked.emplace_back(contains ? 0 : 1 + edit_distance(name, known), known);
  }
  std::sort(ranked.begin(), ranked.end());
  std::vector<std::string> out;
  for (size_t i = 0; i < ranked.size() && i < count; ++i) out.push_back(ranked[i].second);
  return out;
}

std::vector<int> label_ids(const std::vector<std::string>& names, const LabelTable& table) {
  std::vector<int> ids;
  for (const auto& name : names) {
    int found = 0;
    for (const auto& [id, known] : table)
      if (known == name) found = id;
    if (!found) {
      std::string hint;
      for (const auto& close : closest_label_names(name, 3, table)) hint += (hint.empty() ? "" : ", ") + close;
      throw Error("unknown structure name \"" + name + "\"; closest known names: " + hint);
    }
    ids.push_back(found);
  }
  return ids;
}

}  // namespace swinsmt
