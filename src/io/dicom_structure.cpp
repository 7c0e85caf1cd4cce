// Structural walk of a DICOM Part 10 file (PS3.5 chapter 7 encodings, PS3.10 chapter 7 meta
// group). The walk is deliberately strict: a file GDCM would accept only by guessing (a meta group
// whose length disagrees with its elements, an item outside a sequence) is refused with the offset
// of the first inconsistency, so GDCM never reaches the code paths that assert or over-allocate.
#include "dicom_structure.hpp"

#include <swinsmt/error.hpp>

#include <gdcmDict.h>
#include <gdcmDicts.h>
#include <gdcmGlobal.h>
#include <gdcmTag.h>
#include <gdcmVR.h>
#include <zlib.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace swinsmt::io {
namespace {

constexpr uint32_t undefined_length = 0xFFFFFFFFu;
constexpr size_t preamble_bytes = 132;  // 128-byte preamble + "DICM"
constexpr int max_sequence_depth = 64;

enum class Encoding { implicit_little, explicit_little, explicit_big };

struct Tag {
  uint16_t group = 0, element = 0;
  bool operator==(const Tag& o) const { return group == o.group && element == o.element; }
};
constexpr Tag item_tag{0xFFFE, 0xE000};
constexpr Tag item_delimiter{0xFFFE, 0xE00D};
constexpr Tag sequence_delimiter{0xFFFE, 0xE0DD};
constexpr Tag pixel_data{0x7FE0, 0x0010};

std::string hex_tag(Tag t) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "(%04X,%04X)", t.group, t.element);
  return buf;
}

// VRs of PS3.5 table 6.2-1 as of 2023. The second group has a 4-byte length (PS3.5 7.1.2).
bool is_known_vr(const char* vr) {
  static const char* const all[] = {"AE", "AS", "AT", "CS", "DA", "DS", "DT", "FL", "FD", "IS", "LO", "LT",
                                    "OB", "OD", "OF", "OL", "OV", "OW", "PN", "SH", "SL", "SQ", "SS", "ST",
                                    "SV", "TM", "UC", "UI", "UL", "UN", "UR", "US", "UT", "UV"};
  for (const char* known : all)
    if (vr[0] == known[0] && vr[1] == known[1]) return true;
  return false;
}
bool has_long_length(const char* vr) {
  static const char* const long_form[] = {"OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV"};
  for (const char* known : long_form)
    if (vr[0] == known[0] && vr[1] == known[1]) return true;
  return false;
}

gdcm::VR dictionary_vr(Tag t) {
  return gdcm::Global::GetInstance().GetDicts().GetPublicDict().GetDictEntry(gdcm::Tag(t.group, t.element)).GetVR();
}

// The public dictionary's VR decides whether an implicit-VR element is a sequence, as it does for GDCM.
bool dictionary_says_sequence(Tag t) { return dictionary_vr(t) == gdcm::VR::SQ; }

std::string trim_uid(const uint8_t* p, size_t n) {
  std::string s(reinterpret_cast<const char*>(p), n);
  while (!s.empty() && (s.back() == '\0' || s.back() == ' ')) s.pop_back();
  return s;
}

class Walker {
 public:
  Walker(const uint8_t* data, size_t size, const std::string& name, const char* where, DicomStructure& out)
      : data_(data), size_(size), name_(name), where_(where), out_(out) {}

