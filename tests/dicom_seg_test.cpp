// DICOM SEG output: the writer on label maps that are functions of the patient position (codes,
// frames, references; feet-first, flipped-row and tilted series), `swinsmt segment --output-type
// dicom-seg` on the bundled series (the SEG decoded with DCMTK equals the NIfTI label map of the same
// run; dciodvfy finds no error), and bad inputs (clear errors, nothing left behind).
#include "dicom_seg_support.hpp"
#include "fixtures.hpp"
#include "test_support.hpp"

#include <swinsmt/io/dicom.hpp>
#include <swinsmt/io/dicom_seg_writer.hpp>
#include <swinsmt/io/dicom_source.hpp>
#include <swinsmt/io/nifti.hpp>
#include <swinsmt/io/structure_codes.hpp>
#include <swinsmt/pipeline/labels.hpp>
#include <swinsmt/pipeline/segmentation_writer.hpp>

#include <ATen/ATen.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <iostream>
#include <set>
#include <sstream>

using namespace swinsmt;
namespace fs = std::filesystem;

namespace {

const std::string kSegStorage = "1.2.840.10008.5.1.4.1.1.66.4";

std::string uids_series() { return test::data_path("dicom_series_uids"); }

const auto blocks = test::structure_blocks;

io::DicomOutputInfo run_info() { return test::test_output_info('a'); }

/// Every frame of `seg` against `f` at its pixels' patient positions, and its position against the
/// source slices.
void expect_frames_follow_positions(const test::DecodedSeg& seg, const io::DicomSource& source,
                                    const std::function<int(const std::array<double, 3>&)>& f) {
  std::map<int, int> id_of_number;
  for (const auto& s : seg.segments) id_of_number[s.number] = label_ids({s.label})[0];
  for (int i = 0; i < 6; ++i) EXPECT_NEAR(seg.orientation[i], source.orientation[i], 1e-9);
  for (int i = 0; i < 2; ++i) EXPECT_NEAR(seg.pixel_spacing[i], source.pixel_spacing[i], 1e-9);
  for (const auto& frame : seg.frames) {
    int64_t mismatches = 0;
    for (int64_t r = 0; r < seg.rows; ++r)
      for (int64_t c = 0; c < seg.columns; ++c) {
        const bool expected = f(test::pixel_position(frame.position, seg.orientation, seg.pixel_spacing, c, r)) ==
                              id_of_number[frame.segment];
        mismatches += expected != (frame.mask[static_cast<size_t>(r * seg.columns + c)] != 0);
      }
    EXPECT_EQ(mismatches, 0) << "segment " << frame.segment << " at z " << frame.position[2];
  }
  // Each segment's frames: exactly the source slices where it has voxels.
  const at::Tensor labels = test::labels_from_positions(source, f);
  for (const auto& s : seg.segments)
    EXPECT_TRUE(
        at::equal(test::seg_mask_on_source(seg, s.number, source), labels.eq(id_of_number[s.number]).to(at::kByte)))
        << s.label;
}

}  // namespace

