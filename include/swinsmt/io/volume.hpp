#pragma once
// A 3-D image on a grid placed in patient space: what the readers return and the writers take.

#include <ATen/core/Tensor.h>

#include <array>
#include <string>
#include <vector>

namespace swinsmt::io {

/// NIfTI header fields that describe the grid. Kept from the input so that outputs are written with
/// the input's own qform/sform (codes and matrices) and units, whatever tool reads them later.
struct NiftiGeometry {
  int version = 1;                        ///< 1 (NIfTI-1) or 2 (NIfTI-2)
  int qform_code = 0;                     ///< NIFTI_XFORM_* code of the qform (0: absent)
  int sform_code = 0;                     ///< NIFTI_XFORM_* code of the sform (0: absent)
  at::Tensor qform;                       ///< 4x4 float64, voxel -> world in the file's spatial units
  at::Tensor sform;                       ///< 4x4 float64, voxel -> world in the file's spatial units
  std::array<double, 3> pixdim{1, 1, 1};  ///< dx, dy, dz as stored (file units)
  int xyz_units = 2;                      ///< NIFTI_UNITS_* code of the spatial units (2: mm)
  int time_units = 0;                     ///< NIFTI_UNITS_* code of the time units
  std::string description;                ///< descrip (at most 79 characters are written)

  /// A header for a grid known only by its affine (voxel -> RAS+ mm): qform and sform both set to it
  /// with code 1 (scanner anatomical), units mm. Used for DICOM inputs.
  static NiftiGeometry from_affine(const at::Tensor& affine);
};

struct Volume {
  /// Voxel values indexed (i, j, k), i.e. NIfTI x fastest on disk becomes the first tensor dimension.
  /// Contiguous, on the CPU. Dtype as stored (uint8/int8/int16/int32/int64/float32/float64; uint16 is
  /// widened to int32, uint32 to int64), or float32 when the file has a scl_slope/scl_inter to apply.
  at::Tensor data;
  /// 4x4 float64 voxel (i, j, k, 1) -> world (x, y, z, 1) in RAS+ millimetres: the sform if
  /// sform_code > 0, else the qform (which is diag(pixdim) when qform_code is 0), as NIfTI defines it.
  at::Tensor affine;
  /// Voxel size in mm along i, j, k (the column norms of `affine`).
  std::array<double, 3> spacing{1, 1, 1};
  /// The header fields to write back with outputs on this grid.
  NiftiGeometry geometry;
  /// Where it came from (file or folder), for messages.
  std::string source;
  /// DICOM Modality (0008,0060) of a series ("CT", "MR", ...); empty for NIfTI, which records none.
  std::string modality;
  /// What the reader found doubtful and how it read it anyway (one sentence each, naming the file);
  /// `swinsmt segment` prints them as warnings.
  std::vector<std::string> warnings;
};

/// Column norms of the 3x3 part of a 4x4 affine: the voxel size along each index axis.
std::array<double, 3> spacing_of(const at::Tensor& affine);

/// Axis codes ("RAS", "LPS", ...) of an affine: for each index axis, the world direction it points to
/// most (nibabel aff2axcodes).
std::string axis_codes(const at::Tensor& affine);

}  // namespace swinsmt::io
