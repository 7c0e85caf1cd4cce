#pragma once
// The body's bounding box on a CT, for `--crop body`: sliding windows only where the patient is.
// Not part of the official pipeline (which runs windows over the whole grid), so opt-in.

#include <ATen/core/Tensor.h>

#include <array>
#include <cstdint>
#include <optional>

namespace swinsmt {

/// Half-open index ranges [begin, end) along each axis.
using Box3 = std::array<std::array<int64_t, 2>, 3>;

/// The bounding box of the largest 6-connected component of voxels above `threshold_hu` in `hu`
/// (X, Y, Z; HU), or nullopt when no voxel is above it. The table, the air and small objects outside
/// the body are separate components and left out.
std::optional<Box3> body_box(const at::Tensor& hu, double threshold_hu = -500.0);

/// `box` grown by `margin` voxels on every side along each axis, clipped to `shape`.
Box3 grow_box(const Box3& box, const std::array<int64_t, 3>& margin, const std::array<int64_t, 3>& shape);

}  // namespace swinsmt