  // Walks data elements in [pos, end). With `in_undefined_item`, stops after the item delimiter;
  // with `single`, after the first element.
  size_t data_set(size_t pos, size_t end, Encoding enc, int depth, bool in_undefined_item, bool single = false) {
    while (pos < end) {
      need(pos, 8, end, "an element header");
      const Tag tag = read_tag(pos, enc);
      if (tag == item_delimiter) {
        if (!in_undefined_item) fail(pos, "an item delimiter " + hex_tag(tag) + " outside an item of undefined length");
        return pos + 8;
      }
      if (tag.group == 0xFFFE) fail(pos, hex_tag(tag) + " where a data element was expected");
      if (tag.group == 0x0002 && depth == 0 && enc != Encoding::explicit_little)
        fail(pos, "file meta element " + hex_tag(tag) + " inside the data set");
      ++out_.elements;

      char vr[3] = {'?', '?', '\0'};
      uint32_t length = 0;
      size_t header = 8;
      if (enc == Encoding::implicit_little) {
        length = read32(pos + 4, enc);
      } else {
        vr[0] = static_cast<char>(data_[pos + 4]);
        vr[1] = static_cast<char>(data_[pos + 5]);
        if (!is_known_vr(vr))
          fail(pos, hex_tag(tag) + " has VR bytes 0x" + hex_byte(data_[pos + 4]) + hex_byte(data_[pos + 5]) +
                        "; expected one of the DICOM VRs (PS3.5 table 6.2-1)");
        // GDCM asserts (abort) when it reads an attribute whose explicit VR contradicts the
        // dictionary (found by fuzz_dicom: BitsStored as UI). Public elements must agree with it,
        // in GDCM's sense: the same VR, one of a multi-VR entry (US or SS), or UN.
        if ((tag.group & 1) == 0) {
          const gdcm::VR expected = dictionary_vr(tag);
          const gdcm::VR found = gdcm::VR::GetVRType(vr);
          if (expected != gdcm::VR::INVALID && found != gdcm::VR::UN && !expected.Compatible(found))
            fail(pos, hex_tag(tag) + " has VR " + vr + "; the DICOM dictionary gives it VR " +
                          gdcm::VR::GetVRString(expected));
        }
        if (has_long_length(vr)) {
          need(pos, 12, end, "the header of " + hex_tag(tag) + " " + vr);
          length = read32(pos + 8, enc);
          header = 12;
        } else {
          length = read16(pos + 6, enc);
        }
      }
      const size_t value = pos + header;
      if (depth == 0) record(tag, value, length);
      const bool implicit = enc == Encoding::implicit_little;
      const bool is_sq = implicit ? false : std::strcmp(vr, "SQ") == 0;
      const bool is_un = !implicit && std::strcmp(vr, "UN") == 0;
      // Unknown-VR and implicit sequences are implicit VR little endian inside (PS3.5 6.2.2).
      const Encoding inner = (implicit || is_un) ? Encoding::implicit_little : enc;

      if (length == undefined_length) {
        if (tag == pixel_data && (implicit || std::strcmp(vr, "OB") == 0 || std::strcmp(vr, "OW") == 0)) {
          pos = fragments(value, end, enc);
        } else if (is_sq || is_un || implicit) {
          pos = sequence(value, end, inner, depth + 1, true);
        } else {
          fail(pos, hex_tag(tag) + " " + vr + " has an undefined length, which only SQ, UN and encapsulated " +
                        "pixel data may have");
        }
        if (single) return pos;
        continue;
      }
      if (length > end - value)
        fail(pos, hex_tag(tag) + (implicit ? "" : std::string(" ") + vr) + " declares " + std::to_string(length) +
                      " bytes but only " + std::to_string(end - value) + " remain in the " + where_);
      const bool starts_with_item = length >= 8 && read_tag(value, inner) == item_tag;
      if (is_sq || ((implicit || is_un) && (starts_with_item || dictionary_says_sequence(tag))))
        sequence(value, value + length, inner, depth + 1, false);
      pos = value + length;
      if (single) return pos;
    }
    if (in_undefined_item) fail(pos, "an item of undefined length without its delimiter (FFFE,E00D)");
    return pos;
  }