TEST(DicomSeg, SegmentsCodesFramesAndReferences) {
  test::ScratchDir dir("dicom_seg");
  const io::DicomSource source = io::read_dicom_source(uids_series());
  ASSERT_EQ(source.slices.size(), 20u);
  EXPECT_TRUE(source.notes.empty());
  const at::Tensor labels = test::labels_from_positions(source, blocks);
  const auto notes = io::write_dicom_seg(dir / "seg.dcm", source, labels, swinsmt::labels(), run_info());
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_NE(notes[0].find("112 empty structures left out of the SEG (gallbladder, liver,"), std::string::npos)
      << notes[0];

  const test::DecodedSeg seg = test::decode_seg(dir / "seg.dcm");
  EXPECT_EQ(seg.sop_class, kSegStorage);
  EXPECT_EQ(seg.study_uid, source.study_uid);
  EXPECT_EQ(seg.frame_of_reference_uid, source.frame_of_reference_uid);
  EXPECT_EQ(seg.patient_id, "ANON0001");
  EXPECT_FALSE(seg.series_uid.empty());
  EXPECT_NE(seg.series_uid, source.series_uid);
  EXPECT_FALSE(seg.sop_instance_uid.empty());
  EXPECT_EQ(seg.series_description, "swinsmt 0.1.0 model.pth");
  EXPECT_EQ(seg.content_label, "SWINSMT");
  EXPECT_EQ(seg.content_description, std::string(64, 'a'));
  EXPECT_EQ(seg.station_name, "");  // the scanner's, not the SEG's
  std::vector<std::string> expected_refs, refs = seg.referenced_instances;
  for (const auto& s : source.slices) expected_refs.push_back(s.sop_instance_uid);
  std::sort(expected_refs.begin(), expected_refs.end());
  std::sort(refs.begin(), refs.end());
  EXPECT_EQ(refs, expected_refs);

  // One segment per structure present, in label order, with its codes, laterality and colour.
  std::vector<std::string> names;
  for (const auto& s : seg.segments) {
    names.push_back(s.label);
    const io::StructureCode& code = io::structure_code(s.label);
    EXPECT_EQ(s.algorithm_type, "AUTOMATIC");
    EXPECT_EQ(s.category_code, code.category.value) << s.label;
    EXPECT_EQ(s.type_code, code.type.value) << s.label;
    EXPECT_EQ(s.type_meaning, code.type.meaning) << s.label;
    EXPECT_EQ(s.modifier_code, s.label.find("_left") != std::string::npos    ? "7771000"
                               : s.label.find("_right") != std::string::npos ? "24028007"
                                                                             : "")
        << s.label;
    EXPECT_EQ(s.lab.size(), 3u) << s.label;
  }
  EXPECT_EQ(names, (std::vector<std::string>{"spleen", "kidney_right", "kidney_left", "lung_upper_lobe_left",
                                             "lung_upper_lobe_right"}));
  // Left and right kidney: same type, told apart by the modifier alone.
  EXPECT_EQ(seg.segments[1].type_code, seg.segments[2].type_code);
  EXPECT_NE(seg.segments[1].modifier_code, seg.segments[2].modifier_code);
  expect_frames_follow_positions(seg, source, blocks);
}

TEST(DicomSeg, FramesKeepThePositionsOfFeetFirstFlippedAndTiltedSeries) {
  test::ScratchDir dir("dicom_seg_geometry");
  const auto variants = test::geometry_variants(io::read_dicom_source(uids_series()));
  for (const auto& v : variants) {
    SCOPED_TRACE(v.name);
    test::copy_series(uids_series(), dir / v.name, v.edit);
    const io::DicomSource source = io::read_dicom_source(dir / v.name);
    // The slice order is read_dicom_series': slice k of its volume is at source.slices[k].
    const io::Volume volume = io::read_dicom_series(dir / v.name);
    ASSERT_EQ(volume.data.size(2), static_cast<int64_t>(source.slices.size()));
    for (size_t k = 0; k < source.slices.size(); ++k)
      for (int i = 0; i < 3; ++i) {
        const double ras =
            volume.affine[i][3].item<double>() + volume.affine[i][2].item<double>() * static_cast<double>(k);
        EXPECT_NEAR(i < 2 ? -ras : ras, source.slices[k].position[i], 1e-6);
      }
    const at::Tensor labels = test::labels_from_positions(source, blocks);
    io::write_dicom_seg(dir / (v.name + ".dcm"), source, labels, swinsmt::labels(), run_info());
    const test::DecodedSeg seg = test::decode_seg(dir / (v.name + ".dcm"));
    EXPECT_EQ(seg.segments.size(), 5u);
    expect_frames_follow_positions(seg, source, blocks);
  }
}

TEST(DicomSeg, SopInstanceUidFromTheMetaHeader) {
  test::ScratchDir dir("dicom_seg_meta_uid");
  test::copy_series(uids_series(), dir / "series",
                    [](size_t, DcmDataset& ds) { ds.putAndInsertString(DCM_SOPInstanceUID, ""); });
  const io::DicomSource source = io::read_dicom_source(dir / "series");
  ASSERT_EQ(source.notes.size(), 1u);
  EXPECT_NE(source.notes[0].find("20 of 20 slices"), std::string::npos) << source.notes[0];
  EXPECT_NE(source.notes[0].find("Media Storage SOP Instance UID (0002,0003)"), std::string::npos);
  const io::DicomSource original = io::read_dicom_source(uids_series());
  for (size_t k = 0; k < source.slices.size(); ++k)
    EXPECT_EQ(source.slices[k].sop_instance_uid, original.slices[k].sop_instance_uid);
}

