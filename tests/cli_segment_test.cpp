// `swinsmt segment` end to end: outputs, geometry of LAS and DICOM inputs, several inputs, and bad
// inputs (clear errors, nothing left behind that looks complete).
#include "fixtures.hpp"
#include "test_support.hpp"

#include <swinsmt/io/dicom.hpp>
#include <swinsmt/io/nifti.hpp>
#include <swinsmt/pipeline/labels.hpp>

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>

using namespace swinsmt;
namespace fs = std::filesystem;

namespace {

using test::quoted;
const auto base = test::segment_args;

/// The fast settings on two threads.
std::string fast(const std::string& input, const std::string& output) {
  return test::fast_segment_args(input, output) + " --threads 2";
}

void expect_same_geometry(const io::Volume& actual, const io::Volume& expected) {
  EXPECT_LE((actual.affine - expected.affine).abs().max().item<double>(), 1e-4);
  EXPECT_EQ(actual.geometry.qform_code, expected.geometry.qform_code);
  EXPECT_EQ(actual.geometry.sform_code, expected.geometry.sform_code);
  EXPECT_EQ(io::axis_codes(actual.affine), io::axis_codes(expected.affine));
}

}  // namespace

TEST(CliSegment, MultilabelMasksSubsetStatisticsPreview) {
  test::ScratchDir dir("cli_outputs");
  const std::string ct_path = test::data_path("example_ct_sm.nii.gz");
  auto run = test::run_swinsmt(fast(ct_path, dir / "ml/labels.nii.gz") + " --statistics --preview");
  ASSERT_EQ(run.code, 0) << run.output;
  EXPECT_NE(run.output.find("peak memory"), std::string::npos) << run.output;
  EXPECT_EQ(test::list_files(dir / "ml"),
            (std::vector<std::string>{"labels.nii.gz", "labels.swinsmt.json", "preview.png", "statistics.json"}));
  const auto ct = io::read_nifti(ct_path);
  const auto ml = io::read_nifti(dir / "ml/labels.nii.gz");
  EXPECT_EQ(ml.data.scalar_type(), at::kByte);
  EXPECT_EQ(ml.data.sizes(), ct.data.sizes());
  expect_same_geometry(ml, ct);

  // The three largest structures of that run, as a subset.
  const at::Tensor counts = at::bincount(ml.data.flatten().to(at::kLong), {}, 118).slice(0, 1);
  const at::Tensor top = std::get<1>(counts.topk(3));
  std::vector<std::string> names;
  std::string subset;
  for (int i = 0; i < 3; ++i) {
    names.push_back(label_name(static_cast<int>(top[i].item<int64_t>()) + 1));
    subset += " " + names.back();
  }
  run = test::run_swinsmt(fast(ct_path, dir / "masks") + " --masks --statistics --preview --roi-subset" + subset);
  ASSERT_EQ(run.code, 0) << run.output;
  std::vector<std::string> expected_files{"preview.png", "statistics.json", "swinsmt.json"};
  for (const auto& n : names) expected_files.push_back(n + ".nii.gz");
  std::sort(expected_files.begin(), expected_files.end());
  EXPECT_EQ(test::list_files(dir / "masks"), expected_files);

  std::ifstream in(dir / "masks/statistics.json");
  const auto statistics = nlohmann::json::parse(in);
  EXPECT_EQ(statistics.size(), 3u);
  const at::Tensor hu = ct.data.to(at::kDouble);
  for (const auto& n : names) {
    const auto mask = io::read_nifti(dir / ("masks/" + n + ".nii.gz"));
    expect_same_geometry(mask, ct);
    const int id = label_ids({n})[0];
    EXPECT_TRUE(at::equal(mask.data, ml.data.eq(id).to(at::kByte))) << n;
    const auto voxels = mask.data.sum().item<int64_t>();
    ASSERT_GT(voxels, 0) << n;
    const auto& s = statistics.at(n);
    EXPECT_EQ(s.at("label").get<int>(), id);
    EXPECT_EQ(s.at("voxels").get<int64_t>(), voxels);
    EXPECT_NEAR(s.at("volume_mm3").get<double>(), voxels * 27.0, 1e-3);  // 3 mm voxels
    const double mean = hu.masked_select(mask.data.to(at::kBool)).mean().item<double>();
    EXPECT_NEAR(s.at("mean_hu").get<double>(), mean, 1e-3) << n;
  }
  // PNG signature and a plausible size.
  std::ifstream png(dir / "masks/preview.png", std::ios::binary);
  char signature[8];
  png.read(signature, 8);
  EXPECT_EQ(std::string(signature + 1, 3), "PNG");
  EXPECT_GT(fs::file_size(dir / "masks/preview.png"), 1000u);
}