  // The file meta group from `pos`: explicit VR little endian elements of group 0002 (PS3.10 7.1).
  // Returns where the data set starts. The group length (0002,0000), when present, must match.
  size_t meta_group(size_t pos) {
    size_t group_length_end = 0;
    int64_t group_length = -1;
    while (size_ - pos >= 8 && read16(pos, Encoding::explicit_little) == 0x0002) {
      const Tag tag = read_tag(pos, Encoding::explicit_little);
      const size_t next = element_end(pos, size_, Encoding::explicit_little);
      const char vr[3] = {static_cast<char>(data_[pos + 4]), static_cast<char>(data_[pos + 5]), '\0'};
      const size_t value = pos + (has_long_length(vr) ? 12 : 8);
      if (std::strcmp(vr, "SQ") == 0 || next - value > (size_t{1} << 16))
        fail(pos, "file meta element " + hex_tag(tag) + " " + vr + " of " + std::to_string(next - value) +
                      " bytes; the meta group holds short values only");
      if (tag.element == 0x0000) {
        if (next - value != 4)
          fail(pos, "(0002,0000) group length has " + std::to_string(next - value) + " bytes, expected 4");
        group_length = read32(value, Encoding::explicit_little);
        group_length_end = next;
      } else if (tag.element == 0x0010) {
        out_.transfer_syntax = trim_uid(data_ + value, next - value);
      }
      pos = next;
    }
    if (group_length >= 0 && static_cast<size_t>(group_length) != pos - group_length_end)
      fail(group_length_end - 12, "the file meta group length (0002,0000) says " + std::to_string(group_length) +
                                      " bytes, but its elements take " + std::to_string(pos - group_length_end));
    if (out_.transfer_syntax.empty()) fail(pos, "the file meta group has no TransferSyntaxUID (0002,0010)");
    return pos;
  }

 private:
  // Keeps what the series reader needs from the top-level data set.
  void record(Tag tag, size_t value, uint32_t length) {
    if (tag == pixel_data) {
      out_.has_pixel_data = true;
      out_.encapsulated_pixel_data = length == undefined_length;
      out_.pixel_data_bytes = length == undefined_length ? 0 : length;
      return;
    }
    // Geometry and pixel module (groups 0020, 0028), Modality (0008,0060), SliceThickness (0018,0050).
    const bool kept = tag.group == 0x0020 || tag.group == 0x0028 || (tag.group == 0x0008 && tag.element == 0x0060) ||
                      (tag.group == 0x0018 && tag.element == 0x0050);
    if (!kept || length == undefined_length || length > end_of_data(value)) return;
    if (length <= 1024)
      out_.values[uint32_t{tag.group} << 16 | tag.element] =
          std::string(reinterpret_cast<const char*>(data_ + value), length);
  }
  size_t end_of_data(size_t value) const { return size_ - value; }

  // End of the element at `pos`, a flat (non-sequence) explicit VR element whose value must fit in [pos, end).
  size_t element_end(size_t pos, size_t end, Encoding enc) {
    return data_set(pos, end, enc, 0, false, /*single=*/true);
  }

  // Items in [pos, end); with `undefined`, up to and including the sequence delimiter.
  size_t sequence(size_t pos, size_t end, Encoding enc, int depth, bool undefined) {
    if (depth > max_sequence_depth)
      fail(pos, "sequences nested deeper than " + std::to_string(max_sequence_depth) + " levels");
    while (pos < end) {
      need(pos, 8, end, "an item header");
      const Tag tag = read_tag(pos, enc);
      const uint32_t length = read32(pos + 4, enc);
      if (tag == sequence_delimiter) {
        if (!undefined) fail(pos, "a sequence delimiter (FFFE,E0DD) inside a sequence of defined length");
        return pos + 8;
      }
      if (!(tag == item_tag)) fail(pos, "expected an item (FFFE,E000) in a sequence, found " + hex_tag(tag));
      if (length == undefined_length) {
        pos = data_set(pos + 8, end, enc, depth, true);
      } else {
        if (length > end - pos - 8)
          fail(pos, "an item declares " + std::to_string(length) + " bytes but only " + std::to_string(end - pos - 8) +
                        " remain in its sequence");
        data_set(pos + 8, pos + 8 + length, enc, depth, false);
        pos += 8 + length;
      }
    }
    if (undefined) fail(pos, "a sequence of undefined length without its delimiter (FFFE,E0DD)");
    return pos;
  }

  // Encapsulated pixel data (PS3.5 A.4): items of defined length, then a sequence delimiter.
  size_t fragments(size_t pos, size_t end, Encoding enc) {
    while (pos < end) {
      need(pos, 8, end, "a pixel data fragment header");
      const Tag tag = read_tag(pos, enc);
      const uint32_t length = read32(pos + 4, enc);
      if (tag == sequence_delimiter) return pos + 8;
      if (!(tag == item_tag)) fail(pos, "expected a pixel data fragment (FFFE,E000), found " + hex_tag(tag));
      if (length == undefined_length) fail(pos, "a pixel data fragment of undefined length");
      if (length > end - pos - 8)
        fail(pos, "a pixel data fragment declares " + std::to_string(length) + " bytes but only " +
                      std::to_string(end - pos - 8) + " remain");
      pos += 8 + length;
    }
    fail(pos, "encapsulated pixel data without its sequence delimiter (FFFE,E0DD)");
  }

