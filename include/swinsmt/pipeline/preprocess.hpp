#pragma once
// Geometry and intensity steps between a CT as stored and the network input, and back:
// orientation to RAS (MONAI `Orientation(axcodes="RAS")`) and the HU window. Every function works on the last three
// (spatial) dimensions, on any device.

#include <ATen/core/Tensor.h>

#include <array>
#include <cstdint>

namespace swinsmt {

/// Where one index axis points in RAS+ world space.
struct AxisDirection {
  int world_axis = 0;  ///< 0: x (R/L), 1: y (A/P), 2: z (S/I)
  int sign = 1;        ///< +1 when the index grows toward R/A/S, -1 toward L/P/I
};
/// For index axes i, j, k.
using AxisOrientation = std::array<AxisDirection, 3>;

/// nibabel `io_orientation(affine)` (what MONAI Orientation uses): the closest shear-free rotation
/// of the affine's 3x3 part (SVD polar factor of the column-normalised matrix), then for each index
/// axis in turn the world axis it changes most, each world axis used once. affine: 4x4 voxel->RAS.
AxisOrientation io_orientation(const at::Tensor& affine);

/// True when the orientation is already RAS (no flip, no permutation).
bool is_ras(const AxisOrientation& orientation);

/// An image and its voxel->world affine.
struct OrientedImage {
  at::Tensor data;    ///< (..., X, Y, Z)
  at::Tensor affine;  ///< 4x4 float64
};

/// MONAI `Orientation(axcodes="RAS")` on data (..., i, j, k) with `affine` (4x4 voxel->RAS):
/// flips the index axes that point to L/P/I, then permutes them into R, A, S order. Only flips and
/// permutations: no interpolation. Returns the reoriented data (a view when possible) and the new
/// affine (affine @ nibabel inv_ornt_aff).
OrientedImage orient_to_ras(const at::Tensor& data, const at::Tensor& affine);

/// The exact inverse of orient_to_ras for an image of the same grid: `ras_data` (..., X, Y, Z) back
/// to the index order and directions `original` (io_orientation of the input affine) describes.
at::Tensor orient_from_ras(const at::Tensor& ras_data, const AxisOrientation& original);

// Resampling to the model spacing and back: pipeline/spacing.hpp (MONAI Spacing and its inverse).

/// MONAI `ScaleIntensityRange(a_min=hu_min, a_max=hu_max, b_min, b_max, clip)`: float32
/// (x - hu_min) / (hu_max - hu_min) * (b_max - b_min) + b_min, clipped to [b_min, b_max] when `clip`.
/// Throws swinsmt::Error unless hu_min < hu_max.
at::Tensor scale_intensity(const at::Tensor& hu, double hu_min, double hu_max, double b_min = 0.0, double b_max = 1.0,
                           bool clip = true);

/// Sets every NaN or infinite voxel of a floating-point volume to `hu` (an integer volume has none)
/// and returns how many there were. Segmenter refuses non-finite voxels: this says what they mean.
int64_t replace_non_finite(at::Tensor& data, double hu);

}  // namespace swinsmt
