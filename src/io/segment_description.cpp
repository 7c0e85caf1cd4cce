#include <swinsmt/io/segment_description.hpp>

namespace swinsmt::io {

SegmentDescription segment_description(const std::string& name) {
  const StructureCode& code = structure_code(name);
  SegmentDescription d;
  d.name = name;
  d.category = code.category;
  d.type = code.type;
  if (!code.laterality.empty()) d.modifier = laterality_code(code.laterality);
  if (!code.region.value.empty()) d.region = code.region;
  d.rgb = code.rgb;
  return d;
}

std::map<int, SegmentDescription> segment_descriptions(const std::map<int, std::string>& structures) {
  std::map<int, SegmentDescription> out;
  for (const auto& [id, name] : structures) out.emplace(id, segment_description(name));
  return out;
}

}  // namespace swinsmt::io
