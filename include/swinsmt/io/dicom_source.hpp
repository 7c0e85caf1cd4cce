#pragma once
// What a DICOM output (SEG, RT-STRUCT) needs of the series it was derived from: the identifiers it
// references and where each slice lies, read through DCMTK in the slice order of read_dicom_series.

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace swinsmt::io {

struct DicomSourceSlice {
  std::string file;
  std::string sop_class_uid, sop_instance_uid;
  std::array<double, 3> position{};  ///< ImagePositionPatient (0020,0032), LPS mm
};

struct DicomSource {
  std::string folder;
  std::string study_uid, series_uid, frame_of_reference_uid;
  std::array<double, 6> orientation{};    ///< ImageOrientationPatient: row then column cosines
  std::array<double, 2> pixel_spacing{};  ///< PixelSpacing: between rows, between columns (mm)
  double slice_thickness = 0;             ///< SliceThickness (0018,0050); 0 when absent
  int64_t rows = 0, columns = 0;
  /// The slices in the order of read_dicom_series (sorted along the slice normal, row x column
  /// cosines): slice k of the volume is slices[k].
  std::vector<DicomSourceSlice> slices;
  /// What was read from elsewhere than expected (a SOP Instance UID taken from the file meta header),
  /// one sentence each naming the files, for the log.
  std::vector<std::string> notes;
};

/// Reads the identifiers and geometry of the series in `folder` (files directly inside it; files
/// without the DICOM Part 10 preamble and files without pixel data are skipped, as read_dicom_series
/// does). A slice whose SOP Instance UID (0008,0018) is empty takes its file meta header's Media
/// Storage SOP Instance UID (0002,0003), said in `notes`. Throws swinsmt::Error, naming the file and
/// the attribute, when a slice has no SOP Instance UID in either place, no SOP Class UID, no Study
/// Instance UID (0020,000D), no Series Instance UID (0020,000E) or no Frame of Reference UID
/// (0020,0052) — a DICOM output must reference its source study, series and frame of reference —
/// when the slices disagree on one of those three, or when the folder holds no image.
DicomSource read_dicom_source(const std::string& folder);

/// What a DICOM output says about the run that made it.
struct DicomOutputInfo {
  std::string algorithm_name = "swinsmt";
  std::string algorithm_version;  ///< swinsmt's version
  std::string checkpoint_name;    ///< the checkpoint's file name
  std::string checkpoint_sha256;  ///< its SHA-256, 64 hex digits
};

}  // namespace swinsmt::io
