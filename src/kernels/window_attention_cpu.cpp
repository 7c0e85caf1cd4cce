#include "kernels/window_attention_cpu.hpp"

#include "kernels/cpu_matmul.hpp"
#include "kernels/vector_exp.hpp"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cstdint>
#include <vector>

namespace swinsmt::detail {
namespace {

// scores (n x n, row-major) += bias (+ the shift mask: -100 where tokens i and j lie in different
// regions, the official mask's value, added after the bias as there); then softmax along each row, in
// place. regions: the window's n region ids, or null where they are all one region (a mask of zeros).
SWINSMT_ISA_CLONES
void biased_softmax_rows(float* scores, const float* bias, const int32_t* regions, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    float* row = scores + i * n;
    const float* b = bias + i * n;
    float m = minus_infinity;
    if (regions != nullptr) {
      const int32_t own = regions[i];
#pragma omp simd reduction(max : m)
      for (int64_t j = 0; j < n; ++j) {
        const float v = row[j] + b[j] + (regions[j] != own ? -100.0f : 0.0f);
        row[j] = v;
        m = v > m ? v : m;
      }
    } else {
#pragma omp simd reduction(max : m)
      for (int64_t j = 0; j < n; ++j) {
        const float v = row[j] + b[j];
        row[j] = v;
        m = v > m ? v : m;
      }
    }
    float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
    for (int64_t j = 0; j < n; ++j) {
      const float e = exp_poly(row[j] - m);
      row[j] = e;
      sum += e;
    }
    const float inv = 1.0f / sum;
#pragma omp simd
    for (int64_t j = 0; j < n; ++j) row[j] *= inv;
  }
}

}  // namespace

void fused_window_attention(const at::Tensor& qkv, const at::Tensor& bias, const at::Tensor& region_ids, int64_t heads,
                            double scale, at::Tensor& out) {
  const int64_t windows = qkv.size(0), n = qkv.size(1), c = qkv.size(2) / 3, hd = c / heads;
  TORCH_INTERNAL_ASSERT(qkv.is_contiguous() && bias.is_contiguous() && out.is_contiguous());
  TORCH_INTERNAL_ASSERT(!region_ids.defined() || (region_ids.is_contiguous() && region_ids.scalar_type() == at::kInt &&
                                                  region_ids.size(0) == windows && region_ids.size(1) == n));
  const float* qkv_data = qkv.data_ptr<float>();
  const float* bias_data = bias.data_ptr<float>();
  // Per window, its ids, or null where the window lies in one region (most windows: its mask is 0).
  std::vector<const int32_t*> regions(static_cast<size_t>(windows), nullptr);
  if (region_ids.defined()) {
    const int32_t* ids = region_ids.data_ptr<int32_t>();
    for (int64_t w = 0; w < windows; ++w) {
      const int32_t* own = ids + w * n;
      if (std::any_of(own, own + n, [&](int32_t id) { return id != own[0]; })) regions[w] = own;
    }
  }
  float* out_data = out.data_ptr<float>();
  const auto alpha = static_cast<float>(scale);
  // One item is a (window, head) pair; inside a parallel region oneDNN's sgemm runs single-threaded.
  at::parallel_for(0, windows * heads, 1, [&](int64_t begin, int64_t end) {
    std::vector<float> scores(static_cast<size_t>(n * n));
    for (int64_t item = begin; item < end; ++item) {
      const int64_t w = item / heads, h = item % heads;
      const float* q = qkv_data + w * n * 3 * c + h * hd;  // rows of length hd, stride 3c
      const float* k = q + c;
      const float* v = q + 2 * c;
      onednn_sgemm('N', 'T', n, n, hd, alpha, q, 3 * c, k, 3 * c, 0.0f, scores.data(), n);  // scale q k^T
      biased_softmax_rows(scores.data(), bias_data + h * n * n, regions[w], n);
      onednn_sgemm('N', 'N', n, hd, n, 1.0f, scores.data(), n, v, 3 * c, 0.0f, out_data + w * n * c + h * hd, c);
    }
  });
}

}  // namespace swinsmt::detail
