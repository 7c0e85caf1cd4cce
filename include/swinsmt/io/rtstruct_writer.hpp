#pragma once
// DICOM RT Structure Set (RT-STRUCT) output through DCMTK's dcmrt.

#include <swinsmt/io/dicom_source.hpp>
#include <swinsmt/io/segment_description.hpp>

#include <ATen/core/Tensor.h>

#include <map>
#include <string>
#include <vector>

namespace swinsmt::io {

/// Writes `labels` (uint8, indexed (column, row, slice) on the grid of `source`'s slices, as
/// read_dicom_series returns them) to `path` as an RT Structure Set Storage instance:
/// - one ROI per entry of `structures` (label id -> its description) with at least one voxel, in
///   label order: ROI Name = the description's name, ROI Display Color = its colour, ROI
///   Generation Algorithm AUTOMATIC, RT ROI Interpreted Type ORGAN;
/// - per source slice where the structure has voxels, CLOSED_PLANAR contours in patient
///   coordinates (LPS mm) on that slice's plane, traced along the voxel edges: every region's outer
///   boundary, every hole's boundary and every region inside a hole is a contour of its own. A
///   voxel belongs to the structure exactly when its centre lies inside an odd number of the
///   structure's contours on its slice (even-odd rule). Each contour references its slice's SOP
///   instance;
/// - the source's Patient and Study; new Series and SOP Instance UIDs; Referenced Frame of
///   Reference Sequence with the source's Frame of Reference, study, series and every slice.
/// Returns the notes for the log (the structures left out because they are empty). The file is
/// written under a temporary name and renamed into place. Throws swinsmt::Error when the labels do
/// not match the source's grid, no structure has a voxel, or DCMTK refuses a value.
std::vector<std::string> write_rtstruct(const std::string& path, const DicomSource& source, const at::Tensor& labels,
                                        const std::map<int, SegmentDescription>& structures,
                                        const DicomOutputInfo& info);

/// write_rtstruct with the built-in table's description of each structure (label id -> name;
/// segment_descriptions): throws swinsmt::Error for a name the table does not hold.
std::vector<std::string> write_rtstruct(const std::string& path, const DicomSource& source, const at::Tensor& labels,
                                        const std::map<int, std::string>& structures, const DicomOutputInfo& info);

}  // namespace swinsmt::io
