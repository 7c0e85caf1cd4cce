// The structural walk that guards GDCM (src/io/dicom_structure.cpp): real files pass, every
// encoding's malformed variants are refused with the offset and the sizes involved.
#include "io/dicom_structure.hpp"
#include "fixtures.hpp"
#include "test_support.hpp"

#include <swinsmt/error.hpp>
#include <swinsmt/io/dicom.hpp>

#include <gtest/gtest.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

using namespace swinsmt;
namespace fs = std::filesystem;

namespace {

using Bytes = std::vector<uint8_t>;

Bytes read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

void put16(Bytes& b, uint16_t v, bool big = false) {
  if (big) {
    b.push_back(static_cast<uint8_t>(v >> 8));
    b.push_back(static_cast<uint8_t>(v));
  } else {
    b.push_back(static_cast<uint8_t>(v));
    b.push_back(static_cast<uint8_t>(v >> 8));
  }
}
void put32(Bytes& b, uint32_t v, bool big = false) {
  if (big) {
    put16(b, static_cast<uint16_t>(v >> 16), true);
    put16(b, static_cast<uint16_t>(v), true);
  } else {
    put16(b, static_cast<uint16_t>(v));
    put16(b, static_cast<uint16_t>(v >> 16));
  }
}
void append(Bytes& b, const Bytes& more) { b.insert(b.end(), more.begin(), more.end()); }

// One explicit VR element; `length` overrides the value's size (to lie about it).
Bytes explicit_element(uint16_t group, uint16_t element, const char* vr, const Bytes& value, bool big = false,
                       int64_t length = -1) {
  Bytes b;
  put16(b, group, big);
  put16(b, element, big);
  b.push_back(static_cast<uint8_t>(vr[0]));
  b.push_back(static_cast<uint8_t>(vr[1]));
  const uint32_t n = length >= 0 ? static_cast<uint32_t>(length) : static_cast<uint32_t>(value.size());
  const std::string v(vr);
  if (v == "OB" || v == "OW" || v == "SQ" || v == "UN" || v == "UT") {
    put16(b, 0, big);
    put32(b, n, big);
  } else {
    put16(b, static_cast<uint16_t>(n), big);
  }
  append(b, value);
  return b;
}
Bytes implicit_element(uint16_t group, uint16_t element, const Bytes& value, int64_t length = -1) {
  Bytes b;
  put16(b, group);
  put16(b, element);
  put32(b, length >= 0 ? static_cast<uint32_t>(length) : static_cast<uint32_t>(value.size()));
  append(b, value);
  return b;
}
Bytes marker(uint16_t element, uint32_t length, bool big = false) {  // item / delimiters (FFFE,xxxx)
  Bytes b;
  put16(b, 0xFFFE, big);
  put16(b, element, big);
  put32(b, length, big);
  return b;
}
Bytes text(std::string s) {
  if (s.size() % 2) s.push_back('\0');
  return Bytes(s.begin(), s.end());
}

// Preamble, "DICM" and a meta group naming `syntax`, with a correct group length.
Bytes part10(const std::string& syntax) {
  Bytes meta = explicit_element(0x0002, 0x0001, "OB", {0, 1});
  append(meta, explicit_element(0x0002, 0x0010, "UI", text(syntax)));
  Bytes b(128, 0);
  for (char c : std::string("DICM")) b.push_back(static_cast<uint8_t>(c));
  Bytes length;
  put32(length, static_cast<uint32_t>(meta.size()));
  append(b, explicit_element(0x0002, 0x0000, "UL", length));
  append(b, meta);
  return b;
}
const char* explicit_le = "1.2.840.10008.1.2.1";

std::string refusal(const Bytes& b) {
  return test::error_of([&] { io::check_dicom_structure(b.data(), b.size(), "case.dcm"); });
}

}  // namespace

TEST(DicomStructure, EverySliceOfTheBundledSeriesPasses) {
  int files = 0;
  for (const auto& entry : fs::directory_iterator(test::data_path("dicom_series"))) {
    const Bytes b = read_file(entry.path());
    const auto s = io::check_dicom_structure(b.data(), b.size(), entry.path().string());
    EXPECT_EQ(s.transfer_syntax, "1.2.840.10008.1.2.4.90") << entry.path();  // JPEG 2000, encapsulated
    EXPECT_GT(s.elements, 50u);
    ++files;
  }
  EXPECT_EQ(files, 20);
}