  Tag read_tag(size_t pos, Encoding enc) const { return {read16(pos, enc), read16(pos + 2, enc)}; }
  uint16_t read16(size_t pos, Encoding enc) const {
    return enc == Encoding::explicit_big ? static_cast<uint16_t>(data_[pos] << 8 | data_[pos + 1])
                                         : static_cast<uint16_t>(data_[pos] | data_[pos + 1] << 8);
  }
  uint32_t read32(size_t pos, Encoding enc) const {
    if (enc == Encoding::explicit_big)
      return uint32_t{data_[pos]} << 24 | uint32_t{data_[pos + 1]} << 16 | uint32_t{data_[pos + 2]} << 8 |
             data_[pos + 3];
    return uint32_t{data_[pos]} | uint32_t{data_[pos + 1]} << 8 | uint32_t{data_[pos + 2]} << 16 |
           uint32_t{data_[pos + 3]} << 24;
  }
  static std::string hex_byte(uint8_t b) {
    char buf[4];
    std::snprintf(buf, sizeof buf, "%02X", b);
    return buf;
  }
  void need(size_t pos, size_t bytes, size_t end, const std::string& what) const {
    if (end - pos < bytes)
      fail(pos, "truncated: " + what + " needs " + std::to_string(bytes) + " bytes but only " +
                    std::to_string(end - pos) + " remain");
  }
  [[noreturn]] void fail(size_t pos, const std::string& what) const {
    throw Error(name_ + ": malformed DICOM at byte " + std::to_string(pos) + " of the " + where_ + ": " + what);
  }

  const uint8_t* data_;
  size_t size_;
  const std::string& name_;
  const char* where_;
  DicomStructure& out_;
};

std::vector<uint8_t> inflate_data_set(const uint8_t* data, size_t size, const std::string& name, size_t limit) {
  z_stream z{};
  if (inflateInit2(&z, -MAX_WBITS) != Z_OK) throw Error(name + ": cannot start zlib to inflate the deflated data set");
  std::vector<uint8_t> out;
  z.next_in = const_cast<Bytef*>(data);
  int status = Z_OK;
  size_t consumed = 0;
  while (status != Z_STREAM_END) {
    const size_t chunk = std::min<size_t>(size - consumed, 1u << 30);
    z.next_in = const_cast<Bytef*>(data + consumed);
    z.avail_in = static_cast<uInt>(chunk);
    if (out.size() >= limit) {
      inflateEnd(&z);
      throw Error(name + ": the deflated data set inflates to more than " + std::to_string(limit) +
                  " bytes; refusing it");
    }
    const size_t before = out.size();
    out.resize(std::min(limit, before + (size_t{1} << 20)));
    z.next_out = out.data() + before;
    z.avail_out = static_cast<uInt>(out.size() - before);
    status = inflate(&z, Z_NO_FLUSH);
    consumed += chunk - z.avail_in;
    out.resize(out.size() - z.avail_out);
    if (status == Z_BUF_ERROR && consumed == size) status = Z_DATA_ERROR;  // input ended early
    if (status != Z_OK && status != Z_STREAM_END) {
      inflateEnd(&z);
      throw Error(name +
                  ": the deflated data set (transfer syntax 1.2.840.10008.1.2.1.99) is not a valid deflate "
                  "stream (zlib error " +
                  std::to_string(status) + ")");
    }
  }
  inflateEnd(&z);
  return out;
}

}  // namespace

