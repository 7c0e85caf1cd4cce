#pragma once
// The linear interpolation that spacing.cpp (MONAI Spacing and its Invertd inverse) and the streamed
// inverse of the probabilities (inverse_linear_stream.cpp) share, so that both compute every value
// with the same float64 operations in the same order: bit for bit the same labels whether the model
// grid's probabilities are resampled whole or plane by plane. Both files are compiled with
// -ffp-contract=off (src/CMakeLists.txt): one rounding per operation, as ATen's grid_sample.
// Internal to pipeline/.

#include <ATen/ATen.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <vector>

namespace swinsmt::detail {

/// Input positions (clamped to the grid: border padding) of the output voxels along one axis, as
/// grid_sample unnormalises affine_grid's coordinates. `sampled` is the voxel size of the grid read,
/// `output` that of the grid written; both share their first voxel centre.
inline std::vector<double> sample_positions(double sampled, double output, int64_t n_in, int64_t n_out) {
  // theta = normalise_in @ inv(sampled affine) @ output affine @ inv(normalise_out), as MONAI builds it.
  const double r = 1.0 / sampled;
  const double x_aa = output * r;
  const double x_a3 = 0.0 * r;  // same origin
  const double p_aa = (2.0 / static_cast<double>(n_in)) * x_aa;
  const double p_a3 = (2.0 / static_cast<double>(n_in)) * x_a3 + (1.0 / static_cast<double>(n_in) - 1.0);
  const double i_aa = 1.0 / (2.0 / static_cast<double>(n_out));
  const double i_a3 = -(1.0 / static_cast<double>(n_out) - 1.0) * i_aa;
  const double t_aa = p_aa * i_aa;
  const double t_a3 = p_aa * i_a3 + p_a3;
  // affine_grid's base coordinates: linspace(-1, 1, n) * (n - 1) / n (align_corners=False), through
  // at::linspace itself, whose vectorised kernel rounds as no formula written here would.
  at::Tensor base =
      n_out > 1 ? at::linspace(-1, 1, n_out, at::kDouble).mul(n_out - 1).div(n_out) : at::zeros({1}, at::kDouble);
  const double* g = base.data_ptr<double>();
  std::vector<double> positions(static_cast<size_t>(n_out));
  const double size = static_cast<double>(n_in);
  for (int64_t j = 0; j < n_out; ++j) {
    const double coordinate = g[j] * t_aa + t_a3;
    const double p = ((coordinate + 1.0) * size - 1.0) / 2.0;  // grid_sampler_unnormalize, align_corners=False
    positions[static_cast<size_t>(j)] = std::min(size - 1.0, std::max(p, 0.0));  // clip_coordinates
  }
  return positions;
}

/// Linear interpolation taps along one axis: floor index, its weight and the next one's (which may
/// lie past the grid with weight 0 when the position is its last voxel).
struct Taps {
  std::vector<int64_t> lower;
  std::vector<double> w_lower, w_upper;
};

inline Taps linear_taps(const std::vector<double>& positions) {
  Taps t;
  for (double p : positions) {
    const double x0 = std::floor(p);
    t.lower.push_back(static_cast<int64_t>(x0));
    t.w_lower.push_back((x0 + 1.0) - p);
    t.w_upper.push_back(p - x0);
  }
  return t;
}

/// grid_sampler_3d's trilinear value at output voxel (i, j, k): ATen's (x, y, z) are our (k, j, i);
/// corners tnw, tne, tsw, tse, bnw, bne, bsw, bse, each value taken as float32 then weighted in
/// float64, corners past the grid (weight 0) skipped. The grid is read through its two planes along
/// the first axis that the taps of i need, `planes` (lower[i], lower[i] + 1; the second may be null
/// past the grid), each indexed jj * stride[0] + kk * stride[1]: the whole grid or a slab of it.
template <typename T>
double trilinear(const std::array<const T*, 2>& planes, const std::array<int64_t, 2>& stride,
                 const std::array<int64_t, 3>& n, const std::array<Taps, 3>& taps, int64_t i, int64_t j, int64_t k) {
  const int64_t i0 = taps[0].lower[i], j0 = taps[1].lower[j], k0 = taps[2].lower[k];
  const double wi[2] = {taps[0].w_lower[i], taps[0].w_upper[i]};
  const double wj[2] = {taps[1].w_lower[j], taps[1].w_upper[j]};
  const double wk[2] = {taps[2].w_lower[k], taps[2].w_upper[k]};
  double value = 0.0;
  for (int ci = 0; ci < 2; ++ci) {
    const int64_t ii = i0 + ci;
    for (int cj = 0; cj < 2; ++cj) {
      const int64_t jj = j0 + cj;
      for (int ck = 0; ck < 2; ++ck) {
        const int64_t kk = k0 + ck;
        const double weight = wk[ck] * wj[cj] * wi[ci];
        if (ii < n[0] && jj < n[1] && kk < n[2])
          value += static_cast<double>(static_cast<float>(planes[ci][jj * stride[0] + kk * stride[1]])) * weight;
      }
    }
  }
  return value;
}

/// The two planes along the first axis that the taps of output plane i read in a whole grid `src`
/// whose first-axis stride is `stride0` (the second null past the grid).
template <typename T>
std::array<const T*, 2> tap_planes(const T* src, int64_t stride0, int64_t n0, const std::array<Taps, 3>& taps,
                                   int64_t i) {
  const int64_t i0 = taps[0].lower[i];
  return {src + i0 * stride0, i0 + 1 < n0 ? src + (i0 + 1) * stride0 : nullptr};
}

/// trilinear() on a whole grid `src` with strides `stride`.
template <typename T>
double trilinear(const T* src, const std::array<int64_t, 3>& stride, const std::array<int64_t, 3>& n,
                 const std::array<Taps, 3>& taps, int64_t i, int64_t j, int64_t k) {
  return trilinear(tap_planes(src, stride[0], n[0], taps, i), {stride[1], stride[2]}, n, taps, i, j, k);
}

/// The channel with the largest trilinear() value at output voxel (i, j, k): each channel's value
/// interpolated in float64 and taken as float32 (MONAI resamples in float64 and returns float32), the
/// first of equal maxima (as argmax). Channel c reads planes[0] + c * channel_stride and
/// planes[1] + c * channel_stride.
template <typename T>
int64_t trilinear_argmax(const std::array<const T*, 2>& planes, int64_t channel_stride, int64_t channels,
                         const std::array<int64_t, 2>& stride, const std::array<int64_t, 3>& n,
                         const std::array<Taps, 3>& taps, int64_t i, int64_t j, int64_t k) {
  int64_t best = 0;
  float best_value = 0;
  for (int64_t c = 0; c < channels; ++c) {
    const std::array<const T*, 2> channel{planes[0] + c * channel_stride,
                                          planes[1] ? planes[1] + c * channel_stride : nullptr};
    const float v = static_cast<float>(trilinear(channel, stride, n, taps, i, j, k));
    if (c == 0 || v > best_value) best = c, best_value = v;
  }
  return best;
}

}  // namespace swinsmt::detail
