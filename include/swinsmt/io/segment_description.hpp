#pragma once
// What a DICOM output says about one label: the SEG segment's label, codes and recommended display
// colour, and the RT-STRUCT ROI's name and colour. The writers take these whole, so the codes may
// come from a model card as well as from the built-in table of the TotalSegmentator structures.

#include <swinsmt/io/structure_codes.hpp>

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>

namespace swinsmt::io {

struct SegmentDescription {
  std::string name;                      ///< Segment Label, ROI Name
  CodedConcept category;                 ///< Segmented Property Category
  CodedConcept type;                     ///< Segmented Property Type
  std::optional<CodedConcept> modifier;  ///< Segmented Property Type Modifier; also the region's modifier
  std::optional<CodedConcept> region;    ///< Anatomic Region, where the type alone does not say it
  std::array<uint8_t, 3> rgb{};          ///< display colour, sRGB 0..255
};

/// The built-in table's description of structure `name` (structure_code): its category and type,
/// its laterality as the modifier (laterality_code), its anatomic region, its colour. Throws
/// swinsmt::Error for a name the table does not hold.
SegmentDescription segment_description(const std::string& name);

/// segment_description of every entry of `structures` (label id -> structure name).
std::map<int, SegmentDescription> segment_descriptions(const std::map<int, std::string>& structures);

}  // namespace swinsmt::io