TEST(CliSegment, LasInputKeepsItsOrientationAndMatchesOfficialLabels) {
  // The 30-slice crop stored LAS with the header geometry of example_seg_dicom.nii.gz (sform_code 2,
  // qform_code 0, directions of that file), its own 3 mm spacing and origin.
  test::ScratchDir dir("cli_las");
  const auto ras = io::read_nifti(test::data_path("example_ct_sm.nii.gz"));
  const auto las_reference = io::read_nifti(test::data_path("example_seg_dicom.nii.gz"));
  ASSERT_EQ(io::axis_codes(las_reference.affine), "LAS");
  at::Tensor affine = ras.affine.clone();
  affine.select(1, 3).slice(0, 0, 3).add_(affine.select(1, 0).slice(0, 0, 3) *
                                          static_cast<double>(ras.data.size(0) - 1));
  affine.select(1, 0).neg_();
  io::NiftiGeometry g = las_reference.geometry;
  g.sform = affine;
  g.qform = affine;
  g.pixdim = {3, 3, 3};
  io::write_nifti(dir / "las.nii.gz", ras.data.flip(0), g);

  const auto run = test::run_swinsmt("segment -i " + quoted(dir / "las.nii.gz") + " -o " + quoted(dir / "out.nii.gz") +
                                     " --weights " + quoted(test::example_weights()) + " --roi 64 --spacing native");
  ASSERT_EQ(run.code, 0) << run.output;
  const auto input = io::read_nifti(dir / "las.nii.gz");
  const auto out = io::read_nifti(dir / "out.nii.gz");
  expect_same_geometry(out, input);
  EXPECT_EQ(out.geometry.sform_code, las_reference.geometry.sform_code);
  EXPECT_EQ(out.geometry.qform_code, las_reference.geometry.qform_code);
  EXPECT_EQ(io::axis_codes(out.affine), "LAS");
  const auto official = io::read_nifti(test::data_path("example_ct_sm_ref_labels.nii.gz"));
  const double match = out.data.eq(official.data.flip(0)).to(at::kDouble).mean().item<double>();
  std::cout << "LAS via CLI: " << match * 100 << " % of voxels agree with the official labels\n";
  EXPECT_GE(match, 0.9999);

  // Every open accumulator in the scratch file while the network runs: the same labels, and the
  // scratch folder holds nothing afterwards (the file is unlinked when made).
  fs::create_directories(dir / "scratch");
  const auto spilled =
      test::run_swinsmt("segment -i " + quoted(dir / "las.nii.gz") + " -o " + quoted(dir / "spilled.nii.gz") +
                        " --weights " + quoted(test::example_weights()) + " --roi 64 --spacing native" +
                        " --accumulator-memory 0 --temp-dir " + quoted(dir / "scratch"));
  ASSERT_EQ(spilled.code, 0) << spilled.output;
  EXPECT_TRUE(io::read_nifti(dir / "spilled.nii.gz").data.equal(out.data));
  EXPECT_TRUE(fs::is_empty(dir / "scratch"));
}

TEST(CliSegment, DicomSeriesOutputOnTheSeriesGrid) {
  test::ScratchDir dir("cli_dicom");
  const std::string series = test::data_path("dicom_series");
  const auto run = test::run_swinsmt(fast(series, dir / "dicom.nii.gz"));
  ASSERT_EQ(run.code, 0) << run.output;
  const auto out = io::read_nifti(dir / "dicom.nii.gz");
  const auto ct = io::read_dicom_series(series);
  EXPECT_EQ(out.data.sizes().vec(), (std::vector<int64_t>{512, 512, 20}));
  EXPECT_LE((out.affine - ct.affine).abs().max().item<double>(), 1e-4);
  EXPECT_GT(out.data.count_nonzero().item<int64_t>(), 0);
}