TEST(DicomStructure, EveryTruncationOfARealSliceIsRefused) {
  fs::path first;
  for (const auto& entry : fs::directory_iterator(test::data_path("dicom_series")))
    if (first.empty() || entry.path() < first) first = entry.path();
  const Bytes whole = read_file(first);
  int refused = 0;
  for (size_t n = 0; n < whole.size(); n += 37) {
    const Bytes cut(whole.begin(), whole.begin() + static_cast<std::ptrdiff_t>(n));
    // Truncating exactly between two top-level elements leaves a well-formed (shorter) file.
    try {
      io::check_dicom_structure(cut.data(), cut.size(), "cut.dcm");
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("cut.dcm"), std::string::npos) << e.what();
      ++refused;
    }
  }
  EXPECT_GT(refused, static_cast<int>(whole.size() / 37) * 9 / 10);
}

TEST(DicomStructure, MetaGroupLengthMustMatchItsElements) {
  const Bytes b0 = part10(explicit_le);
  EXPECT_NO_THROW(io::check_dicom_structure(b0.data(), b0.size(), "case.dcm"));
  Bytes b = part10(explicit_le);
  b[140] += 2;  // the group length value: 2 bytes too long
  const std::string message = refusal(b);
  EXPECT_NE(message.find("case.dcm: malformed DICOM"), std::string::npos) << message;
  EXPECT_NE(message.find("but its elements take"), std::string::npos) << message;
  EXPECT_NE(refusal(Bytes(128, 0)).find("not a DICOM Part 10 file"), std::string::npos);
}

TEST(DicomStructure, ValueLongerThanTheFileIsRefusedBeforeAnyAllocation) {
  // The input fuzz_dicom found: a PatientAge that declares 9472 bytes makes Debian's GDCM 3.0.21
  // abort on an assertion (FileMetaInformation::ReadCompat) instead of failing.
  const Bytes crash = read_file(test::data_path("fuzz_regressions/dicom/gdcm_assert_overlong_element.dcm"));
  EXPECT_NE(refusal(crash).find("byte 1480 of the file: (0010,1010) AS declares 9472 bytes but only 5394 remain"),
            std::string::npos)
      << refusal(crash);
  Bytes b = part10(explicit_le);
  append(b, explicit_element(0x0010, 0x0010, "PN", text("DOE^JOHN")));
  append(b, explicit_element(0x7FE0, 0x0010, "OW", {1, 2, 3, 4}, false, 0xFFFFFFF0u));
  const std::string message = refusal(b);
  EXPECT_NE(message.find("(7FE0,0010) OW declares 4294967280 bytes but only 4 remain"), std::string::npos) << message;
}

TEST(DicomStructure, UnknownVrAndMisplacedMarkersAreRefused) {
  Bytes b = part10(explicit_le);
  append(b, explicit_element(0x0010, 0x0010, "Q!", text("X")));
  EXPECT_NE(refusal(b).find("VR bytes 0x5121"), std::string::npos) << refusal(b);

  // fuzz_dicom found GDCM asserting on BitsStored stored as UI (gdcm_assert_vr_mismatch.dcm).
  b = part10(explicit_le);
  append(b, explicit_element(0x0028, 0x0101, "UI", text("1")));
  EXPECT_NE(refusal(b).find("(0028,0101) has VR UI; the DICOM dictionary gives it VR US"), std::string::npos)
      << refusal(b);

  b = part10(explicit_le);
  append(b, marker(0xE000, 0));
  EXPECT_NE(refusal(b).find("(FFFE,E000) where a data element was expected"), std::string::npos) << refusal(b);

  b = part10(explicit_le);
  append(b, explicit_element(0x0010, 0x0020, "LO", text("ID"), false, 0xFFFF));
  EXPECT_NE(refusal(b).find("declares 65535 bytes"), std::string::npos) << refusal(b);
}

