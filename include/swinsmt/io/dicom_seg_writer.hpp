#pragma once
// DICOM Segmentation (SEG) output through DCMTK's dcmseg.

#include <swinsmt/io/dicom_source.hpp>
#include <swinsmt/io/segment_description.hpp>

#include <ATen/core/Tensor.h>

#include <map>
#include <string>
#include <vector>

namespace swinsmt::io {

/// Writes `labels` (uint8, indexed (column, row, slice) on the grid of `source`'s slices, as
/// read_dicom_series returns them) to `path` as a BINARY Segmentation Storage instance:
/// - one segment per entry of `structures` (label id -> its description) with at least one voxel,
///   in label order; segment label = the description's name, its Segmented Property Category and
///   Type codes, its Type Modifier when it has one, its Anatomic Region (with the modifier) when it
///   has one, its colour as the recommended display CIELab value, algorithm type AUTOMATIC,
///   algorithm name info.algorithm_name;
/// - the source's Patient, Study and Frame of Reference; new Series and SOP Instance UIDs; Series
///   Description "<algorithm> <version> <checkpoint file name>", Content Label "SWINSMT", Content
///   Description the checkpoint's SHA-256;
/// - one frame per segment and source slice where the segment has voxels, in the source's plane
///   (shared Plane Orientation and Pixel Measures), at that slice's own ImagePositionPatient, with a
///   Derivation Image reference to that slice's SOP instance; the source's instances also listed in
///   the Referenced Series Sequence.
/// Returns the notes for the log (the structures left out because they are empty). The file is
/// written under a temporary name and renamed into place. Throws swinsmt::Error when the labels do
/// not match the source's grid, no structure has a voxel, or DCMTK refuses the object.
std::vector<std::string> write_dicom_seg(const std::string& path, const DicomSource& source, const at::Tensor& labels,
                                         const std::map<int, SegmentDescription>& structures,
                                         const DicomOutputInfo& info);

/// write_dicom_seg with the built-in table's description of each structure (label id -> name;
/// segment_descriptions): throws swinsmt::Error for a name the table does not hold.
std::vector<std::string> write_dicom_seg(const std::string& path, const DicomSource& source, const at::Tensor& labels,
                                         const std::map<int, std::string>& structures, const DicomOutputInfo& info);

}  // namespace swinsmt::io
