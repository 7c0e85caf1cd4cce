// NIfTI reading against nibabel's reading of the same files, round trips, and bad inputs.
#include "fixtures.hpp"
#include "test_support.hpp"

#include <swinsmt/error.hpp>
#include <swinsmt/io/nifti.hpp>

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstring>
#include <filesystem>
#include <fstream>

using namespace swinsmt;
namespace fs = std::filesystem;

namespace {

nlohmann::json nibabel_reference(const std::string& file) {
  std::ifstream in(test::data_path("nifti_reference.json"));
  return nlohmann::json::parse(in).at(file);
}

at::Tensor matrix(const nlohmann::json& rows) {
  auto t = at::empty({4, 4}, at::kDouble);
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 4; ++c) t[r][c] = rows.at(r).at(c).get<double>();
  return t;
}

void expect_matrix_near(const at::Tensor& actual, const at::Tensor& expected, double tolerance,
                        const std::string& what) {
  const double error = (actual - expected).abs().max().item<double>();
  EXPECT_LE(error, tolerance) << what << "\nactual\n" << actual << "\nexpected\n" << expected;
}

}  // namespace

class NiftiMatchesNibabel : public ::testing::TestWithParam<std::string> {};

TEST_P(NiftiMatchesNibabel, DataAffineAndHeader) {
  const auto ref = nibabel_reference(GetParam());
  const auto v = io::read_nifti(test::data_path(GetParam()));
  ASSERT_EQ(v.data.sizes().vec(), ref.at("shape").get<std::vector<int64_t>>());
  EXPECT_DOUBLE_EQ(v.data.to(at::kDouble).sum().item<double>(), ref.at("sum").get<double>());
  EXPECT_DOUBLE_EQ(v.data[1][2][3].item<double>(), ref.at("value_at_1_2_3").get<double>());
  expect_matrix_near(v.affine, matrix(ref.at("affine")), 1e-9, "affine");
  EXPECT_EQ(v.geometry.qform_code, ref.at("qform_code").get<int>());
  EXPECT_EQ(v.geometry.sform_code, ref.at("sform_code").get<int>());
  expect_matrix_near(v.geometry.sform, matrix(ref.at("sform")), 1e-9, "sform");
  if (v.geometry.qform_code > 0) expect_matrix_near(v.geometry.qform, matrix(ref.at("qform")), 1e-5, "qform");
  EXPECT_EQ(io::axis_codes(v.affine), ref.at("axcodes").get<std::string>());
  const auto zooms = ref.at("zooms").get<std::vector<double>>();
  for (int d = 0; d < 3; ++d) EXPECT_NEAR(v.spacing[d], zooms[d], 1e-6);
}

INSTANTIATE_TEST_SUITE_P(Files, NiftiMatchesNibabel,
                         ::testing::Values("example_ct_sm.nii.gz", "example_seg_dicom.nii.gz"));

class NiftiRoundTrip : public ::testing::TestWithParam<std::tuple<int, std::string>> {};

TEST_P(NiftiRoundTrip, KeepsDataAffineCodesAndUnits) {
  const auto [version, extension] = GetParam();
  test::ScratchDir dir("nifti");
  io::NiftiGeometry g;
  g.version = version;
  g.qform_code = 1;
  g.sform_code = 4;
  // An oblique, LPS-like qform (a proper rotation, as a quaternion can hold) and a different sform.
  const double c = std::cos(0.3), s = std::sin(0.3);
  g.qform = at::tensor({-c * 0.8, -s * 0.9, 0.0, 12.5, s * 0.8, -c * 0.9, 0.0, -7.25, 0.0, 0.0, 2.5, 101.0, 0.0, 0.0,
                        0.0, 1.0},
                       at::kDouble)
                .view({4, 4});
  g.sform = at::tensor({0.7, 0.1, 0.0, -3.0, 0.0, 0.9, 0.2, 4.0, 0.05, 0.0, 2.4, 5.0, 0.0, 0.0, 0.0, 1.0}, at::kDouble)
                .view({4, 4});
  g.pixdim = {0.8, 0.9, 2.5};
  g.xyz_units = 2;   // mm
  g.time_units = 8;  // seconds
  g.description = "swinsmt round trip";
  const at::Tensor data = at::arange(7 * 6 * 5, at::kShort).view({7, 6, 5}) - 100;
  const std::string path = dir / ("image" + extension);
  io::write_nifti(path, data, g);
  const auto v = io::read_nifti(path);
  EXPECT_TRUE(at::equal(v.data, data));
  EXPECT_EQ(v.geometry.version, version);
  EXPECT_EQ(v.geometry.qform_code, 1);
  EXPECT_EQ(v.geometry.sform_code, 4);
  expect_matrix_near(v.geometry.qform, g.qform, 1e-6, "qform");
  expect_matrix_near(v.geometry.sform, g.sform, version == 1 ? 1e-6 : 1e-12, "sform");  // NIfTI-1 stores float32
  expect_matrix_near(v.affine, g.sform, 1e-6, "affine (sform wins when sform_code > 0)");
  EXPECT_EQ(v.geometry.xyz_units, 2);
  EXPECT_EQ(v.geometry.time_units, 8);
  EXPECT_EQ(v.geometry.description, "swinsmt round trip");
  for (int d = 0; d < 3; ++d) EXPECT_NEAR(v.geometry.pixdim[d], g.pixdim[d], 1e-6);
  EXPECT_EQ(test::list_files(dir.path()).size(), 1u) << "no temporary file left behind";
}