TEST(DicomStructure, SequencesAndEncapsulatedPixelData) {
  // A well-formed explicit VR file: a defined-length SQ holding an undefined-length item, then
  // encapsulated pixel data (offset table + one fragment).
  Bytes item = marker(0xE000, 0xFFFFFFFFu);
  append(item, explicit_element(0x0008, 0x1150, "UI", text("1.2.3")));
  append(item, marker(0xE00D, 0));
  Bytes pixels = marker(0xE000, 0);
  append(pixels, marker(0xE000, 4));
  append(pixels, {9, 9, 9, 9});
  append(pixels, marker(0xE0DD, 0));
  Bytes good = part10("1.2.840.10008.1.2.4.90");
  append(good, explicit_element(0x0008, 0x1140, "SQ", item));
  append(good, explicit_element(0x7FE0, 0x0010, "OB", pixels, false, 0xFFFFFFFFu));
  const auto s = io::check_dicom_structure(good.data(), good.size(), "good.dcm");
  EXPECT_EQ(s.transfer_syntax, "1.2.840.10008.1.2.4.90");
  EXPECT_EQ(s.elements, 6u);  // 3 meta + SQ + its item's element + pixel data

  Bytes no_delimiter = good;
  no_delimiter.resize(no_delimiter.size() - 8);
  EXPECT_NE(refusal(no_delimiter).find("without its sequence delimiter"), std::string::npos) << refusal(no_delimiter);

  Bytes open_item = part10(explicit_le);
  Bytes unterminated = marker(0xE000, 0xFFFFFFFFu);
  append(unterminated, explicit_element(0x0008, 0x1150, "UI", text("1.2.3")));
  append(open_item, explicit_element(0x0008, 0x1140, "SQ", unterminated));
  EXPECT_NE(refusal(open_item).find("without its delimiter (FFFE,E00D)"), std::string::npos) << refusal(open_item);

  Bytes not_an_item = part10(explicit_le);
  append(not_an_item, explicit_element(0x0008, 0x1140, "SQ", explicit_element(0x0008, 0x1150, "UI", text("1"))));
  EXPECT_NE(refusal(not_an_item).find("expected an item (FFFE,E000) in a sequence, found (0008,1150)"),
            std::string::npos)
      << refusal(not_an_item);
}

TEST(DicomStructure, NestingDepthIsBounded) {
  Bytes inner = explicit_element(0x0008, 0x0100, "SH", text("X"));
  for (int depth = 0; depth < 100; ++depth) {
    Bytes item = marker(0xE000, static_cast<uint32_t>(inner.size()));
    append(item, inner);
    inner = explicit_element(0x0008, 0x1140, "SQ", item);
  }
  Bytes b = part10(explicit_le);
  append(b, inner);
  EXPECT_NE(refusal(b).find("nested deeper than 64"), std::string::npos) << refusal(b);
}

