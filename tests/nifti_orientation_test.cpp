// NIfTI orientation as the official pipeline reads it: the affine of every qform/sform code
// combination equals nibabel's get_best_affine() (what MONAI's LoadImage starts from), and MONAI's
// Orientation("RAS") of the data follows from it. References: tests/data/nifti_affine_reference.json
// and tests/data/affines/ (tools/make_segment_references.py affines, nibabel 4 / MONAI 1.3.2).
#include "fixtures.hpp"
#include "test_support.hpp"

#include <swinsmt/io/nifti.hpp>
#include <swinsmt/pipeline/preprocess.hpp>

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>

using namespace swinsmt;

namespace {

const nlohmann::json& reference() {
  static const nlohmann::json json = [] {
    std::ifstream in(test::data_path("nifti_affine_reference.json"));
    return nlohmann::json::parse(in);
  }();
  return json;
}

at::Tensor matrix(const nlohmann::json& rows) {
  std::vector<double> values;
  for (const auto& row : rows)
    for (const auto& v : row) values.push_back(v.get<double>());
  return at::tensor(values, at::kDouble).view({static_cast<int64_t>(rows.size()), -1});
}

at::Tensor nested(const nlohmann::json& data) {
  std::vector<double> values;
  for (const auto& plane : data)
    for (const auto& row : plane)
      for (const auto& v : row) values.push_back(v.get<double>());
  return at::tensor(values, at::kDouble)
      .view({static_cast<int64_t>(data.size()), static_cast<int64_t>(data[0].size()), -1});
}

bool has_warning(const io::Volume& v, const std::string& text) {
  for (const auto& w : v.warnings)
    if (w.find(text) != std::string::npos) return true;
  return false;
}

}  // namespace

TEST(NiftiOrientation, AffineIsNibabelsBestAffineForEveryCodeCombination) {
  int cases = 0;
  for (const auto& [name, c] : reference().items()) {
    if (name.front() == '_') continue;
    SCOPED_TRACE(name);
    ++cases;
    const auto v = io::read_nifti(test::data_path(c.at("file").get<std::string>()));
    EXPECT_LE((v.affine - matrix(c.at("best_affine"))).abs().max().item<double>(), 1e-5);
    EXPECT_EQ(io::axis_codes(v.affine), c.at("axcodes").get<std::string>());
    const bool no_orientation = c.at("raw").at("qform_code") == 0 && c.at("raw").at("sform_code") == 0;
    EXPECT_EQ(has_warning(v, "records no orientation"), no_orientation);
  }
  EXPECT_EQ(cases, 7);
}

TEST(NiftiOrientation, CodesZeroReadAsLasWithTheCentreAtTheOrigin) {
  const auto& c = reference().at("codes_0_0");
  const auto v = io::read_nifti(test::data_path("affines/codes_0_0.nii.gz"));
  EXPECT_EQ(io::axis_codes(v.affine), "LAS");  // nifti_clib's diag(pixdim) would say RAS
  EXPECT_LE((v.affine - matrix(c.at("base_affine"))).abs().max().item<double>(), 1e-9);
  // The geometry written back keeps the file's codes, so every reader sees the output as the input.
  EXPECT_EQ(v.geometry.qform_code, 0);
  EXPECT_EQ(v.geometry.sform_code, 0);
}

TEST(NiftiOrientation, OrientationToRasEqualsMonai) {
  for (const char* name : {"codes_0_0", "qform_only", "sform_only", "both_differ_same_zooms", "oblique_sform"}) {
    SCOPED_TRACE(name);
    const auto& c = reference().at(name);
    const auto v = io::read_nifti(test::data_path(c.at("file").get<std::string>()));
    // MONAI's own reading agrees with nibabel's here (see the next test for where it does not).
    ASSERT_LE((matrix(c.at("monai_affine")) - matrix(c.at("best_affine"))).abs().max().item<double>(), 1e-6);
    const auto ras = orient_to_ras(v.data.to(at::kDouble), v.affine);
    EXPECT_TRUE(at::equal(ras.data, nested(c.at("monai_ras_data"))));
    // Oblique affines: MONAI orients by the closest axes (flips and permutations only), as here.
    EXPECT_LE((ras.affine - matrix(c.at("monai_ras_affine"))).abs().max().item<double>(), 1e-5);
  }
}

TEST(NiftiOrientation, SformThatContradictsPixdimIsReadByTheSformWithAWarning) {
  // MONAI's NibabelReader replaces such a sform by the qform; nibabel and the NIfTI standard keep it.
  for (const char* name : {"sform_zooms_mismatch", "both_differ"}) {
    SCOPED_TRACE(name);
    const auto& c = reference().at(name);
    const auto v = io::read_nifti(test::data_path(c.at("file").get<std::string>()));
    EXPECT_LE((v.affine - matrix(c.at("sform"))).abs().max().item<double>(), 1e-6);
    EXPECT_TRUE(has_warning(v, "differ from pixdim")) << (v.warnings.empty() ? "" : v.warnings[0]);
  }
  const auto consistent = io::read_nifti(test::data_path("affines/both_differ_same_zooms.nii.gz"));
  EXPECT_TRUE(consistent.warnings.empty());
}

TEST(NiftiOrientation, NegativePixdimIsReadAsItsAbsoluteValue) {
  // nibabel takes |pixdim| (with a warning); nifti_clib would build the qform with 1 mm.
  test::ScratchDir dir("negative_pixdim");
  const auto ct = io::read_nifti(test::data_path("example_ct_sm.nii.gz"));
  const std::string path = dir / "negative.nii";
  io::write_nifti(path, ct.data, ct.geometry);
  {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(80);  // pixdim[1] of a NIfTI-1 header
    const float negative = -3.0f;
    f.write(reinterpret_cast<const char*>(&negative), 4);
  }
  const auto v = io::read_nifti(path);
  EXPECT_NEAR(v.spacing[0], 3.0, 1e-6);
  EXPECT_NEAR(v.geometry.pixdim[0], 3.0, 1e-6);
  EXPECT_TRUE(has_warning(v, "negative voxel sizes"));
  // Written back, it reads as it was read.
  io::write_nifti(dir / "again.nii", v);
  EXPECT_LE((io::read_nifti(dir / "again.nii").affine - v.affine).abs().max().item<double>(), 1e-5);
}