TEST(DicomSeg, MissingIdentifiersAreClearErrors) {
  test::ScratchDir dir("dicom_seg_missing");
  // The bundled blanked series: SOP Instance UIDs come from the meta header, the study is missing.
  EXPECT_NE(test::error_of([] {
              io::read_dicom_source(test::data_path("dicom_series"));
            }).find("has no Study Instance UID (0020,000D); a DICOM SEG or RT-STRUCT must reference the study"),
            std::string::npos);
  test::copy_series(uids_series(), dir / "no_for",
                    [](size_t, DcmDataset& ds) { ds.findAndDeleteElement(DCM_FrameOfReferenceUID); });
  EXPECT_NE(
      test::error_of([&] { io::read_dicom_source(dir / "no_for"); }).find("has no Frame of Reference UID (0020,0052)"),
      std::string::npos);
  // Labels on another grid.
  const io::DicomSource source = io::read_dicom_source(uids_series());
  EXPECT_NE(
      test::error_of([&] {
        io::write_dicom_seg(dir / "x.dcm", source, at::zeros({512, 512, 19}, at::kByte), swinsmt::labels(), run_info());
      }).find("must be uint8 on the grid of the source series"),
      std::string::npos);
  EXPECT_NE(
      test::error_of([&] {
        io::write_dicom_seg(dir / "x.dcm", source, at::zeros({512, 512, 20}, at::kByte), swinsmt::labels(), run_info());
      }).find("no structure has a voxel"),
      std::string::npos);
  EXPECT_EQ(test::list_files(dir / "").size(), 20u);  // the series copy, no SEG
}

TEST(StructureCodes, EveryStructureHasCodesAndLeftRightModifiers) {
  ASSERT_EQ(io::structure_codes().size(), 117u);
  std::set<std::string> types_with_laterality;
  for (const auto& [id, name] : swinsmt::labels()) {
    const io::StructureCode& code = io::structure_code(name);
    EXPECT_EQ(code.name, io::structure_codes()[static_cast<size_t>(id - 1)].name);
    EXPECT_EQ(code.category.scheme, "SCT");
    EXPECT_FALSE(code.type.value.empty()) << name;
    const bool left = name.find("_left") != std::string::npos, right = name.find("_right") != std::string::npos;
    EXPECT_EQ(code.laterality, left ? "Left" : right ? "Right" : "") << name;
  }
  EXPECT_EQ(io::laterality_code("Left").value, "7771000");
  EXPECT_EQ(io::laterality_code("Right").value, "24028007");
  EXPECT_NE(test::error_of([] { io::structure_code("brain_left"); }).find("has no DICOM codes"), std::string::npos);
}

TEST(DicomSegCli, SegAndNiftiOfOneRunHoldTheSameVoxels) {
  test::ScratchDir dir("cli_dicom_seg");
  const auto run = test::run_swinsmt(test::fast_segment_args(uids_series(), dir / "out") +
                                     " --threads 2 --output-type nifti --output-type dicom-seg");
  ASSERT_EQ(run.code, 0) << run.output;
  EXPECT_EQ(test::list_files(dir / "out"), (std::vector<std::string>{"seg.dcm", "seg.nii.gz", "swinsmt.json"}));
  EXPECT_NE(run.output.find("empty structures left out of the SEG"), std::string::npos) << run.output;
  const io::Volume nifti = io::read_nifti(dir / "out/seg.nii.gz");
  const io::DicomSource source = io::read_dicom_source(uids_series());
  const test::DecodedSeg seg = test::decode_seg(dir / "out/seg.dcm");
  EXPECT_EQ(seg.sop_class, kSegStorage);
  EXPECT_NE(seg.series_description.find("swinsmt_f12_random.pth"), std::string::npos) << seg.series_description;
  EXPECT_EQ(seg.content_description.size(), 64u);
  // One segment per structure present in the label map, decoding to its voxels.
  const at::Tensor counts = at::bincount(nifti.data.flatten().to(at::kLong), {}, 118);
  std::vector<std::string> present, segments;
  for (int id = 1; id <= 117; ++id)
    if (counts[id].item<int64_t>() > 0) present.push_back(label_name(id));
  for (const auto& s : seg.segments) {
    segments.push_back(s.label);
    EXPECT_TRUE(at::equal(test::seg_mask_on_source(seg, s.number, source),
                          nifti.data.eq(label_ids({s.label})[0]).to(at::kByte)))
        << s.label;
  }
  EXPECT_EQ(segments, present);
  EXPECT_GE(present.size(), 3u);
}

