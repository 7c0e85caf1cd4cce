#pragma once
// DICOM Segmentation (SEG) output through DCMTK's dcmseg.

#include <swinsmt/io/dicom_source.hpp>

#include <ATen/core/Tensor.h>

#include <map>
#include <string>
#include <vector>

namespace swinsmt::io {

/// Writes `labels` (uint8, indexed (column, row, slice) on the grid of `source`'s slices, as
/// read_dicom_series returns them) to `path` as a BINARY Segmentation Storage instance:
/// - one segment per entry of `structures` (label id -> structure name) with at least one voxel,
///   in label order; segment label = structure name, Segmented Property Category/Type codes from
///   structure_codes(), Type Modifier Left/Right for left/right structures, the anatomic region where
///   the table has one, recommended display colour (CIELab), algorithm type AUTOMATIC, algorithm
///   name info.algorithm_name;
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
                                         const std::map<int, std::string>& structures, const DicomOutputInfo& info);

}  // namespace swinsmt::io
