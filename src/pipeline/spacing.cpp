// Follows monai/transforms/spatial/array.py Spacing -> functional.spatial_resample (MONAI 1.3.2)
// -> torch affine_grid + grid_sample (align_corners=False, padding "border", float64), one axis at
// a time: after orientation to RAS the voxel-to-voxel transform of an unsheared grid is diagonal, so
// every output coordinate along an axis depends on that axis alone. Each float64 operation is the
// one MONAI and ATen perform, in their order: the tests compare with MONAI's output bit for bit.
#include <swinsmt/pipeline/spacing.hpp>

#include "spacing_taps.hpp"

#include <swinsmt/error.hpp>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <cmath>
#include <string>
#include <vector>

namespace swinsmt {
namespace {

using detail::linear_taps;
using detail::sample_positions;
using detail::tap_planes;
using detail::Taps;
using detail::trilinear;
using detail::trilinear_argmax;

/// A column's length; exactly |v| when the column has one non-zero entry (as sqrt(v * v) is).
double column_norm(const at::Tensor& affine, int column) {
  double sum = 0;
  for (int r = 0; r < 3; ++r) {
    const double v = affine[r][column].item<double>();
    sum += v * v;
  }
  return std::sqrt(sum);
}

}  // namespace

SpacingPlan plan_spacing(const at::Tensor& affine_in, const std::array<int64_t, 3>& shape,
                         const std::array<double, 3>& target) {
  const at::Tensor affine = affine_in.to(at::kCPU, at::kDouble).contiguous();
  SpacingPlan plan;
  plan.input_shape = shape;
  plan.output_affine = affine.clone();
  bool close_affine = true, close_scale = true, same_shape = true;
  for (int a = 0; a < 3; ++a) {
    if (!(target[a] > 0) || !std::isfinite(target[a]))
      throw Error("resampling target spacing must be positive and finite, got " + std::to_string(target[a]) + " mm");
    const double s = column_norm(affine, a);
    if (!(s > 0)) throw Error("the image affine has a zero-length axis " + std::to_string(a) + "; cannot resample it");
    plan.input_spacing[a] = s;
    // Spacing keeps the input's own voxel size where it lies within 1e-3 mm of the target.
    const double out_d = (target[a] - 1e-3 <= s && s <= target[a] + 1e-3) ? s : target[a];
    // zoom_affine: the unit direction times the new size (s * (1 / s) is not always exactly 1).
    const double n_aa = (s * (1.0 / s)) * out_d;
    plan.output_spacing[a] = n_aa;
    // compute_shape_offset: the extent of the input corners in output voxels, rounded half to even.
    const double t = affine[a][3].item<double>();
    const double y_aa = s * (1.0 / n_aa), y_a3 = t * (1.0 / n_aa);
    const double extent = ((static_cast<double>(shape[a] - 1) * y_aa + y_a3) - y_a3) + 1.0;
    plan.output_shape[a] = static_cast<int64_t>(std::nearbyint(extent));
    if (plan.output_shape[a] < 1) plan.output_shape[a] = 1;
    // The affine MONAI records: A @ inv(A) @ N, i.e. s * (N / s) on the diagonal.
    const double x_aa = n_aa * (1.0 / s);
    plan.recorded_spacing[a] = s * x_aa;
    for (int r = 0; r < 3; ++r) plan.output_affine[r][a] = affine[r][a].item<double>() * x_aa;
    // Skip rule: allclose(A, N, rtol=1e-5, atol=1e-3) or allclose(inv(A) N, I, ...), and the same shape.
    close_affine = close_affine && std::abs(s - n_aa) <= 1e-3 + 1e-5 * std::abs(n_aa);
    close_scale = close_scale && std::abs(x_aa - 1.0) <= 1e-3 + 1e-5;
    same_shape = same_shape && plan.output_shape[a] == shape[a];
  }
  plan.identity = (close_affine || close_scale) && same_shape;
  if (plan.identity) {
    plan.output_shape = shape;
    plan.output_spacing = plan.recorded_spacing = plan.input_spacing;
    plan.output_affine = affine.clone();
  }
  return plan;
}

at::Tensor spacing_linear(const at::Tensor& image, const SpacingPlan& plan) {
  if (image.dim() != 3 || image.size(0) != plan.input_shape[0] || image.size(1) != plan.input_shape[1] ||
      image.size(2) != plan.input_shape[2])
    throw Error("spacing_linear: the image is " + c10::str(image.sizes()) + ", the plan's input grid " +
                std::to_string(plan.input_shape[0]) + " x " + std::to_string(plan.input_shape[1]) + " x " +
                std::to_string(plan.input_shape[2]));
  if (plan.identity) return image.to(at::kFloat);
  // Read in the image's own dtype and layout (a permuted view of an int16 CT costs nothing here;
  // a float64 copy of a whole-body CT would be 1.9 GB); each value becomes float64 as it is read,
  // the same numbers as converting the whole image first.
  const at::Tensor in = image.to(at::kCPU);
  const auto& n = plan.input_shape;
  const auto& m = plan.output_shape;
  std::array<Taps, 3> taps;
  for (int a = 0; a < 3; ++a)
    taps[a] = linear_taps(sample_positions(plan.input_spacing[a], plan.output_spacing[a], n[a], m[a]));
  at::Tensor out = at::empty({m[0], m[1], m[2]}, at::kFloat);
  float* dst = out.data_ptr<float>();
  const std::array<int64_t, 3> strides{in.stride(0), in.stride(1), in.stride(2)};
  AT_DISPATCH_ALL_TYPES_AND2(at::kHalf, at::kBFloat16, in.scalar_type(), "spacing_linear", [&] {
    const scalar_t* src = in.data_ptr<scalar_t>();
    at::parallel_for(0, m[0], 1, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i)
        for (int64_t j = 0; j < m[1]; ++j)
          for (int64_t k = 0; k < m[2]; ++k)
            dst[(i * m[1] + j) * m[2] + k] = static_cast<float>(trilinear(src, strides, n, taps, i, j, k));
    });
  });
  return out.to(image.device());
}

