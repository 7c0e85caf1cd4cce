#pragma once
// An exp the compiler can vectorise, for the softmax loops of the CPU kernels (Soft MoE tiles,
// window attention). libm's expf is a call per element; with -ffast-math GCC would call libmvec,
// but fast-math also drops the -inf/NaN handling the masked softmaxes rely on. Loops using it are
// compiled with -fopenmp-simd (`omp simd` reductions, no OpenMP runtime) and, on x86-64, cloned per
// instruction set (SWINSMT_ISA_CLONES, common/isa_clones.hpp).

#include "common/isa_clones.hpp"

#include <cstdint>
#include <cstring>
#include <limits>

namespace swinsmt::detail {

constexpr float minus_infinity = -std::numeric_limits<float>::infinity();

// Cephes expf: exp(x) = 2^k exp(r), k = round(x / ln 2), |r| <= ln(2)/2, degree-6 minimax
// polynomial for exp(r), ln 2 split in two for an exact k*ln2. Error <= 2 ulp on the normal range.
inline float exp_poly(float x) {
  constexpr float log2e = 1.44269504088896341f;
  constexpr float ln2_hi = 0.693359375f, ln2_lo = -2.12194440e-4f;
  constexpr float lowest_normal = -87.3365447505531f;  // ln(FLT_MIN)
  constexpr float highest = 88.0f;                     // 2^k stays finite: k <= 127
  constexpr float round_shift = 12582912.0f;           // 1.5 * 2^23: adding it rounds to an integer
  // Comparisons written so NaN takes the clamp's branch (no float->int conversion of NaN below).
  float xc = x > lowest_normal ? x : lowest_normal;
  xc = xc < highest ? xc : highest;
  const float k = (xc * log2e + round_shift) - round_shift;
  const float r = (xc - k * ln2_hi) - k * ln2_lo;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  const int32_t bits = (static_cast<int32_t>(k) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  const float y = p * scale;
  if (x != x) return x;  // NaN stays NaN
  return x < lowest_normal ? 0.0f : y;
}

}  // namespace swinsmt::detail
