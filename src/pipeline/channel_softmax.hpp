#pragma once
// The softmax over the channels of a model-grid box, computed for every voxel by the same
// arithmetic whatever the box: the probabilities of a cell are then those of the whole grid, bit for
// bit. Internal to pipeline/.

#include <ATen/core/Tensor.h>

namespace swinsmt::detail {

/// softmax over dimension 0 of `logits` (C, ...), float32, any layout; returns a new contiguous
/// tensor of the same shape and device.
///
/// Why not at::softmax(logits, 0): ATen's CPU kernel computes each run of voxels with its vectorised
/// exp, except the last few voxels of each thread's share (fewer than a vector), which take the scalar
/// std::exp path and often round differently. Which voxels those are depends on the tensor's size and
/// the thread count, so a box's softmax and the whole grid's would differ there. Here the voxels go
/// through at::softmax in pieces whose length is a multiple of 64 vectors' worth per thread (the last
/// padded), so every voxel takes the vectorised path, as all but a handful do in MONAI's own softmax.
/// On other devices: at::softmax(logits, 0).
at::Tensor softmax_channels(const at::Tensor& logits);

}  // namespace swinsmt::detail
