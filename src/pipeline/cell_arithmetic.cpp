// Compiled with -ffp-contract=off (src/CMakeLists.txt): a fused multiply-add would round
// prediction * weight + sum once instead of twice and so differ from MONAI's sums in the last bit.
#include "cell_arithmetic.hpp"

#include "common/isa_clones.hpp"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <cstdint>

namespace swinsmt::detail {
namespace {

/// The float32 CPU layouts the loops below take: 3 spatial dimensions, the last one contiguous.
bool fused_layout(std::initializer_list<const at::Tensor*> tensors, at::ScalarType dtype) {
  for (const at::Tensor* t : tensors)
    if (!t->device().is_cpu() || t->scalar_type() != dtype || t->dim() != 5 || t->stride(4) != 1) return false;
  return true;
}

/// `a` and `b` cover the same box (their last three sizes).
bool same_box(const at::Tensor& a, const at::Tensor& b) {
  return a.sizes().slice(a.dim() - 3) == b.sizes().slice(b.dim() - 3);
}

SWINSMT_ISA_CLONES
void add_weighted_row(float* sum, const float* prediction, const float* weight, int64_t n) {
#pragma omp simd
  for (int64_t k = 0; k < n; ++k) sum[k] += prediction[k] * weight[k];
}

/// labels[k] = argmax over c of sum[c * channel_stride + k] / count[k], for k < n.
SWINSMT_ISA_CLONES
void mean_argmax_row(const float* sum, int64_t channel_stride, const float* count, int64_t channels, int64_t n,
                     uint8_t* labels) {
  constexpr int64_t kRun = 256;
  alignas(64) float best[kRun];
  alignas(64) int32_t index[kRun];
  for (int64_t k0 = 0; k0 < n; k0 += kRun) {
    const int64_t m = std::min(kRun, n - k0);
    const float* q = count + k0;
#pragma omp simd
    for (int64_t k = 0; k < m; ++k) {
      best[k] = sum[k0 + k] / q[k];
      index[k] = 0;
    }
    for (int64_t c = 1; c < channels; ++c) {
      const float* sc = sum + c * channel_stride + k0;
#pragma omp simd
      for (int64_t k = 0; k < m; ++k) {
        const float v = sc[k] / q[k];
        // at::argmax: a larger value, or the first NaN, replaces the best; ties keep the first.
        const bool take = v > best[k] || (v != v && best[k] == best[k]);
        best[k] = take ? v : best[k];
        index[k] = take ? static_cast<int32_t>(c) : index[k];
      }
    }
    for (int64_t k = 0; k < m; ++k) labels[k0 + k] = static_cast<uint8_t>(index[k]);
  }
}

}  // namespace

void add_weighted(const at::Tensor& sum, const at::Tensor& prediction, const at::Tensor& weight) {
  if (!fused_layout({&sum, &prediction, &weight}, at::kFloat) || sum.sizes() != prediction.sizes() ||
      weight.size(1) != 1 || !same_box(weight, sum)) {
    sum.add_(prediction * weight);
    return;
  }
  const int64_t channels = sum.size(1), n0 = sum.size(2), n1 = sum.size(3), n2 = sum.size(4);
  float* const s = sum.data_ptr<float>();
  const float* const p = prediction.data_ptr<float>();
  const float* const w = weight.data_ptr<float>();
  // One channel's slice of the box per task: every thread streams through its own part of the sums.
  at::parallel_for(0, channels * n0, 1, [&](int64_t begin, int64_t end) {
    for (int64_t task = begin; task < end; ++task) {
      const int64_t c = task / n0, i = task % n0;
      for (int64_t j = 0; j < n1; ++j)
        add_weighted_row(s + c * sum.stride(1) + i * sum.stride(2) + j * sum.stride(3),
                         p + c * prediction.stride(1) + i * prediction.stride(2) + j * prediction.stride(3),
                         w + i * weight.stride(2) + j * weight.stride(3), n2);
    }
  });
}

void mean_argmax(const at::Tensor& sum, const at::Tensor& count, const at::Tensor& labels) {
  if (!fused_layout({&sum, &count}, at::kFloat) || labels.dim() != 3 || labels.scalar_type() != at::kByte ||
      !labels.device().is_cpu() || labels.stride(2) != 1 || sum.size(1) > 256 || count.size(1) != 1 ||
      !same_box(count, sum) || !same_box(labels, sum)) {
    labels.copy_(sum.div(count).argmax(1)[0].to(at::kByte));
    return;
  }
  const int64_t channels = sum.size(1), n0 = sum.size(2), n1 = sum.size(3), n2 = sum.size(4);
  const float* const s = sum.data_ptr<float>();
  const float* const q = count.data_ptr<float>();
  uint8_t* const out = labels.data_ptr<uint8_t>();
  // One row of the box at a time, channels outermost so every load is a contiguous run.
  at::parallel_for(0, n0 * n1, 1, [&](int64_t begin, int64_t end) {
    for (int64_t row = begin; row < end; ++row) {
      const int64_t i = row / n1, j = row % n1;
      mean_argmax_row(s + i * sum.stride(2) + j * sum.stride(3), sum.stride(1),
                      q + i * count.stride(2) + j * count.stride(3), channels, n2,
                      out + i * labels.stride(0) + j * labels.stride(1));
    }
  });
}

}  // namespace swinsmt::detail