at::Tensor spacing_inverse_linear_argmax(const at::Tensor& probabilities, const SpacingPlan& plan) {
  if (probabilities.dim() != 4 || probabilities.size(1) != plan.output_shape[0] ||
      probabilities.size(2) != plan.output_shape[1] || probabilities.size(3) != plan.output_shape[2])
    throw Error("spacing_inverse_linear_argmax: the probabilities are " + c10::str(probabilities.sizes()) +
                ", the plan's output grid " + std::to_string(plan.output_shape[0]) + " x " +
                std::to_string(plan.output_shape[1]) + " x " + std::to_string(plan.output_shape[2]));
  if (probabilities.size(0) > 256)
    throw Error("spacing_inverse_linear_argmax: " + std::to_string(probabilities.size(0)) +
                " channels; uint8 labels hold at most 256");
  if (plan.identity) return probabilities.argmax(0).to(at::kByte);
  const at::Tensor in = probabilities.to(at::kCPU, at::kFloat).contiguous();
  const int64_t channels = in.size(0);
  // Invertd resamples from the recorded affine back to the input's (positions as the nearest inverse).
  const auto& n = plan.output_shape;
  const auto& m = plan.input_shape;
  std::array<Taps, 3> taps;
  for (int a = 0; a < 3; ++a)
    taps[a] = linear_taps(sample_positions(plan.recorded_spacing[a], plan.input_spacing[a], n[a], m[a]));
  // One uint8 per input voxel and nothing else: each voxel's channels are interpolated and argmaxed
  // in turn, so the input-grid probabilities (channels x input voxels x 4 bytes) never exist.
  at::Tensor out = at::empty({m[0], m[1], m[2]}, at::kByte);
  uint8_t* dst = out.data_ptr<uint8_t>();
  const float* src = in.data_ptr<float>();
  const std::array<int64_t, 3> strides{in.stride(1), in.stride(2), in.stride(3)};
  const int64_t channel_stride = in.stride(0);
  at::parallel_for(0, m[0], 1, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const auto planes = tap_planes(src, strides[0], n[0], taps, i);
      for (int64_t j = 0; j < m[1]; ++j)
        for (int64_t k = 0; k < m[2]; ++k)
          dst[(i * m[1] + j) * m[2] + k] = static_cast<uint8_t>(
              trilinear_argmax(planes, channel_stride, channels, {strides[1], strides[2]}, n, taps, i, j, k));
    }
  });
  return out.to(probabilities.device());
}

at::Tensor spacing_inverse_nearest(const at::Tensor& labels, const SpacingPlan& plan) {
  if (labels.dim() != 3 || labels.size(0) != plan.output_shape[0] || labels.size(1) != plan.output_shape[1] ||
      labels.size(2) != plan.output_shape[2])
    throw Error("spacing_inverse_nearest: the labels are " + c10::str(labels.sizes()) + ", the plan's output grid " +
                std::to_string(plan.output_shape[0]) + " x " + std::to_string(plan.output_shape[1]) + " x " +
                std::to_string(plan.output_shape[2]));
  if (plan.identity) return labels;
  at::Tensor out = labels;
  for (int a = 0; a < 3; ++a) {
    // Invertd resamples from the recorded affine back to the input's, the same chain in reverse.
    const auto positions =
        sample_positions(plan.recorded_spacing[a], plan.input_spacing[a], plan.output_shape[a], plan.input_shape[a]);
    std::vector<int64_t> index;
    index.reserve(positions.size());
    // LibTorch 1.13's 3-D nearest grid_sample rounds with std::round: halves away from zero.
    for (double p : positions) index.push_back(static_cast<int64_t>(std::round(p)));
    out = out.index_select(a, at::tensor(index, at::kLong).to(labels.device()));
  }
  return out;
}

}  // namespace swinsmt
