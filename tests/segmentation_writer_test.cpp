// SegmentationWriter: the outputs a segmentation run plans, checks and writes (what `swinsmt
// segment` does after parsing its arguments), used here as an application would.
#include "test_support.hpp"

#include <swinsmt/error.hpp>
#include <swinsmt/io/nifti.hpp>
#include <swinsmt/pipeline/segmentation_writer.hpp>

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>

using namespace swinsmt;
namespace fs = std::filesystem;

namespace {

/// A 6x5x4 CT (HU) with labels 1, 2 and 3 in three slabs, written as NIfTI under `dir`.
struct SmallCase {
  explicit SmallCase(const test::ScratchDir& dir) {
    auto data = at::full({6, 5, 4}, -1000, at::kShort);
    data.narrow(0, 0, 2).fill_(40);
    labels = at::zeros({6, 5, 4}, at::kByte);
    labels.narrow(0, 0, 2).fill_(1);
    labels.narrow(0, 2, 2).fill_(2);
    labels.narrow(0, 4, 1).fill_(3);
    path = dir / "ct.nii.gz";
    io::write_nifti(path, data,
                    io::NiftiGeometry::from_affine(at::diag(at::tensor({1.5, 1.5, 2.0, 1.0}, at::kDouble))));
    ct = io::read_nifti(path);
  }
  std::string path;
  io::Volume ct;
  at::Tensor labels;
};

}  // namespace

TEST(SegmentationWriter, FindsInputsAndPlansPathsForOneAndSeveral) {
  test::ScratchDir dir("writer_plan");
  SmallCase one(dir);
  fs::create_directories(dir / "many");
  fs::copy_file(one.path, dir / "many/b.nii.gz");
  fs::copy_file(one.path, dir / "many/a.nii");
  std::ofstream(dir / "many/notes.txt") << "not a CT";

  const auto inputs = find_ct_inputs({dir / "many"});
  ASSERT_EQ(inputs.size(), 2u);
  EXPECT_EQ(inputs[0].name, "a");  // sorted; other files ignored
  EXPECT_EQ(inputs[1].name, "b");

  WriterOptions options;
  options.statistics = options.preview = true;
  const SegmentationWriter single(dir / "out/seg.nii.gz", {inputs[0]}, options);
  EXPECT_EQ(single.paths(0).labels, dir / "out/seg.nii.gz");
  EXPECT_EQ(single.paths(0).statistics, dir / "out/statistics.json");
  EXPECT_EQ(single.paths(0).preview, dir / "out/preview.png");

  const SegmentationWriter several(dir / "results", inputs, options);
  EXPECT_EQ(several.paths(1).labels, dir / "results/b.nii.gz");
  EXPECT_EQ(several.paths(1).statistics, dir / "results/b_statistics.json");
  options.form = LabelOutput::masks;
  const SegmentationWriter masks(dir / "results", inputs, options);
  EXPECT_EQ(masks.paths(0).labels, dir / "results/a");
  EXPECT_EQ(masks.paths(0).preview, dir / "results/a/preview.png");
  EXPECT_FALSE(fs::exists(dir / "results"));  // planning creates nothing
  EXPECT_FALSE(fs::exists(dir / "out"));

  // Refused before any inference: a file name for several inputs, clashing names, an existing output.
  EXPECT_NE(test::error_of([&] { SegmentationWriter(dir / "x.nii.gz", inputs, {}); }).find("must be a folder"),
            std::string::npos);
  EXPECT_NE(test::error_of([&] {
              SegmentationWriter(dir / "r", {inputs[0], inputs[0]}, {});
            }).find("would clash"),
            std::string::npos);
  std::ofstream(dir / "taken.nii.gz") << "user data";
  EXPECT_NE(test::error_of([&] { SegmentationWriter(dir / "taken.nii.gz", {inputs[0]}, {}); }).find("--overwrite"),
            std::string::npos);
  EXPECT_THROW(find_ct_inputs({dir / "missing.nii.gz"}), Error);
}

TEST(SegmentationWriter, WritesTheKeptStructuresStatisticsAndPreview) {
  test::ScratchDir dir("writer_write");
  SmallCase c(dir);
  WriterOptions options;
  options.statistics = options.preview = true;
  options.keep = {1, 3};
  const SegmentationWriter writer(dir / "seg.nii.gz", find_ct_inputs({c.path}), options);
  writer.write(0, c.ct, c.labels, 117);

  const auto written = io::read_nifti(dir / "seg.nii.gz").data;
  EXPECT_TRUE(at::equal(written, c.labels.masked_fill(c.labels.eq(2), 0)));  // label 2 not kept
  std::ifstream in(dir / "statistics.json");
  const auto statistics = nlohmann::json::parse(in);
  ASSERT_EQ(statistics.size(), 2u);  // only the kept structures
  EXPECT_EQ(statistics.at("spleen").at("voxels"), 40);
  EXPECT_DOUBLE_EQ(statistics.at("spleen").at("mean_hu").get<double>(), 40.0);
  EXPECT_EQ(statistics.at("kidney_left").at("voxels"), 20);
  EXPECT_TRUE(fs::file_size(dir / "preview.png") > 0);
}

TEST(SegmentationWriter, MasksFolderAppearsComplete) {
  test::ScratchDir dir("writer_masks");
  SmallCase c(dir);
  WriterOptions options;
  options.form = LabelOutput::masks;
  options.keep = {2, 3};
  options.statistics = true;
  const SegmentationWriter writer(dir / "masks", find_ct_inputs({c.path}), options);
  writer.write(0, c.ct, c.labels, 117);
  EXPECT_EQ(test::list_files(dir / "masks"),
            (std::vector<std::string>{"kidney_left.nii.gz", "kidney_right.nii.gz", "statistics.json", "swinsmt.json"}));
  EXPECT_TRUE(at::equal(io::read_nifti(dir / "masks/kidney_right.nii.gz").data, c.labels.eq(2).to(at::kByte)));
  for (const auto& entry : fs::directory_iterator(dir.path()))
    EXPECT_EQ(entry.path().filename().string().find(".partial"), std::string::npos) << entry.path();
  // A second write of an existing folder needs overwrite.
  EXPECT_NE(test::error_of([&] { writer.write(0, c.ct, c.labels, 117); }).find("already exists"), std::string::npos);
}