INSTANTIATE_TEST_SUITE_P(Formats, NiftiRoundTrip,
                         ::testing::Combine(::testing::Values(1, 2), ::testing::Values(".nii", ".nii.gz")));

TEST(Nifti, RoundTripOfRealFileKeepsEverything) {
  test::ScratchDir dir("nifti_real");
  const auto original = io::read_nifti(test::data_path("example_seg_dicom.nii.gz"));
  io::write_nifti(dir / "copy.nii.gz", original);
  const auto copy = io::read_nifti(dir / "copy.nii.gz");
  EXPECT_TRUE(at::equal(copy.data, original.data));
  expect_matrix_near(copy.affine, original.affine, 1e-9, "affine");
  EXPECT_EQ(copy.geometry.qform_code, original.geometry.qform_code);
  EXPECT_EQ(copy.geometry.sform_code, original.geometry.sform_code);
  EXPECT_EQ(copy.geometry.xyz_units, original.geometry.xyz_units);
}

TEST(Nifti, QformUsedWhenSformCodeIsZeroAndUnitsConvertedToMm) {
  test::ScratchDir dir("nifti_units");
  io::NiftiGeometry g;
  g.qform_code = 1;
  g.sform_code = 0;
  g.qform =
      at::tensor({0.002, 0.0, 0.0, 0.1, 0.0, 0.002, 0.0, 0.2, 0.0, 0.0, 0.003, 0.3, 0.0, 0.0, 0.0, 1.0}, at::kDouble)
          .view({4, 4});
  g.sform = at::eye(4, at::kDouble) * 5;
  g.pixdim = {0.002, 0.002, 0.003};
  g.xyz_units = 1;  // metres
  io::write_nifti(dir / "m.nii", at::zeros({3, 3, 3}, at::kFloat), g);
  const auto v = io::read_nifti(dir / "m.nii");
  const at::Tensor expected_mm =
      at::tensor({2.0, 0.0, 0.0, 100.0, 0.0, 2.0, 0.0, 200.0, 0.0, 0.0, 3.0, 300.0, 0.0, 0.0, 0.0, 1.0}, at::kDouble)
          .view({4, 4});
  expect_matrix_near(v.affine, expected_mm, 1e-4, "affine in mm (float32 metres in the file)");
  EXPECT_NEAR(v.spacing[2], 3.0, 1e-6);
}

TEST(Nifti, BadInputsGiveClearErrors) {
  test::ScratchDir dir("nifti_bad");
  EXPECT_NE(test::error_of([&] { io::read_nifti(dir / "missing.nii.gz"); }).find("no such file"), std::string::npos);
  EXPECT_NE(test::error_of([&] { io::read_nifti(dir.path()); }).find("is a folder"), std::string::npos);
  { std::ofstream(dir / "text.nii.gz") << "this is not an image\n"; }
  EXPECT_NE(test::error_of([&] { io::read_nifti(dir / "text.nii.gz"); }).find("is not a NIfTI image"),
            std::string::npos);
  { std::ofstream(dir / "notes.txt") << "x"; }
  EXPECT_NE(test::error_of([&] { io::read_nifti(dir / "notes.txt"); }).find(".nii or .nii.gz"), std::string::npos);
  const auto e2 = test::error_of([&] { io::read_nifti(test::data_path("bad/image_2d.nii.gz")); });
  EXPECT_NE(e2.find("2-D image (10 x 12)"), std::string::npos) << e2;
  const auto e4 = test::error_of([&] { io::read_nifti(test::data_path("bad/image_4d.nii.gz")); });
  EXPECT_NE(e4.find("4-D image (6 x 5 x 4 x 3)"), std::string::npos) << e4;
  // A truncated file: the header is fine, the data is cut.
  const auto full = std::filesystem::file_size(test::data_path("example_ct_sm.nii.gz"));
  {
    std::ifstream in(test::data_path("example_ct_sm.nii.gz"), std::ios::binary);
    std::vector<char> bytes(full / 2);
    in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    std::ofstream(dir / "truncated.nii.gz", std::ios::binary)
        .write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }
  EXPECT_NE(test::error_of([&] { io::read_nifti(dir / "truncated.nii.gz"); }).find("truncated.nii.gz"),
            std::string::npos);
}

