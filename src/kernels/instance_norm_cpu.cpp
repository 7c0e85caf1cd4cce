#include "kernels/instance_norm_cpu.hpp"

#include "kernels/autograd_guard.hpp"
#include "kernels/vector_exp.hpp"  // SWINSMT_ISA_CLONES

#include <ATen/Parallel.h>
#include <c10/util/Exception.h>

#include <algorithm>
#include <cmath>

namespace swinsmt::detail {

bool instance_norm_cpu_applies(const at::Tensor& x) {
  return x.defined() && x.device().is_cpu() && x.scalar_type() == at::kFloat && x.dim() >= 3 && x.is_contiguous() &&
         x.numel() > 0 && !records_gradient({x});
}

namespace {

// Cloned per instruction set (vector_exp.hpp says why): the library is built for baseline x86-64.
SWINSMT_ISA_CLONES
void plane_moments(const float* x, int64_t n, double& sum_out, double& squares_out) {
  double sum = 0, squares = 0;
#pragma omp simd reduction(+ : sum, squares)
  for (int64_t i = 0; i < n; ++i) {
    const double v = x[i];
    sum += v;
    squares += v * v;
  }
  sum_out = sum;
  squares_out = squares;
}

// (x - mean) * scale rather than x * scale + shift: where the mean is large against the spread,
// the rounding of a large shift would show in the result (a constant plane gives exactly 0).
SWINSMT_ISA_CLONES
void normalise_plane(float* x, int64_t n, float mean, float scale) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) x[i] = (x[i] - mean) * scale;
}

SWINSMT_ISA_CLONES
void normalise_plane_leaky(float* x, int64_t n, float mean, float scale, float slope) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) {
    const float y = (x[i] - mean) * scale;
    x[i] = y > 0.0f ? y : y * slope;
  }
}

}  // namespace

void instance_norm_cpu_(at::Tensor& x, double eps, std::optional<double> leaky_slope) {
  TORCH_CHECK(instance_norm_cpu_applies(x), "instance_norm_cpu_: needs a contiguous float32 CPU tensor");
  const int64_t planes = x.size(0) * x.size(1), n = x.numel() / planes;
  float* const data = x.data_ptr<float>();
  // Small planes (the deepest stages) are grouped so that a thread gets at least ~32k elements.
  const int64_t grain = std::max<int64_t>(1, (int64_t{1} << 15) / n);
  at::parallel_for(0, planes, grain, [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p) {
      float* const plane = data + p * n;
      double sum = 0, squares = 0;
      plane_moments(plane, n, sum, squares);
      const double mean = sum / static_cast<double>(n);
      const double variance = std::max(0.0, squares / static_cast<double>(n) - mean * mean);
      const auto scale = static_cast<float>(1.0 / std::sqrt(variance + eps));
      if (leaky_slope) {
        normalise_plane_leaky(plane, n, static_cast<float>(mean), scale, static_cast<float>(*leaky_slope));
      } else {
        normalise_plane(plane, n, static_cast<float>(mean), scale);
      }
    }
  });
}

}  // namespace swinsmt::detail
