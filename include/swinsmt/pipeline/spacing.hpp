#pragma once
// MONAI 1.3 `Spacing(pixdim, mode="bilinear")` (every other argument default) and its inverses as
// `Invertd(nearest_interp=True)` (labels) and `Invertd(nearest_interp=False)` (probabilities) run
// them, following MONAI's arithmetic on the grids the pipeline sees (the image and the labels to the
// last bit, in the tests): the output grid, origin and shape MONAI computes (zoom_affine, compute_shape_offset), the
// sampling positions of its affine_grid + grid_sample chain in float64, border padding, trilinear weights summed in
// ATen's order, and nearest-neighbour labels rounded half away from zero (LibTorch 1.13's 3-D grid_sample). Grids whose
// affine has a shear (gantry-tilted DICOM) are resampled along their own axes, which MONAI does not do (it re-centres
// them); io::read_dicom_series warns about those.

#include <ATen/core/Tensor.h>

#include <array>
#include <cstdint>

namespace swinsmt {

/// Where a grid is resampled to and how its voxels map back.
struct SpacingPlan {
  std::array<int64_t, 3> input_shape{};   ///< the grid as given (after orientation to RAS)
  std::array<double, 3> input_spacing{};  ///< its voxel sizes (mm)
  std::array<int64_t, 3> output_shape{};  ///< the resampled grid
  /// Output voxel sizes: the target, or the input's own where it lies within 1e-3 mm of the target.
  std::array<double, 3> output_spacing{};
  /// The voxel sizes of the affine MONAI records for the resampled image (input spacing times the
  /// voxel-to-voxel scale); its inverse samples from these.
  std::array<double, 3> recorded_spacing{};
  /// True when MONAI leaves the image as it is (affine within rtol 1e-5 / atol 1e-3 and the same
  /// shape): no interpolation either way.
  bool identity = false;
  at::Tensor output_affine;  ///< 4x4 float64 voxel -> RAS mm of the resampled grid (origin kept)
};

/// The plan for resampling a grid of `shape` with `affine` (4x4 voxel -> mm; the pipeline passes
/// the RAS-oriented one) to `target` mm. Throws swinsmt::Error for a non-positive target or an affine
/// with a zero-length axis.
SpacingPlan plan_spacing(const at::Tensor& affine, const std::array<int64_t, 3>& shape,
                         const std::array<double, 3>& target);

/// MONAI Spacing's bilinear resampling of `image` (X, Y, Z), any real dtype and layout (views read
/// in place), each value taken as float32 then computed in float64 (as MONAI does after
/// EnsureTyped(float32)), returned as float32 on the plan's output grid (border padding).
at::Tensor spacing_linear(const at::Tensor& image, const SpacingPlan& plan);

/// The inverse for labels (Invertd with nearest_interp=True): `labels` (X, Y, Z) on the plan's output
/// grid, back onto its input grid by nearest neighbour. Same dtype as given.
at::Tensor spacing_inverse_nearest(const at::Tensor& labels, const SpacingPlan& plan);

/// The inverse for probabilities (Invertd with nearest_interp=False, then AsDiscrete argmax):
/// `probabilities` (C, X, Y, Z) on the plan's output grid, each channel resampled linearly onto its
/// input grid (float64 weights, border padding, as spacing_linear), argmax over the channels (the
/// first of equal maxima). Returns uint8 labels (X, Y, Z) on the input grid; besides them it holds
/// nothing of the input grid's size. Throws swinsmt::Error for a wrong shape or more than 256 channels.
/// (Segmenter::segment computes the same labels, bit for bit, plane by plane from the cells of the
/// sliding windows as they finish, without the model grid's probabilities whole.)
at::Tensor spacing_inverse_linear_argmax(const at::Tensor& probabilities, const SpacingPlan& plan);

}  // namespace swinsmt
