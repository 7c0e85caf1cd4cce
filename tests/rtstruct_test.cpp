// RT-STRUCT output: contours traced along voxel edges rasterise back (even-odd rule, voxel centres)
// to exactly the structures' voxels, holes and islands included, on the bundled series; every point
// lies on its slice's plane; `swinsmt segment --output-type rtstruct` and dciodvfy.
#include "dicom_seg_support.hpp"
#include "fixtures.hpp"
#include "test_support.hpp"

#include <swinsmt/io/dicom_source.hpp>
#include <swinsmt/io/nifti.hpp>
#include <swinsmt/io/rtstruct_writer.hpp>
#include <swinsmt/io/structure_codes.hpp>
#include <swinsmt/pipeline/labels.hpp>

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>
#include <iostream>
#include <sstream>

using namespace swinsmt;

namespace {

std::string uids_series() { return test::data_path("dicom_series_uids"); }

/// test::structure_blocks, a liver ring (a hole with an island in it) and a stomach
/// checkerboard (regions touching only at corners).
int shapes(const std::array<double, 3>& p) {
  const double r = std::hypot(p[0] + 100.2, p[1] + 300.2);
  if (r < 10 || (r > 30 && r < 60)) return 5;  // liver
  const int64_t cx = static_cast<int64_t>(std::floor((p[0] - 50) / 0.9765625)),
                cy = static_cast<int64_t>(std::floor((p[1] + 300) / 0.9765625));
  if (cx >= 0 && cx < 12 && cy >= 0 && cy < 12) return (cx + cy) % 2 == 0 ? 6 : 0;  // stomach
  return test::structure_blocks(p);
}

io::DicomOutputInfo run_info() { return test::test_output_info('b'); }

double dice(const at::Tensor& a, const at::Tensor& b) {
  const double both = (a.to(at::kBool) & b.to(at::kBool)).sum().item<double>();
  return 2 * both / (a.to(at::kBool).sum().item<double>() + b.to(at::kBool).sum().item<double>());
}

/// Every ROI of `rt` rasterised back equals the label map's voxels of its structure (Dice 1).
void expect_rois_equal_labels(const test::DecodedRtStruct& rt, const io::DicomSource& source,
                              const at::Tensor& labels) {
  for (const auto& roi : rt.rois) {
    const at::Tensor expected = labels.eq(label_ids({roi.name})[0]).to(at::kByte);
    const at::Tensor back = test::rasterise_roi(roi, source);
    EXPECT_EQ(dice(back, expected), 1.0) << roi.name;
    EXPECT_TRUE(at::equal(back, expected)) << roi.name;
  }
}

}  // namespace

TEST(RtStruct, ContoursRasteriseBackToTheVoxels) {
  test::ScratchDir dir("rtstruct");
  const io::DicomSource source = io::read_dicom_source(uids_series());
  const at::Tensor labels = test::labels_from_positions(source, shapes);
  const auto notes = io::write_rtstruct(dir / "rt.dcm", source, labels, swinsmt::labels(), run_info());
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_NE(notes[0].find("110 empty structures left out of the RT-STRUCT"), std::string::npos) << notes[0];
  const test::DecodedRtStruct rt = test::decode_rtstruct(dir / "rt.dcm");
  EXPECT_EQ(rt.sop_class, "1.2.840.10008.5.1.4.1.1.481.3");
  EXPECT_EQ(rt.modality, "RTSTRUCT");
  EXPECT_EQ(rt.study_uid, source.study_uid);
  EXPECT_NE(rt.series_uid, source.series_uid);
  EXPECT_EQ(rt.frame_of_reference_uid, source.frame_of_reference_uid);
  EXPECT_EQ(rt.referenced_series, source.series_uid);
  EXPECT_EQ(rt.referenced_images.size(), source.slices.size());
  std::vector<std::string> names;
  for (const auto& roi : rt.rois) {
    names.push_back(roi.name);
    EXPECT_EQ(roi.generation_algorithm, "AUTOMATIC");
    EXPECT_EQ(roi.interpreted_type, "ORGAN");
    const auto& rgb = io::structure_code(roi.name).rgb;
    EXPECT_EQ(roi.colour, std::to_string(rgb[0]) + "\\" + std::to_string(rgb[1]) + "\\" + std::to_string(rgb[2]));
  }
  EXPECT_EQ(names, (std::vector<std::string>{"spleen", "kidney_right", "kidney_left", "liver", "stomach",
                                             "lung_upper_lobe_left", "lung_upper_lobe_right"}));
  // The liver ring on one slice: an outer boundary, the hole, and the island in the hole.
  const auto& liver = rt.rois[3];
  std::map<std::string, int> per_slice;
  for (const auto& c : liver.contours) ++per_slice[c.image_sop_instance];
  for (const auto& [image, count] : per_slice) EXPECT_EQ(count, 3) << image;
  expect_rois_equal_labels(rt, source, labels);
}

TEST(RtStruct, ContoursStayOnTheSlicesOfFeetFirstFlippedAndTiltedSeries) {
  test::ScratchDir dir("rtstruct_geometry");
  for (const auto& v : test::geometry_variants(io::read_dicom_source(uids_series()))) {
    SCOPED_TRACE(v.name);
    test::copy_series(uids_series(), dir / v.name, v.edit);
    const io::DicomSource source = io::read_dicom_source(dir / v.name);
    const at::Tensor labels = test::labels_from_positions(source, shapes);
    io::write_rtstruct(dir / (v.name + ".dcm"), source, labels, swinsmt::labels(), run_info());
    const test::DecodedRtStruct rt = test::decode_rtstruct(dir / (v.name + ".dcm"));
    EXPECT_EQ(rt.rois.size(), 7u);
    expect_rois_equal_labels(rt, source, labels);
  }
}

TEST(RtStruct, DciodvfyFindsNoErrorAndTheCliWritesIt) {
  test::ScratchDir dir("cli_rtstruct");
  const auto run = test::run_swinsmt(test::fast_segment_args(uids_series(), dir / "out") +
                                     " --threads 2 --output-type rtstruct --output-type nifti --output-type dicom-seg");
  ASSERT_EQ(run.code, 0) << run.output;
  EXPECT_EQ(test::list_files(dir / "out"),
            (std::vector<std::string>{"rtstruct.dcm", "seg.dcm", "seg.nii.gz", "swinsmt.json"}));
  const io::DicomSource source = io::read_dicom_source(uids_series());
  const io::Volume nifti = io::read_nifti(dir / "out/seg.nii.gz");
  const test::DecodedRtStruct rt = test::decode_rtstruct(dir / "out/rtstruct.dcm");
  EXPECT_GE(rt.rois.size(), 3u);
  expect_rois_equal_labels(rt, source, nifti.data);

  // dciodvfy on this RT-STRUCT and on one with holes, islands and corner contacts.
  io::write_rtstruct(dir / "shapes.dcm", source, test::labels_from_positions(source, shapes), swinsmt::labels(),
                     run_info());
  for (const std::string& file : {dir / "out/rtstruct.dcm", dir / "shapes.dcm"}) {
    const auto check = test::run_command("dciodvfy " + test::quoted(file));
    EXPECT_EQ(test::dciodvfy_errors(check.output), "") << check.output;
    EXPECT_NE(check.output.find("RTStructureSet"), std::string::npos) << check.output;
    std::cout << "dciodvfy on " << file << ":\n" << check.output;
  }
}