TEST(Nifti, FailedWriteLeavesNothing) {
  test::ScratchDir dir("nifti_write");
  { std::ofstream(dir / "plain_file") << "x"; }
  const std::string target = dir / "plain_file/labels.nii.gz";  // the parent is a regular file
  const auto message = test::error_of([&] {
    io::write_nifti(target, at::zeros({4, 4, 4}, at::kByte), io::NiftiGeometry{});
  });
  EXPECT_NE(message.find("labels.nii.gz"), std::string::npos) << message;
  EXPECT_EQ(test::list_files(dir.path()), std::vector<std::string>{"plain_file"});
}

namespace {

template <typename T>
void put(std::vector<char>& bytes, size_t offset, T value) {
  std::memcpy(bytes.data() + offset, &value, sizeof value);
}

/// A NIfTI-1 header (.nii, 352 bytes, no voxel data) declaring int16 voxels of the given size.
std::vector<char> nifti1_header(int16_t nx, int16_t ny, int16_t nz) {
  std::vector<char> h(352, 0);
  put<int32_t>(h, 0, 348);
  const int16_t dim[8] = {3, nx, ny, nz, 1, 1, 1, 1};
  for (int i = 0; i < 8; ++i) put<int16_t>(h, 40 + 2 * i, dim[i]);
  put<int16_t>(h, 70, 4);  // NIFTI_TYPE_INT16
  put<int16_t>(h, 72, 16);
  for (int i = 0; i < 8; ++i) put<float>(h, 76 + 4 * i, 1.0f);
  put<float>(h, 108, 352.0f);
  std::memcpy(h.data() + 344, "n+1\0", 4);
  return h;
}

/// A NIfTI-2 header (.nii, 544 bytes, no voxel data) declaring int16 voxels of the given size.
std::vector<char> nifti2_header(int64_t nx, int64_t ny, int64_t nz) {
  std::vector<char> h(544, 0);
  put<int32_t>(h, 0, 540);
  std::memcpy(h.data() + 4, "n+2\0\r\n\032\n", 8);
  put<int16_t>(h, 12, 4);  // NIFTI_TYPE_INT16
  put<int16_t>(h, 14, 16);
  const int64_t dim[8] = {3, nx, ny, nz, 1, 1, 1, 1};
  for (int i = 0; i < 8; ++i) put<int64_t>(h, 16 + 8 * i, dim[i]);
  for (int i = 0; i < 8; ++i) put<double>(h, 104 + 8 * i, 1.0);
  put<int64_t>(h, 168, 544);
  put<double>(h, 176, 1.0);  // scl_slope
  return h;
}

void write_bytes(const std::string& path, const std::vector<char>& bytes) {
  std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

}  // namespace

// A few hundred bytes must not make the reader allocate what the header declares: the voxel count
// is checked (overflow, NiftiReadOptions::max_voxels, what the file can hold) before any allocation.
TEST(Nifti, HugeDimensionsAreRefusedBeforeAllocating) {
  test::ScratchDir dir("nifti_huge");
  write_bytes(dir / "huge2.nii", nifti2_header(65535, 65535, 65535));
  const auto e2 = test::error_of([&] { io::read_nifti(dir / "huge2.nii"); });
  EXPECT_NE(e2.find("65535 x 65535 x 65535 = 281462092005375 voxels; expected at most 2147483648"), std::string::npos)
      << e2;
  write_bytes(dir / "overflow.nii", nifti2_header(int64_t{1} << 40, int64_t{1} << 40, 2));
  const auto eo = test::error_of([&] { io::read_nifti(dir / "overflow.nii"); });
  EXPECT_NE(eo.find("overflows 64 bits"), std::string::npos) << eo;
  write_bytes(dir / "huge1.nii", nifti1_header(32767, 32767, 32767));
  const auto e1 = test::error_of([&] { io::read_nifti(dir / "huge1.nii"); });
  EXPECT_NE(e1.find("32767 x 32767 x 32767 = 35181150961663 voxels"), std::string::npos) << e1;
  // Under the voxel limit, but more voxel bytes than the file holds.
  write_bytes(dir / "short.nii", nifti1_header(1000, 1000, 100));
  const auto es = test::error_of([&] { io::read_nifti(dir / "short.nii"); });
  EXPECT_NE(es.find("(200000000 bytes), but the file has only 352 bytes"), std::string::npos) << es;
  // nifti_clib trusted dim[0] (a fuzzed header made it read out of bounds): checked before it runs.
  auto bad_rank = nifti2_header(2, 2, 2);
  put<int64_t>(bad_rank, 16, -7378697629483778071);
  write_bytes(dir / "rank.nii", bad_rank);
  const auto er = test::error_of([&] { io::read_nifti(dir / "rank.nii"); });
  EXPECT_NE(er.find("declares -7378697629483778071 dimensions (dim[0]); expected 1 to 7"), std::string::npos) << er;
  // The limit is the caller's to choose.
  io::NiftiReadOptions small;
  small.max_voxels = 1000;
  const auto el = test::error_of([&] { io::read_nifti(test::data_path("example_seg_dicom.nii.gz"), small); });
  EXPECT_NE(el.find("expected at most 1000 (NiftiReadOptions::max_voxels)"), std::string::npos) << el;
}