TEST(DicomSegCli, RoiSubsetAppliesToTheSegAndTheRtStruct) {
  // --roi-subset as for NIfTI: the SEG's segments and the RT-STRUCT's ROIs are the kept structures
  // present in the label map of the same run, and nothing else.
  std::string subset;
  for (int id = 1; id <= 117; id += 3) subset += " " + label_name(id);
  test::ScratchDir dir("cli_dicom_roi_subset");
  const auto run = test::run_swinsmt(test::fast_segment_args(uids_series(), dir / "out") +
                                     " --threads 2 --output-type nifti --output-type dicom-seg --output-type rtstruct" +
                                     " --roi-subset" + subset);
  ASSERT_EQ(run.code, 0) << run.output;
  const io::Volume nifti = io::read_nifti(dir / "out/seg.nii.gz");
  const at::Tensor counts = at::bincount(nifti.data.flatten().to(at::kLong), {}, 118);
  std::vector<std::string> present;
  for (int id = 1; id <= 117; ++id) {
    if (counts[id].item<int64_t>() == 0) continue;
    EXPECT_EQ((id - 1) % 3, 0) << label_name(id) << " is not in the subset but in the label map";
    present.push_back(label_name(id));
  }
  ASSERT_GE(present.size(), 2u) << "the random model should leave some kept structures";
  std::vector<std::string> segments, rois;
  for (const auto& s : test::decode_seg(dir / "out/seg.dcm").segments) segments.push_back(s.label);
  for (const auto& r : test::decode_rtstruct(dir / "out/rtstruct.dcm").rois) rois.push_back(r.name);
  EXPECT_EQ(segments, present);
  EXPECT_EQ(rois, present);
}

TEST(DicomSegCli, DciodvfyFindsNoErrorInTheSeg) {
  test::ScratchDir dir("cli_dicom_seg_dciodvfy");
  const io::DicomSource source = io::read_dicom_source(uids_series());
  io::write_dicom_seg(dir / "seg.dcm", source, test::labels_from_positions(source, blocks), swinsmt::labels(),
                      run_info());
  const auto check = test::run_command("dciodvfy " + test::quoted(dir / "seg.dcm"));
  EXPECT_EQ(test::dciodvfy_errors(check.output), "") << check.output;
  EXPECT_NE(check.output.find("Segmentation"), std::string::npos) << check.output;
  std::cout << "dciodvfy on the SEG:\n" << check.output;
}

