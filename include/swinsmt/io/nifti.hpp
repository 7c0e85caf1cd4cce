#pragma once
// NIfTI-1 and NIfTI-2 images (.nii, .nii.gz) through nifti_clib.

#include <swinsmt/io/volume.hpp>

#include <cstdint>
#include <string>

namespace swinsmt::io {

/// Limits read_nifti applies to the header before it allocates anything (a file comes from outside).
struct NiftiReadOptions {
  /// Most voxels (product of all dimensions) accepted; 2^31 is 8 GiB as float32, far above a CT.
  int64_t max_voxels = int64_t{1} << 31;
};

/// Reads a 3-D NIfTI-1/2 image (.nii or .nii.gz; a 4-D image whose 4th to 7th dimensions are 1 is
/// accepted as 3-D). Applies scl_slope/scl_inter like nibabel (the result is then float32). The
/// affine is converted to millimetres when the header's spatial unit is metres or micrometres.
/// Throws swinsmt::Error naming the file when it is missing, a folder, not NIfTI, not 3-D (2-D
/// images, 4-D series), or of a voxel type other than integers and real floats, and, before
/// allocating, when the header's dimensions overflow, exceed options.max_voxels or declare more
/// voxel bytes than the file can hold.
Volume read_nifti(const std::string& path, const NiftiReadOptions& options = {});

/// Writes `data` (3-D, (i, j, k) as in Volume::data; bool, uint8, int8, int16, int32, int64,
/// float32 or float64, any device) as a NIfTI image with `geometry`'s qform/sform, codes, pixdim
/// and units. NIfTI-2 when geometry.version is 2 or a size exceeds 32767, else NIfTI-1; gzip
/// compressed when `path` ends in ".gz". Written under a temporary name and renamed into place, so a
/// failure never leaves a file that looks complete. Throws swinsmt::Error.
void write_nifti(const std::string& path, const at::Tensor& data, const NiftiGeometry& geometry);

/// write_nifti(path, volume.data, volume.geometry).
void write_nifti(const std::string& path, const Volume& volume);

}  // namespace swinsmt::io