TEST(CliSegment, FolderOfInputsWritesOneLabelMapEach) {
  test::ScratchDir dir("cli_many");
  fs::create_directories(dir / "in");
  fs::copy_file(test::data_path("example_ct_sm.nii.gz"), dir / "in/first.nii.gz");
  fs::copy_file(test::data_path("example_ct_sm.nii.gz"), dir / "in/second.nii.gz");
  const auto run = test::run_swinsmt(fast(dir / "in", dir / "out") + " --statistics");
  ASSERT_EQ(run.code, 0) << run.output;
  EXPECT_NE(run.output.find("segmented 2 volumes"), std::string::npos) << run.output;
  EXPECT_EQ(test::list_files(dir / "out"),
            (std::vector<std::string>{"first.nii.gz", "first.swinsmt.json", "first_statistics.json", "second.nii.gz",
                                      "second.swinsmt.json", "second_statistics.json", "swinsmt_report.jsonl"}));
  EXPECT_TRUE(at::equal(io::read_nifti(dir / "out/first.nii.gz").data, io::read_nifti(dir / "out/second.nii.gz").data));
}

TEST(CliSegment, BadInputsFailClearlyAndLeaveNothing) {
  test::ScratchDir dir("cli_bad");
  const std::string ct = test::data_path("example_ct_sm.nii.gz");
  struct Case {
    std::string args, message;
  };
  { std::ofstream(dir / "plain_file") << "x"; }
  fs::create_directories(dir / "empty_folder");
  const std::vector<Case> cases = {
      {fast(ct, dir / "out.nii.gz") + " --roi-subset liver livr",
       "unknown structure name \"livr\"; closest known names: liver"},
      {fast(dir / "missing.nii.gz", dir / "out.nii.gz"), "missing.nii.gz: no such file or folder"},
      {fast(test::data_path("bad/image_2d.nii.gz"), dir / "out.nii.gz"), "is a 2-D image (10 x 12)"},
      {fast(test::data_path("bad/image_4d.nii.gz"), dir / "out.nii.gz"), "is a 4-D image (6 x 5 x 4 x 3)"},
      {fast(dir / "empty_folder", dir / "out.nii.gz"), "holds no NIfTI file"},
      {fast(dir / "plain_file", dir / "out.nii.gz"), "plain_file: expected a NIfTI file name"},
      {fast(ct, dir / "plain_file/out.nii.gz"), "cannot create the folder"},
      {fast(ct, dir / "plain_file/sub/out.nii.gz") + " --masks", "cannot create the folder"},
      {fast(ct, dir / "out.txt"), "must be a NIfTI file name ending in .nii.gz or .nii"},
      {base(ct, dir / "out.nii.gz") + " --roi 50", "window size 50 is not usable"},
      {base(ct, dir / "out.nii.gz") + " --roi 64 96", "the window size needs 1 or 3 values, got 2"},
      {base(ct, dir / "out.nii.gz") + " --spacing fine", "--spacing must be a number of mm or \"native\""},
      {fast(ct, dir / "out.nii.gz") + " --ml --masks", "--ml and --masks exclude each other"},
      {fast(ct, dir / "out.nii.gz") + " --dtype float16", "LibTorch's 3-D convolutions need float32"},
  };
  for (const auto& c : cases) {
    const auto run = test::run_swinsmt(c.args);
    EXPECT_EQ(run.code, 1) << c.args << "\n" << run.output;
    EXPECT_NE(run.output.find(c.message), std::string::npos) << c.args << "\n" << run.output;
    EXPECT_NE(run.output.find("swinsmt: error:"), std::string::npos) << run.output;
    EXPECT_EQ(test::list_files(dir.path()), std::vector<std::string>{"plain_file"}) << c.args;
  }
  // An existing output is not replaced without --overwrite.
  { std::ofstream(dir / "existing.nii.gz") << "keep me"; }
  const auto run = test::run_swinsmt(fast(ct, dir / "existing.nii.gz"));
  EXPECT_EQ(run.code, 1);
  EXPECT_NE(run.output.find("already exists; pass --overwrite"), std::string::npos) << run.output;
  std::ifstream kept(dir / "existing.nii.gz");
  std::string text;
  std::getline(kept, text);
  EXPECT_EQ(text, "keep me");
}
