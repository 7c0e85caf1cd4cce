#pragma once
// spacing_inverse_linear_argmax (Invertd(nearest_interp=False) + argmax) fed box by box: the model
// grid's probabilities arrive as the sliding windows finish their cells (SlidingWindowInferer::
// for_each_cell, slab after slab along the first axis), and each plane of the input grid is
// interpolated and argmaxed as soon as the two model-grid planes its taps read are complete. So only
// the model-grid planes between the last one still read and the last one received are held, not the
// whole grid's probabilities: with the windows in MONAI's order, about one window step and at most
// one window's depth plus one plane (the last row of windows finishes all of its planes at once).
// Every value is computed as spacing_inverse_linear_argmax computes it (spacing_taps.hpp): the
// labels are the same, bit for bit. Internal to pipeline/.

#include <swinsmt/pipeline/body_crop.hpp>
#include <swinsmt/pipeline/spacing.hpp>

#include <ATen/core/Tensor.h>
#include <c10/util/Optional.h>

#include <array>
#include <cstdint>
#include <map>
#include <vector>

#include "spacing_taps.hpp"

namespace swinsmt::detail {

class InverseLinearArgmax {
 public:
  /// `plan`: the model grid (its output grid) back to the input grid as spacing_inverse_linear_argmax
  /// resamples it; none, or an identity plan: the input grid is the model grid and the labels are the
  /// argmax there. `model_grid`: the RAS grid the network saw. `region`: the box of it whose
  /// probabilities will be added; every voxel outside it is background with probability 1 (as
  /// Segmenter::probabilities fills a body crop). Throws swinsmt::Error for more than 256 channels or
  /// a plan whose output grid is not `model_grid`.
  InverseLinearArgmax(const c10::optional<SpacingPlan>& plan, const std::array<int64_t, 3>& model_grid,
                      const Box3& region, int64_t channels);

  /// Adds the probabilities (C, *box) of the model-grid box starting at `begin` (inside the region;
  /// each voxel once, in any order), and computes every input-grid plane that became computable.
  void add(const std::array<int64_t, 3>& begin, const at::Tensor& probabilities);

  /// The uint8 labels (X, Y, Z) on the input grid (RAS order), once every voxel of the region was
  /// added. Throws swinsmt::Error before that.
  at::Tensor labels();

  /// Bytes of model-grid probabilities held now and at most so far (the label map not counted).
  int64_t held_bytes() const { return held_bytes_; }
  int64_t peak_held_bytes() const { return peak_bytes_; }

 private:
  /// Model plane x as (C, Y, Z) float32, made (background outside the region) when first asked for.
  at::Tensor& plane(int64_t x);
  void compute_ready_planes();

  bool resample_ = false;
  std::array<int64_t, 3> model_{}, input_{};
  Box3 region_{};
  int64_t channels_ = 0;
  std::array<Taps, 3> taps_;
  at::Tensor labels_;
  std::map<int64_t, at::Tensor> planes_;  ///< model-grid planes along the first axis still to be read, by index
  std::vector<int64_t> missing_;          ///< per model plane: region voxels not yet added
  int64_t complete_end_ = 0;              ///< every model plane before it is complete
  int64_t next_input_plane_ = 0;          ///< the next input-grid plane to compute
  int64_t needed_from_ = 0;               ///< the first model plane it (and every later one) reads
  int64_t added_voxels_ = 0, region_voxels_ = 0;
  int64_t held_bytes_ = 0, peak_bytes_ = 0;
};

}  // namespace swinsmt::detail