namespace {

std::string tag_name(uint16_t group, uint16_t element) { return hex_tag(Tag{group, element}); }

const std::string* find_value(const DicomStructure& file, uint16_t group, uint16_t element) {
  const auto it = file.values.find(uint32_t{group} << 16 | element);
  return it == file.values.end() ? nullptr : &it->second;
}

// A US (unsigned short) value, VM 1.
int64_t unsigned_short(const DicomStructure& file, uint16_t group, uint16_t element, const char* what,
                       const std::string& name) {
  const std::string* v = find_value(file, group, element);
  if (!v || v->empty()) throw Error(name + " has no " + what + " " + tag_name(group, element));
  if (v->size() != 2)
    throw Error(name + ": " + what + " " + tag_name(group, element) + " has " + std::to_string(v->size()) +
                " bytes; expected one unsigned short (2 bytes)");
  const auto* b = reinterpret_cast<const uint8_t*>(v->data());
  return file.big_endian ? (b[0] << 8 | b[1]) : (b[0] | b[1] << 8);
}

}  // namespace

std::string string_value(const DicomStructure& file, uint16_t group, uint16_t element) {
  const std::string* v = find_value(file, group, element);
  if (!v) return {};
  std::string s = trim_uid(reinterpret_cast<const uint8_t*>(v->data()), v->size());
  while (!s.empty() && s.front() == ' ') s.erase(s.begin());
  return s;
}

bool has_value(const DicomStructure& file, uint16_t group, uint16_t element) {
  const std::string* v = find_value(file, group, element);
  return v && !string_value(file, group, element).empty();
}

template <size_t N>
std::array<double, N> decimal_strings(const DicomStructure& file, uint16_t group, uint16_t element,
                                      const std::string& what, const std::string& name) {
  const std::string where = what + " " + tag_name(group, element);
  if (!has_value(file, group, element)) throw Error(name + " has no " + where);
  const std::string text = string_value(file, group, element);
  std::array<double, N> out{};
  size_t count = 0, start = 0;
  while (true) {
    const size_t end = std::min(text.find('\\', start), text.size());
    std::string item = text.substr(start, end - start);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\0')) item.pop_back();
    while (!item.empty() && item.front() == ' ') item.erase(item.begin());
    char* parsed_end = nullptr;
    const double v = item.empty() ? 0.0 : std::strtod(item.c_str(), &parsed_end);
    if (item.empty() || parsed_end != item.c_str() + item.size() || !std::isfinite(v))
      throw Error(name + ": " + where + " holds \"" + text + "\"; expected " + std::to_string(N) +
                  " decimal numbers separated by \\");
    if (count < N) out[count] = v;
    ++count;
    if (end == text.size()) break;
    start = end + 1;
  }
  if (count != N)
    throw Error(name + ": " + where + " has " + std::to_string(count) + " values (\"" + text + "\"); expected " +
                std::to_string(N));
  return out;
}
template std::array<double, 1> decimal_strings<1>(const DicomStructure&, uint16_t, uint16_t, const std::string&,
                                                  const std::string&);
template std::array<double, 2> decimal_strings<2>(const DicomStructure&, uint16_t, uint16_t, const std::string&,
                                                  const std::string&);
template std::array<double, 3> decimal_strings<3>(const DicomStructure&, uint16_t, uint16_t, const std::string&,
                                                  const std::string&);
template std::array<double, 6> decimal_strings<6>(const DicomStructure&, uint16_t, uint16_t, const std::string&,
                                                  const std::string&);

