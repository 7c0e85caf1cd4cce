#pragma once
// The shift mask of a shifted-window stage (official compute_mask), kept as each window's token
// region ids instead of the (nW, n, n) additive floats the official code builds: at a 128^3 window's
// first stage (1000 windows of 343 tokens) 1.4 MB instead of 470 MB, which were allocated, filled
// and paged in again for every window.

#include <swinsmt/nn/windows.hpp>

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include <cstdint>
#include <optional>

namespace swinsmt {

class ShiftMask {
 public:
  /// Official compute_mask's region ids for a padded stage `dims` (multiples of `window`): regions
  /// from the Python slices (:-w), (-w:-s), (-s:) per axis, numbered as the official loops number
  /// them, partitioned into windows. ids: (nW, n) int32 on `device`.
  ShiftMask(const Size3& dims, const Size3& window, const Size3& shift, c10::Device device);

  /// (nW, n) int32: the region of each token of each window.
  const at::Tensor& region_ids() const { return region_ids_; }
  int64_t windows() const { return region_ids_.size(0); }
  int64_t tokens() const { return region_ids_.size(1); }

  /// Windows [first, first + count) of the official additive mask, (count, n, n) of `dtype` on the
  /// ids' device: 0 where two tokens of a window share a region, -100 where they do not.
  at::Tensor additive(int64_t first, int64_t count, at::ScalarType dtype = at::kFloat) const;
  /// The whole additive mask, (nW, n, n).
  at::Tensor additive(at::ScalarType dtype = at::kFloat) const { return additive(0, windows(), dtype); }

 private:
  at::Tensor region_ids_;
};

/// The mask a stage of spatial size `stage` passes to its shifted blocks (official BasicLayer):
/// shift = window / 2, geometry shrunk to the stage, mask over the padded stage; none when the
/// shrunk geometry does not shift at all.
std::optional<ShiftMask> stage_shift_mask(const Size3& stage, const Size3& window, c10::Device device);

}  // namespace swinsmt