TEST(DicomSegCli, DicomOutputErrorsLeaveNothing) {
  test::ScratchDir dir("cli_dicom_seg_errors");
  const auto segment = [&](const std::string& input, const std::string& output, const std::string& extra) {
    return test::run_swinsmt(test::fast_segment_args(input, output) + " --threads 2 " + extra);
  };
  auto run = segment(test::data_path("example_ct_sm.nii.gz"), dir / "a.dcm", "--output-type dicom-seg");
  EXPECT_NE(run.code, 0);
  EXPECT_NE(run.output.find("--output-type dicom-seg needs a DICOM series input"), std::string::npos) << run.output;
  run = segment(uids_series(), dir / "a.nii.gz", "--output-type dicom-seg");
  EXPECT_NE(run.output.find("must be a DICOM file name ending in .dcm"), std::string::npos) << run.output;
  run = segment(uids_series(), dir / "a", "--output-type dicom-seg --masks");
  EXPECT_NE(run.output.find("cannot be combined with --output-type dicom-seg"), std::string::npos) << run.output;
  // The bundled blanked series has no Study or Series Instance UID.
  run = segment(test::data_path("dicom_series"), dir / "blanked/seg.dcm", "--output-type dicom-seg");
  EXPECT_EQ(run.code, 1) << run.output;
  EXPECT_NE(run.output.find("has no Study Instance UID (0020,000D)"), std::string::npos) << run.output;
  test::copy_series(uids_series(), dir / "no_for",
                    [](size_t, DcmDataset& ds) { ds.findAndDeleteElement(DCM_FrameOfReferenceUID); });
  run = segment(dir / "no_for", dir / "no_for_out", "--output-type dicom-seg --output-type nifti");
  EXPECT_EQ(run.code, 1) << run.output;
  EXPECT_NE(run.output.find("has no Frame of Reference UID (0020,0052)"), std::string::npos) << run.output;
  EXPECT_FALSE(fs::exists(dir / "blanked"));
  EXPECT_FALSE(fs::exists(dir / "no_for_out"));
  EXPECT_FALSE(fs::exists(dir / "a.dcm"));
}

TEST(DicomOutputPaths, OneTypeIsTheFileSeveralTypesAFolder) {
  test::ScratchDir dir("dicom_output_paths");
  const std::vector<CtInput> inputs{{uids_series(), true, "a"}, {test::data_path("dicom_series"), true, "b"}};
  WriterOptions options;
  options.statistics = true;
  options.types = {OutputType::dicom_seg};
  const SegmentationWriter seg(dir / "out/a.dcm", {inputs[0]}, options);
  EXPECT_EQ(seg.paths(0).dicom_seg, dir / "out/a.dcm");
  EXPECT_EQ(seg.paths(0).labels, "");
  EXPECT_EQ(seg.paths(0).record, dir / "out/a.swinsmt.json");
  EXPECT_TRUE(seg.needs_dicom_source());
  const SegmentationWriter batch(dir / "out", inputs, options);
  EXPECT_EQ(batch.paths(1).dicom_seg, dir / "out/b.dcm");
  EXPECT_EQ(batch.paths(1).statistics, dir / "out/b_statistics.json");

  options.types = {OutputType::rtstruct, OutputType::nifti, OutputType::dicom_seg};
  const SegmentationWriter all(dir / "out", {inputs[0]}, options);
  EXPECT_EQ(all.paths(0).labels, dir / "out/seg.nii.gz");
  EXPECT_EQ(all.paths(0).dicom_seg, dir / "out/seg.dcm");
  EXPECT_EQ(all.paths(0).rtstruct, dir / "out/rtstruct.dcm");
  EXPECT_EQ(all.paths(0).statistics, dir / "out/statistics.json");
  EXPECT_EQ(all.paths(0).record, dir / "out/swinsmt.json");
  const SegmentationWriter all_batch(dir / "out", inputs, options);
  EXPECT_EQ(all_batch.paths(1).rtstruct, dir / "out/b/rtstruct.dcm");
  EXPECT_EQ(all_batch.paths(1).record, dir / "out/b/swinsmt.json");
  EXPECT_FALSE(fs::exists(dir / "out"));  // planning creates nothing

  EXPECT_NE(test::error_of([&] {
              SegmentationWriter(dir / "out/a.dcm", {inputs[0]}, options);
            }).find("must be a folder when writing 3 output types"),
            std::string::npos);
  options.types = {OutputType::nifti, OutputType::nifti};
  EXPECT_NE(test::error_of([&] { SegmentationWriter(dir / "out", {inputs[0]}, options); }).find("is given twice"),
            std::string::npos);
  options.types = {OutputType::rtstruct};
  EXPECT_NE(test::error_of([&] {
              SegmentationWriter(dir / "a.dcm", {{test::data_path("example_ct_sm.nii.gz"), false, "ct"}}, options);
            }).find("--output-type rtstruct needs a DICOM series input"),
            std::string::npos);
  EXPECT_EQ(parse_output_type("dicom-seg"), OutputType::dicom_seg);
  EXPECT_NE(test::error_of([] { parse_output_type("dicom_seg"); }).find("must be nifti, dicom-seg or rtstruct"),
            std::string::npos);
}
