#pragma once
// How DICOM names the 117 TotalSegmentator-v2 structures: SNOMED CT category and type codes, the
// laterality modifier of every left/right structure, and a recommended display colour.

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace swinsmt::io {

/// One coded concept (DICOM Code Sequence Macro): value, coding scheme designator, meaning.
struct CodedConcept {
  std::string value, scheme, meaning;
};

struct StructureCode {
  std::string name;            ///< the label table's structure name ("kidney_left")
  CodedConcept category;       ///< Segmented Property Category (SCT 123037004 Anatomical Structure, ...)
  CodedConcept type;           ///< Segmented Property Type (SCT 64033007 Kidney, ...)
  std::string laterality;      ///< "Left" or "Right" for every name holding "_left"/"_right"; else ""
  CodedConcept region;         ///< Anatomic Region where the type alone does not say it (kidney cysts); else empty
  std::array<uint8_t, 3> rgb;  ///< recommended display colour, sRGB 0..255
};

/// The codes of the 117 structures, in label order. The codes and colours are TotalSegmentator's
/// (its resources/totalsegmentator_snomed_mapping.csv: Segmented Property Category/Type codes and
/// DicomRGBColor); the laterality is written as a Type Modifier for every left/right structure.
const std::vector<StructureCode>& structure_codes();

/// The codes of `name`, or nullptr for a name the table does not hold.
const StructureCode* find_structure_code(const std::string& name);

/// The codes of `name`. Throws swinsmt::Error for a name the table does not hold.
const StructureCode& structure_code(const std::string& name);

/// The SNOMED CT laterality modifier: SCT 7771000 "Left" or SCT 24028007 "Right". Throws
/// swinsmt::Error for anything else.
CodedConcept laterality_code(const std::string& laterality);

}  // namespace swinsmt::io