DicomPixelModule check_pixel_module(const DicomStructure& file, const std::string& name) {
  DicomPixelModule m;
  const int64_t samples = unsigned_short(file, 0x0028, 0x0002, "SamplesPerPixel", name);
  if (samples != 1)
    throw Error(name + " has " + std::to_string(samples) + " samples per pixel (0028,0002); expected 1 (greyscale CT)");
  const std::string photometric = string_value(file, 0x0028, 0x0004);
  if (photometric != "MONOCHROME1" && photometric != "MONOCHROME2")
    throw Error(name + ": PhotometricInterpretation (0028,0004) is \"" + photometric +
                "\"; expected MONOCHROME1 or MONOCHROME2 (greyscale CT)");
  m.rows = unsigned_short(file, 0x0028, 0x0010, "Rows", name);
  m.columns = unsigned_short(file, 0x0028, 0x0011, "Columns", name);
  if (m.rows < 1 || m.columns < 1)
    throw Error(name + " is " + std::to_string(m.columns) + " x " + std::to_string(m.rows) +
                " pixels (Columns x Rows); expected at least 1 x 1");
  m.bits_allocated = static_cast<int>(unsigned_short(file, 0x0028, 0x0100, "BitsAllocated", name));
  if (m.bits_allocated != 8 && m.bits_allocated != 16 && m.bits_allocated != 32)
    throw Error(name + ": BitsAllocated (0028,0100) is " + std::to_string(m.bits_allocated) + "; expected 8, 16 or 32");
  const int64_t stored = unsigned_short(file, 0x0028, 0x0101, "BitsStored", name);
  const int64_t high = unsigned_short(file, 0x0028, 0x0102, "HighBit", name);
  if (stored < 1 || stored > m.bits_allocated || high < stored - 1 || high >= m.bits_allocated)
    throw Error(name + ": BitsStored (0028,0101) " + std::to_string(stored) + " and HighBit (0028,0102) " +
                std::to_string(high) + " do not fit BitsAllocated " + std::to_string(m.bits_allocated) +
                "; expected 1 <= BitsStored <= BitsAllocated and BitsStored - 1 <= HighBit < BitsAllocated");
  const int64_t representation = unsigned_short(file, 0x0028, 0x0103, "PixelRepresentation", name);
  if (representation > 1)
    throw Error(name + ": PixelRepresentation (0028,0103) is " + std::to_string(representation) +
                "; expected 0 (unsigned) or 1 (signed)");
  m.is_signed = representation == 1;
  if (has_value(file, 0x0028, 0x0008)) {
    const std::string frames = string_value(file, 0x0028, 0x0008);
    if (frames != "1" && frames != "01")
      throw Error(name + " is a multi-frame image (NumberOfFrames (0028,0008) \"" + frames +
                  "\"); only series of single-frame images are supported");
  }
  const uint64_t needed =
      static_cast<uint64_t>(m.rows) * static_cast<uint64_t>(m.columns) * static_cast<uint64_t>(m.bits_allocated / 8);
  if (!file.encapsulated_pixel_data && file.pixel_data_bytes < needed)
    throw Error(name + ": PixelData (7FE0,0010) has " + std::to_string(file.pixel_data_bytes) + " bytes; a " +
                std::to_string(m.columns) + " x " + std::to_string(m.rows) + " image of " +
                std::to_string(m.bits_allocated) + " bits needs " + std::to_string(needed));
  return m;
}

bool has_dicom_preamble(const uint8_t* data, size_t size) {
  return size >= preamble_bytes && std::memcmp(data + 128, "DICM", 4) == 0;
}

DicomStructure check_dicom_structure(const uint8_t* data, size_t size, const std::string& name,
                                     size_t max_inflated_bytes) {
  if (!has_dicom_preamble(data, size))
    throw Error(name + ": not a DICOM Part 10 file (expected a 128-byte preamble and \"DICM\", file has " +
                std::to_string(size) + " bytes)");
  DicomStructure out;
  const size_t data_set_start = Walker(data, size, name, "file", out).meta_group(preamble_bytes);
  const std::string& syntax = out.transfer_syntax;
  if (syntax == "1.2.840.10008.1.2.1.99") {
    const std::vector<uint8_t> inflated =
        inflate_data_set(data + data_set_start, size - data_set_start, name, max_inflated_bytes);
    Walker(inflated.data(), inflated.size(), name, "inflated data set", out)
        .data_set(0, inflated.size(), Encoding::explicit_little, 0, false);
    return out;
  }
  // Every other transfer syntax, the compressed ones included, is explicit VR little endian except
  // these two (PS3.5 A.1, A.2 (retired big endian)).
  const Encoding encoding = syntax == "1.2.840.10008.1.2"     ? Encoding::implicit_little
                            : syntax == "1.2.840.10008.1.2.2" ? Encoding::explicit_big
                                                              : Encoding::explicit_little;
  out.big_endian = encoding == Encoding::explicit_big;
  Walker(data, size, name, "file", out).data_set(data_set_start, size, encoding, 0, false);
  return out;
}

}  // namespace swinsmt::io
