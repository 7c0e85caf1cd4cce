#include <swinsmt/pipeline/preprocess.hpp>

#include <swinsmt/error.hpp>

#include <ATen/ATen.h>

#include <cmath>
#include <limits>

namespace swinsmt {

AxisOrientation io_orientation(const at::Tensor& affine) {
  // Follows nibabel.orientations.io_orientation step by step (float64).
  at::Tensor rzs = affine.to(at::kCPU, at::kDouble).slice(0, 0, 3).slice(1, 0, 3).clone();
  at::Tensor zooms = rzs.pow(2).sum(0).sqrt();
  zooms.masked_fill_(zooms == 0, 1.0);
  const at::Tensor rs = rzs / zooms;
  at::Tensor u, s, vh;
  std::tie(u, s, vh) = at::linalg_svd(rs, /*full_matrices=*/false);
  const double tol = s.max().item<double>() * 3 * std::numeric_limits<double>::epsilon();
  const at::Tensor keep = s > tol;
  at::Tensor r = u.index({at::indexing::Slice(), keep}).matmul(vh.index({keep})).contiguous();
  double* m = r.data_ptr<double>();
  AxisOrientation out;
  bool assigned[3] = {false, false, false};
  for (int in_ax = 0; in_ax < 3; ++in_ax) {
    int best = -1;
    double best_abs = 0;
    for (int row = 0; row < 3; ++row)
      if (std::abs(m[row * 3 + in_ax]) > best_abs) {  // first maximum wins ties, as np.argmax
        best = row;
        best_abs = std::abs(m[row * 3 + in_ax]);
      }
    if (best < 0 || best_abs < 1e-8)
      throw Error("the image affine is degenerate: index axis " + std::to_string(in_ax) + " has no direction");
    out[in_ax] = {best, m[best * 3 + in_ax] < 0 ? -1 : 1};
    assigned[best] = true;
    for (int col = 0; col < 3; ++col) m[best * 3 + col] = 0;  // each world axis is used once
  }
  if (!(assigned[0] && assigned[1] && assigned[2])) throw Error("the image affine is degenerate (rank < 3)");
  return out;
}

bool is_ras(const AxisOrientation& o) {
  for (int i = 0; i < 3; ++i)
    if (o[i].world_axis != i || o[i].sign != 1) return false;
  return true;
}

OrientedImage orient_to_ras(const at::Tensor& data, const at::Tensor& affine) {
  const AxisOrientation o = io_orientation(affine);
  const int64_t lead = data.dim() - 3;
  TORCH_CHECK(lead >= 0, "orient_to_ras needs at least 3 dimensions");
  // MONAI flips first (over the input axes), then permutes with argsort(world_axis).
  std::vector<int64_t> flips;
  for (int i = 0; i < 3; ++i)
    if (o[i].sign < 0) flips.push_back(lead + i);
  at::Tensor out = flips.empty() ? data : data.flip(flips);
  std::vector<int64_t> perm;
  for (int64_t d = 0; d < lead; ++d) perm.push_back(d);
  int source_of_world[3];
  for (int i = 0; i < 3; ++i) source_of_world[o[i].world_axis] = i;
  for (const int source : source_of_world) perm.push_back(lead + source);
  out = out.permute(perm);

  // New affine: world axis w is indexed by input axis i = source_of_world[w]; a flipped axis starts
  // at the other end of the grid.
  const at::Tensor a = affine.to(at::kCPU, at::kDouble);
  at::Tensor b = at::eye(4, at::kDouble);
  at::Tensor origin = a.select(1, 3).clone();
  for (int w = 0; w < 3; ++w) {
    const int i = source_of_world[w];
    const at::Tensor column = a.select(1, i).slice(0, 0, 3);
    if (o[i].sign < 0) origin.slice(0, 0, 3).add_(column * static_cast<double>(data.size(lead + i) - 1));
    b.select(1, w).slice(0, 0, 3).copy_(column * static_cast<double>(o[i].sign));
  }
  b.select(1, 3).copy_(origin);
  return {out, b};
}

at::Tensor orient_from_ras(const at::Tensor& ras_data, const AxisOrientation& o) {
  const int64_t lead = ras_data.dim() - 3;
  TORCH_CHECK(lead >= 0, "orient_from_ras needs at least 3 dimensions");
  // Undo the permutation (input axis i was placed at position world_axis(i)), then the flips.
  std::vector<int64_t> perm;
  for (int64_t d = 0; d < lead; ++d) perm.push_back(d);
  for (int i = 0; i < 3; ++i) perm.push_back(lead + o[i].world_axis);
  at::Tensor out = ras_data.permute(perm);
  std::vector<int64_t> flips;
  for (int i = 0; i < 3; ++i)
    if (o[i].sign < 0) flips.push_back(lead + i);
  return flips.empty() ? out : out.flip(flips);
}

std::array<int64_t, 3> resampled_shape(const std::array<int64_t, 3>& shape, const std::array<double, 3>& from_spacing,
                                       const std::array<double, 3>& to_spacing) {
  std::array<int64_t, 3> out{};
  for (int d = 0; d < 3; ++d) {
    if (!(from_spacing[d] > 0) || !(to_spacing[d] > 0))
      throw Error("voxel spacing must be positive, got " + std::to_string(from_spacing[d]) + " -> " +
                  std::to_string(to_spacing[d]) + " mm");
    // The small epsilon keeps exact multiples (e.g. 3 mm -> 1.5 mm) from losing a voxel to rounding.
    out[d] = static_cast<int64_t>(std::floor((shape[d] - 1) * from_spacing[d] / to_spacing[d] + 1e-6)) + 1;
  }
  return out;
}

namespace {

/// Linear interpolation along one dimension at fractional input positions (float64, in range).
at::Tensor interpolate_axis(const at::Tensor& x, int64_t dim, const at::Tensor& positions) {
  const int64_t n = x.size(dim);
  at::Tensor lower = positions.floor().clamp(0, n - 1);
  at::Tensor upper = (lower + 1).clamp(0, n - 1);
  std::vector<int64_t> shape(x.dim(), 1);
  shape[dim] = positions.size(0);
  const at::Tensor weight = (positions - lower).to(x.scalar_type()).view(shape);
  const at::Tensor a = x.index_select(dim, lower.to(at::kLong));
  const at::Tensor b = x.index_select(dim, upper.to(at::kLong));
  return a + (b - a) * weight;
}

}  // namespace

at::Tensor resample_linear(const at::Tensor& data, const std::array<double, 3>& from_spacing,
                           const std::array<double, 3>& to_spacing) {
  const int64_t lead = data.dim() - 3;
  const auto shape =
      resampled_shape({data.size(lead), data.size(lead + 1), data.size(lead + 2)}, from_spacing, to_spacing);
  at::Tensor out = data;
  for (int d = 0; d < 3; ++d) {
    if (shape[d] == data.size(lead + d) && from_spacing[d] == to_spacing[d]) continue;
    const at::Tensor positions = at::arange(shape[d], at::TensorOptions().dtype(at::kDouble).device(data.device())) *
                                 (to_spacing[d] / from_spacing[d]);
    out = interpolate_axis(out, lead + d, positions.clamp_max(static_cast<double>(data.size(lead + d) - 1)));
  }
  return out;
}

at::Tensor resample_nearest(const at::Tensor& data, const std::array<double, 3>& from_spacing,
                            const std::array<double, 3>& to_spacing, const std::array<int64_t, 3>& shape) {
  const int64_t lead = data.dim() - 3;
  at::Tensor out = data;
  for (int d = 0; d < 3; ++d) {
    const int64_t n = data.size(lead + d);
    if (shape[d] == n && from_spacing[d] == to_spacing[d]) continue;
    const at::Tensor index = (at::arange(shape[d], at::TensorOptions().dtype(at::kDouble).device(data.device())) *
                              (to_spacing[d] / from_spacing[d]))
                                 .add(0.5)
                                 .floor()  // ties go up, so every coarse voxel covers a regular block
                                 .clamp(0, n - 1)
                                 .to(at::kLong);
    out = out.index_select(lead + d, index);
  }
  return out;
}

at::Tensor rescale_affine(const at::Tensor& affine, const std::array<double, 3>& to_spacing) {
  at::Tensor out = affine.to(at::kCPU, at::kDouble).clone();
  for (int c = 0; c < 3; ++c) {
    at::Tensor column = out.select(1, c).slice(0, 0, 3);
    const double norm = column.norm().item<double>();
    if (norm > 0) column.mul_(to_spacing[c] / norm);
  }
  return out;
}

at::Tensor scale_intensity(const at::Tensor& hu, double hu_min, double hu_max) {
  if (!(hu_min < hu_max))
    throw Error("the HU window must have min < max, got " + std::to_string(hu_min) + " .. " + std::to_string(hu_max));
  // The same operations, in the same order and precision, as MONAI ScaleIntensityRange on float32.
  at::Tensor x = hu.to(at::kFloat);
  x = (x - hu_min) / (hu_max - hu_min);
  x = x * 1.0 + 0.0;
  return x.clamp(0.0, 1.0);
}

int64_t replace_non_finite(at::Tensor& data, double hu) {
  if (!data.is_floating_point()) return 0;
  const at::Tensor bad = at::isfinite(data).logical_not_();
  const int64_t count = bad.sum().item<int64_t>();
  if (count > 0) data.masked_fill_(bad, hu);
  return count;
}

}  // namespace swinsmt
