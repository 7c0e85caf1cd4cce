#pragma once
// Structural check of a DICOM Part 10 file before GDCM parses it. GDCM trusts the lengths a file
// declares: a malformed file meta group makes Debian's GDCM 3.0 abort on an assertion
// (gdcm::FileMetaInformation::ReadCompat), and any element may declare up to 4 GiB that GDCM
// allocates before it notices the file is shorter. Walking every element once here, with every
// length checked against the bytes that are actually there, turns those into swinsmt::Error.

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

namespace swinsmt::io {

/// What the walk found; GDCM is only handed files for which it returned.
struct DicomStructure {
  std::string transfer_syntax;  // (0002,0010), trailing padding removed
  size_t elements = 0;          // data elements walked (meta group, data set, nested items)
  bool big_endian = false;      // explicit VR big endian data set (US values are stored that way)
  /// Raw values of the top-level elements of groups 0020 and 0028 (geometry and image pixel
  /// module), Modality and SliceThickness, keyed by group << 16 | element: what the series reader
  /// needs, parsed by us.
  std::map<uint32_t, std::string> values;
  bool has_pixel_data = false;           // top-level (7FE0,0010)
  bool encapsulated_pixel_data = false;  // compressed: fragments of undefined total length
  uint64_t pixel_data_bytes = 0;         // native pixel data length
};

/// The image pixel module of a greyscale single-frame slice, checked against what GDCM and this
/// reader handle: SamplesPerPixel 1, MONOCHROME1/2, BitsAllocated 8/16/32, BitsStored and HighBit
/// within it, PixelRepresentation 0/1, one frame, native pixel data long enough for the image.
struct DicomPixelModule {
  int64_t rows = 0, columns = 0;
  int bits_allocated = 0;
  bool is_signed = false;
};
DicomPixelModule check_pixel_module(const DicomStructure& file, const std::string& name);

/// The `count` decimal strings (DS) of a top-level element, e.g. ImagePositionPatient (0020,0032)
/// with 3; `what` names it in errors. Throws unless there are exactly `count` finite numbers.
template <size_t N>
std::array<double, N> decimal_strings(const DicomStructure& file, uint16_t group, uint16_t element,
                                      const std::string& what, const std::string& name);
/// A top-level text value (CS, UI, IS...) with its padding removed; empty when absent.
std::string string_value(const DicomStructure& file, uint16_t group, uint16_t element);
/// True when the element is present and not empty.
bool has_value(const DicomStructure& file, uint16_t group, uint16_t element);

/// Walks the 128-byte preamble, "DICM", the file meta group (explicit VR little endian) and the
/// data set in the encoding its transfer syntax names (implicit/explicit VR little endian, explicit
/// VR big endian; a deflated data set is inflated first, at most `max_inflated_bytes`), including
/// nested sequences and encapsulated pixel data. Throws swinsmt::Error naming `name`, the offset,
/// the element and the expected vs actual sizes on the first inconsistency.
DicomStructure check_dicom_structure(const uint8_t* data, size_t size, const std::string& name,
                                     size_t max_inflated_bytes = size_t{1} << 31);

/// True when the file starts with a 128-byte preamble followed by "DICM" (DICOM Part 10).
bool has_dicom_preamble(const uint8_t* data, size_t size);

}  // namespace swinsmt::io
