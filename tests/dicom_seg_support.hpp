#pragma once
// The DICOM output tests' helpers: a SEG decoded with DCMTK's dcmdata alone (attributes and bits as
// stored, not through dcmseg, which wrote them), series variants made from the bundled series, and a
// label map that is a function of the patient position.

#include <swinsmt/io/dicom_source.hpp>

#include <ATen/core/Tensor.h>
#include <dcmtk/config/osconfig.h>  // first of DCMTK's headers
#include <dcmtk/dcmdata/dcdatset.h>

#include <array>
#include <functional>
#include <string>
#include <vector>

namespace swinsmt::test {

struct SegSegment {
  int number = 0;
  std::string label, algorithm_type;
  std::string category_code, type_code, type_meaning, modifier_code;  // modifier "" when absent
  std::string category_scheme, category_meaning, type_scheme, modifier_meaning;
  std::string region_code, region_meaning, region_modifier_code;  // Anatomic Region; "" when absent
  std::vector<int> lab;                                           // recommended CIELab
};

struct SegFrame {
  int segment = 0;
  std::array<double, 3> position{};
  std::string source_sop_instance;  // Derivation Image > Source Image reference
  std::vector<uint8_t> mask;        // rows x columns, row by row, 0/1
};

struct DecodedSeg {
  std::string sop_class, study_uid, series_uid, sop_instance_uid, frame_of_reference_uid, patient_id;
  std::string series_description, content_label, content_description, station_name;
  int64_t rows = 0, columns = 0;
  std::array<double, 6> orientation{};
  std::array<double, 2> pixel_spacing{};
  std::vector<SegSegment> segments;
  std::vector<SegFrame> frames;
  std::vector<std::string> referenced_instances;  // Referenced Series Sequence > Referenced Instances
};

/// Reads a BINARY SEG with dcmdata; ADD_FAILUREs (gtest) on what is missing.
DecodedSeg decode_seg(const std::string& path);

/// The label map (columns, rows, slices), as the SEG holds it, of segment `number` placed on the
/// slices of `source` by each frame's position (frames off every source slice fail the test).
at::Tensor seg_mask_on_source(const DecodedSeg& seg, int number, const io::DicomSource& source);

/// Copies the DICOM files in `from` to `to` (created), with `edit` applied to each file's data set
/// (its index in file name order, its data set), saved in its own transfer syntax with its file meta
/// header unchanged.
void copy_series(const std::string& from, const std::string& to, const std::function<void(size_t, DcmDataset&)>& edit);

/// A variant of a series made by editing each file's header (copy_series): the writers read no
/// pixel, so the pixel data stays as it was.
struct SeriesVariant {
  std::string name;
  std::function<void(size_t, DcmDataset&)> edit;
};

/// Variants of `original` whose grids cover the same patient positions: "feet_first" (rows run
/// right to left, so the slice normal points to the feet), "flipped_rows" (columns run posterior to
/// anterior) and "tilted" (gantry tilt: each slice shifted 15 degrees along its columns).
std::vector<SeriesVariant> geometry_variants(const io::DicomSource& original);

/// The numbers of a decimal string attribute ("" when absent).
std::vector<double> numbers_of(DcmItem& item, const DcmTagKey& key);
/// Numbers as a decimal string value ("a\\b\\c").
std::string decimal_strings(const std::vector<double>& values);

/// Five structures (kidney_right, kidney_left, lung_upper_lobe_left/right, spleen: two left/right
/// pairs) in 100 mm blocks and 10 mm slabs, background elsewhere; block edges are off the bundled
/// series' pixel centres.
int structure_blocks(const std::array<double, 3>& position);

/// A run as DICOM outputs describe it: version 0.1.0, checkpoint model.pth, SHA-256 `digit` x 64.
io::DicomOutputInfo test_output_info(char digit);

/// The "Error" lines of dciodvfy's output, one per line ("" when none).
std::string dciodvfy_errors(const std::string& output);

/// A label map on the grid of `source` whose value at each voxel is `f` of its centre (LPS mm).
at::Tensor labels_from_positions(const io::DicomSource& source,
                                 const std::function<int(const std::array<double, 3>&)>& f);

/// Patient position (LPS mm) of pixel (column, row) of a plane at `position` with `orientation`
/// (row then column cosines) and `spacing` (between rows, between columns).
std::array<double, 3> pixel_position(const std::array<double, 3>& position, const std::array<double, 6>& orientation,
                                     const std::array<double, 2>& spacing, int64_t column, int64_t row);

}  // namespace swinsmt::test

namespace swinsmt::test {

struct RtContour {
  std::string geometric_type, image_sop_instance;
  std::vector<std::array<double, 3>> points;
};

struct RtRoi {
  int number = 0;
  std::string name, generation_algorithm, interpreted_type, colour;
  std::vector<RtContour> contours;
};

struct DecodedRtStruct {
  std::string sop_class, modality, study_uid, series_uid, frame_of_reference_uid, structure_set_label;
  std::string referenced_series;
  std::vector<std::string> referenced_images;  // Contour Image Sequence of the referenced series
  std::vector<RtRoi> rois;
};

/// Reads an RT-STRUCT with dcmdata; ADD_FAILUREs (gtest) on what is missing.
DecodedRtStruct decode_rtstruct(const std::string& path);

/// The voxels (columns, rows, slices) of `roi` on the grid of `source`: each pixel centre inside an
/// odd number of the ROI's contours on its slice (even-odd rule). Contours are placed by the slice
/// their Contour Image Sequence names; a point farther than `plane_tolerance` mm from that slice's
/// plane fails the test.
at::Tensor rasterise_roi(const RtRoi& roi, const io::DicomSource& source, double plane_tolerance = 0.01);

}  // namespace swinsmt::test
