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

at::Tensor scale_intensity(const at::Tensor& hu, double hu_min, double hu_max, double b_min, double b_max, bool clip) {
  if (!(hu_min < hu_max))
    throw Error("the HU window must have min < max, got " + std::to_string(hu_min) + " .. " + std::to_string(hu_max));
  // The same operations, in the same order and precision, as MONAI ScaleIntensityRange on float32.
  at::Tensor x = hu.to(at::kFloat);
  x = (x - hu_min) / (hu_max - hu_min);
  x = x * (b_max - b_min) + b_min;
  return clip ? x.clamp(b_min, b_max) : x;
}

int64_t replace_non_finite(at::Tensor& data, double hu) {
  if (!data.is_floating_point()) return 0;
  const at::Tensor bad = at::isfinite(data).logical_not_();
  const int64_t count = bad.sum().item<int64_t>();
  if (count > 0) data.masked_fill_(bad, hu);
  return count;
}

}  // namespace swinsmt
