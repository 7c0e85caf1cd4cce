#pragma once
// Shifted-window geometry of the 3-D Swin transformer, exactly as the official code computes it:
// window shrinking for small stages, window partition/reverse, padding and the cyclic shift (the
// shift mask: shift_mask.hpp).

#include <ATen/core/Tensor.h>

#include <array>
#include <cstdint>

namespace swinsmt {

using Size3 = std::array<int64_t, 3>;

struct WindowGeometry {
  Size3 window;  ///< window actually used (shrunk to the stage size where that is <= the window)
  Size3 shift;   ///< shift actually used (0 where the window was shrunk)
  bool shifted() const { return shift[0] > 0 || shift[1] > 0 || shift[2] > 0; }
};

/// Official get_window_size: where a stage dimension is <= the window, the window becomes that
/// dimension and the shift 0.
WindowGeometry window_geometry(const Size3& stage, const Size3& window, const Size3& shift);

/// (B, D, H, W, C) with D, H, W multiples of `window` -> (B * nW, wd*wh*ww, C).
at::Tensor window_partition(const at::Tensor& x, const Size3& window);
/// Inverse of window_partition: (B * nW, wd*wh*ww, C) -> (B, D, H, W, C).
at::Tensor window_reverse(const at::Tensor& windows, const Size3& window, int64_t b, const Size3& dims);

/// The official way into a shifted-window attention, in one copy instead of three: zero padding of
/// D, H, W at the back up to multiples of `window`, torch.roll by -shift over D, H, W, then
/// window_partition. (B, D, H, W, C) -> (B * nW, wd*wh*ww, C) over the padded stage.
at::Tensor pad_shift_partition(const at::Tensor& x, const Size3& window, const Size3& shift);
/// The way back, in one copy: window_reverse, torch.roll by +shift, and the crop of the padding.
/// (B * nW, wd*wh*ww, C) -> contiguous (B, D, H, W, C) with D, H, W = `dims` (unpadded).
at::Tensor reverse_shift_crop(const at::Tensor& windows, const Size3& window, const Size3& shift, int64_t b,
                              const Size3& dims);

/// Rounds each of `dims` up to a multiple of `window` (the padded stage a shifted block attends over).
Size3 padded_dims(const Size3& dims, const Size3& window);

/// Relative position index of a full window (official buffer `relative_position_index`), int64 (n, n).
at::Tensor relative_position_index(const Size3& window);

}  // namespace swinsmt