TEST(DicomStructure, ImplicitBigEndianAndDeflatedDataSets) {
  Bytes implicit = part10("1.2.840.10008.1.2");
  append(implicit, implicit_element(0x0010, 0x0010, text("DOE")));
  Bytes sq_item = marker(0xE000, 0xFFFFFFFFu);
  append(sq_item, marker(0xE00D, 0));
  append(sq_item, marker(0xE0DD, 0));
  append(implicit, implicit_element(0x0008, 0x1140, sq_item, 0xFFFFFFFFu));
  EXPECT_EQ(io::check_dicom_structure(implicit.data(), implicit.size(), "i.dcm").elements, 5u);
  implicit.resize(implicit.size() - 8);  // sequence delimiter gone
  EXPECT_NE(refusal(implicit).find("sequence of undefined length without its delimiter"), std::string::npos)
      << refusal(implicit);

  Bytes big = part10("1.2.840.10008.1.2.2");
  append(big, explicit_element(0x0028, 0x0010, "US", {0x02, 0x00}, true));
  EXPECT_EQ(io::check_dicom_structure(big.data(), big.size(), "b.dcm").elements, 4u);
  append(big, explicit_element(0x0028, 0x0011, "US", {0x02, 0x00}, true, 0x0200));
  EXPECT_NE(refusal(big).find("(0028,0011) US declares 512 bytes but only 2 remain"), std::string::npos)
      << refusal(big);

  // Deflated: the data set after the meta group is a raw deflate stream.
  const Bytes data_set = explicit_element(0x0010, 0x0010, "PN", text("DOE^JANE"));
  Bytes deflated(256);
  z_stream z{};
  ASSERT_EQ(deflateInit2(&z, 6, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
  z.next_in = const_cast<Bytef*>(data_set.data());
  z.avail_in = static_cast<uInt>(data_set.size());
  z.next_out = deflated.data();
  z.avail_out = static_cast<uInt>(deflated.size());
  ASSERT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
  deflated.resize(z.total_out);
  deflateEnd(&z);
  Bytes file = part10("1.2.840.10008.1.2.1.99");
  append(file, deflated);
  EXPECT_EQ(io::check_dicom_structure(file.data(), file.size(), "d.dcm").elements, 4u);
  EXPECT_NE(test::error_of([&] {
              io::check_dicom_structure(file.data(), file.size(), "d.dcm", 8);
            }).find("inflates to more than 8 bytes"),
            std::string::npos);
  file.resize(file.size() - 3);
  EXPECT_NE(refusal(file).find("not a valid deflate stream"), std::string::npos) << refusal(file);
}

TEST(DicomStructure, SeriesReaderRefusesAMalformedSliceByName) {
  test::ScratchDir dir("dicom_malformed");
  fs::path first;
  for (const auto& entry : fs::directory_iterator(test::data_path("dicom_series")))
    if (first.empty() || entry.path() < first) first = entry.path();
  Bytes b = read_file(first);
  b.resize(b.size() / 2);
  const fs::path target = dir / "half.dcm";
  std::ofstream(target, std::ios::binary)
      .write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
  const std::string message = test::error_of([&] { io::read_dicom_series(dir.path()); });
  EXPECT_NE(message.find(target.string() + ": malformed DICOM"), std::string::npos) << message;
}

TEST(DicomStructure, SyntheticSlicesReadAsOneSliceVolumes) {
  // tools/make_fuzz_dicom_seeds.py: the fuzz seeds must be real, complete slices, or fuzz_dicom
  // would only ever exercise refusals.
  for (const char* name : {"explicit_le.dcm", "implicit_le.dcm"}) {
    SCOPED_TRACE(name);
    test::ScratchDir dir("dicom_synthetic");
    fs::copy_file(test::data_path(std::string("dicom_synthetic/") + name), dir / name);
    const auto v = io::read_dicom_series(dir.path());
    ASSERT_EQ(v.data.sizes().vec(), (std::vector<int64_t>{16, 16, 1}));
    // Pixel i (row-major) is (i * 37) % 2000 - 1000, stored (column, row).
    EXPECT_EQ(v.data[3][2][0].item<float>(), static_cast<float>((2 * 16 + 3) * 37 % 2000 - 1000));
    EXPECT_NEAR(v.spacing[0], 0.75, 1e-9);
  }
}

namespace {
// The synthetic slice with one top-level element's value replaced (explicit VR: same length).
fs::path patched_slice(const test::ScratchDir& dir, uint16_t group, uint16_t element, const std::string& value) {
  Bytes b = read_file(test::data_path("dicom_synthetic/explicit_le.dcm"));
  const uint8_t tag[4] = {static_cast<uint8_t>(group), static_cast<uint8_t>(group >> 8), static_cast<uint8_t>(element),
                          static_cast<uint8_t>(element >> 8)};
  auto at = std::search(b.begin() + 132, b.end(), tag, tag + 4);
  EXPECT_NE(at, b.end());
  const size_t length = static_cast<size_t>(at[6] | at[7] << 8);
  EXPECT_EQ(length, value.size()) << "patch must keep the length";
  std::copy(value.begin(), value.end(), at + 8);
  const fs::path out = dir / "slice.dcm";
  std::ofstream(out, std::ios::binary)
      .write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
  return out;
}
}  // namespace

TEST(DicomStructure, PixelModuleAndGeometryAreCheckedBeforeGdcm) {
  struct Case {
    uint16_t group, element;
    std::string value, expected;
  };
  const std::string us3("\x03\x00", 2), us12("\x0c\x00", 2), us20("\x14\x00", 2), us0("\x00\x00", 2);
  const std::vector<Case> cases = {
      // fuzz_dicom found GDCM asserting on SamplesPerPixel > 4 (gdcm_assert_samples_per_pixel.dcm).
      {0x0028, 0x0002, us3, "3 samples per pixel (0028,0002); expected 1"},
      {0x0028, 0x0100, us12, "BitsAllocated (0028,0100) is 12; expected 8, 16 or 32"},
      {0x0028, 0x0101, us20, "BitsStored (0028,0101) 20 and HighBit (0028,0102) 15 do not fit BitsAllocated 16"},
      {0x0028, 0x0010, us0, "is 16 x 0 pixels"},
      {0x0020, 0x0032, "-100\\-120\\x5.5", "ImagePositionPatient (0020,0032) holds \"-100\\-120\\x5.5\""},
      {0x0020, 0x0037, "1\\0\\0\\0\\1.00", "ImageOrientationPatient (0020,0037) has 5 values"},
      {0x0028, 0x0004, "MONOCHROME3 ", "PhotometricInterpretation (0028,0004) is \"MONOCHROME3\""},
      // GDCM's ImageReader reads slope 0 as 1; every pixel would otherwise be the intercept.
      {0x0028, 0x1053, "0 ", "RescaleSlope (0028,1053) is 0; expected a nonzero number"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.expected);
    test::ScratchDir dir("dicom_module");
    const fs::path slice = patched_slice(dir, c.group, c.element, c.value);
    const std::string message = test::error_of([&] { io::read_dicom_series(dir.path()); });
    EXPECT_NE(message.find(slice.string()), std::string::npos) << message;
    EXPECT_NE(message.find(c.expected), std::string::npos) << message;
  }
}
