// Two fused passes over a tile of Soft MoE logits (see soft_moe_block_softmax.hpp). The loops are
// written for the compiler to vectorise (vector_exp.hpp): `omp simd` reductions, an exp that is
// plain arithmetic, one clone per instruction set.
#include "kernels/soft_moe_block_softmax.hpp"
#include "kernels/vector_exp.hpp"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <type_traits>
#include <vector>

namespace swinsmt::detail {
namespace {

// Pass 1 over columns [j0, j1) of every row: the tile's column maxima and (partial, for this column
// range) row maxima; then the new running column maxima and their rescale factors.
SWINSMT_ISA_CLONES
void maxima(const float* logits, int64_t ld, int64_t c, int64_t j0, int64_t j1, float* tile_col_max,
            float* row_max_part, OnlineSoftmaxStats columns) {
  for (int64_t j = j0; j < j1; ++j) tile_col_max[j] = minus_infinity;
  for (int64_t i = 0; i < c; ++i) {
    const float* row = logits + i * ld;
    float m = minus_infinity;
#pragma omp simd reduction(max : m)
    for (int64_t j = j0; j < j1; ++j) {
      const float v = row[j];
      tile_col_max[j] = v > tile_col_max[j] ? v : tile_col_max[j];
      m = v > m ? v : m;
    }
    row_max_part[i] = m;
  }
  for (int64_t j = j0; j < j1; ++j) {
    const float old = columns.max[j];
    const float m = tile_col_max[j] > old ? tile_col_max[j] : old;
    tile_col_max[j] = m;                     // now the new running maximum
    columns.rescale[j] = exp_poly(old - m);  // old = -inf before the first block: 0
  }
}

// Both exponentials of an entry from one exp: exp(v - row max i) = exp(v - col max j) *
// exp(col max j - K) * exp(K - row max i) for any K, with K the largest column maximum of the range.
// Exact up to rounding (a few ulp) as long as no factor leaves float's normal range for the entries
// that matter; that holds when K - (smallest row maximum) <= kFactorRange: an entry at most
// kFactorRange below its row maximum then has v - K >= -2 kFactorRange > ln(FLT_MIN), and entries
// further below weigh less than exp(-kFactorRange) of their row's sum. Tiles outside that range
// (fully masked rows, extreme logits) take two exps per entry.
constexpr float kFactorRange = 40.0f;

/// bfloat16 of a finite float, rounded to nearest even (integer arithmetic, so the loops vectorise).
inline uint16_t to_bfloat16_bits(float f) {
  const auto bits = __builtin_bit_cast(uint32_t, f);  // a memcpy here keeps GCC 12 from vectorising
  return static_cast<uint16_t>((bits + 0x7fffu + ((bits >> 16) & 1u)) >> 16);
}

// Pass 2 over columns [j0, j1): both exponentials, their column sums and (partial) row sums. A
// row's sum runs over thousands of terms: it is taken in float over runs of 256 (vectorised or not,
// at most 256 sequential additions) and the runs are added in double, so its rounding does not
// depend on how the compiler splits the loop (one sequential float sum of 4096 terms is ~1e-5 off).
// col_scale: scratch for the columns' factors. Float32 output goes straight to `dispatch` (which may
// be `logits` itself: each entry is read before it is written) and `combine`; bfloat16 output is
// computed into a float run in L1 and converted after each run (GCC 12 does not vectorise the
// exp loop with 16-bit stores in it). The sums are of the float32 values either way.
template <typename Out>
__attribute__((always_inline)) inline void exponentials_into(const float* logits, int64_t ld, Out* dispatch,
                                                             int64_t ld_dispatch, Out* combine, int64_t ld_combine,
                                                             int64_t c, int64_t j0, int64_t j1, const float* col_max,
                                                             const float* row_max, float* tile_col_sum,
                                                             double* row_sum_part, float* col_scale) {
  constexpr int64_t run = 256;
  constexpr bool to_bf16 = std::is_same_v<Out, uint16_t>;
  alignas(64) float p_run[to_bf16 ? run : 1], e_run[to_bf16 ? run : 1];
  float top = minus_infinity, lowest_row = -minus_infinity;
  for (int64_t j = j0; j < j1; ++j) top = col_max[j] > top ? col_max[j] : top;
  for (int64_t i = 0; i < c; ++i) lowest_row = row_max[i] < lowest_row ? row_max[i] : lowest_row;
  const bool factorised = top - lowest_row <= kFactorRange;  // false for NaN and infinities too
  if (factorised)
    for (int64_t j = j0; j < j1; ++j) col_scale[j] = exp_poly(col_max[j] - top);
  for (int64_t j = j0; j < j1; ++j) tile_col_sum[j] = 0.0f;
  for (int64_t i = 0; i < c; ++i) {
    const float* row = logits + i * ld;
    Out* row_out = dispatch + i * ld_dispatch;
    Out* out = combine + i * ld_combine;
    const float rm = row_max[i];
    const float row_scale = factorised ? exp_poly(top - rm) : 0.0f;
    double s = 0.0;
    for (int64_t r0 = j0; r0 < j1; r0 += run) {
      const int64_t r1 = r0 + run < j1 ? r0 + run : j1;
      // Where this run's exponentials go: the output itself (float32) or the float run (bfloat16),
      // indexed by j - base.
      float* p_to = nullptr;
      float* e_to = nullptr;
      int64_t base = 0;
      if constexpr (to_bf16) {
        p_to = p_run, e_to = e_run, base = r0;
      } else {
        p_to = out, e_to = row_out;
      }
      float part = 0.0f;
      if (factorised) {
#pragma omp simd reduction(+ : part)
        for (int64_t j = r0; j < r1; ++j) {
          const float p = exp_poly(row[j] - col_max[j]);
          p_to[j - base] = p;
          tile_col_sum[j] += p;
          const float e = p * col_scale[j] * row_scale;
          e_to[j - base] = e;
          part += e;
        }
      } else {
#pragma omp simd reduction(+ : part)
        for (int64_t j = r0; j < r1; ++j) {
          const float v = row[j];
          const float p = exp_poly(v - col_max[j]);
          p_to[j - base] = p;
          tile_col_sum[j] += p;
          const float e = exp_poly(v - rm);
          e_to[j - base] = e;
          part += e;
        }
      }
      if constexpr (to_bf16) {
        for (int64_t j = r0; j < r1; ++j) out[j] = to_bfloat16_bits(p_run[j - r0]);
        for (int64_t j = r0; j < r1; ++j) row_out[j] = to_bfloat16_bits(e_run[j - r0]);
      }
      s += part;
    }
    row_sum_part[i] = s;
  }
}

SWINSMT_ISA_CLONES
void exponentials(float* logits, int64_t ld, float* combine, int64_t ld_combine, int64_t c, int64_t j0, int64_t j1,
                  const float* col_max, const float* row_max, float* tile_col_sum, double* row_sum_part,
                  float* col_scale) {
  exponentials_into(logits, ld, logits, ld, combine, ld_combine, c, j0, j1, col_max, row_max, tile_col_sum,
                    row_sum_part, col_scale);
}

SWINSMT_ISA_CLONES
void exponentials_bf16(const float* logits, int64_t ld, uint16_t* dispatch, int64_t ld_dispatch, uint16_t* combine,
                       int64_t ld_combine, int64_t c, int64_t j0, int64_t j1, const float* col_max,
                       const float* row_max, float* tile_col_sum, double* row_sum_part, float* col_scale) {
  exponentials_into(logits, ld, dispatch, ld_dispatch, combine, ld_combine, c, j0, j1, col_max, row_max, tile_col_sum,
                    row_sum_part, col_scale);
}

/// Both passes; `pass2(j0, j1, col_max, col_sum, row_sum_part, col_scale)` writes the exponentials of
/// columns [j0, j1) (the thread's range) from the new column maxima and `rows.max`.
template <typename Pass2>
void two_passes(const float* logits, int64_t ld_logits, int64_t c, int64_t w, OnlineSoftmaxStats columns,
                OnlineSoftmaxStats rows, const Pass2& pass2) {
  // One column range per thread, each a multiple of 16 floats (a cache line), so no two threads
  // write the same line of a row or of the column arrays.
  const int64_t threads = std::max<int64_t>(1, std::min<int64_t>(at::get_num_threads(), (w + 255) / 256));
  const int64_t step = ((w + threads - 1) / threads + 15) / 16 * 16;
  std::vector<float> col_max(static_cast<size_t>(w)), row_max_part(static_cast<size_t>(threads * c));
  std::vector<float> col_sum(static_cast<size_t>(w)), col_scale(static_cast<size_t>(w));
  std::vector<double> row_sum_part(static_cast<size_t>(threads * c));
  auto range = [&](int64_t t) { return std::make_pair(std::min(w, t * step), std::min(w, (t + 1) * step)); };

  at::parallel_for(0, threads, 1, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      const auto [j0, j1] = range(t);
      maxima(logits, ld_logits, c, j0, j1, col_max.data(), row_max_part.data() + t * c, columns);
    }
  });
  for (int64_t i = 0; i < c; ++i) {
    float m = rows.max[i];
    for (int64_t t = 0; t < threads; ++t) m = std::max(m, row_max_part[t * c + i]);
    rows.rescale[i] = exp_poly(rows.max[i] - m);
    rows.max[i] = m;
  }

  at::parallel_for(0, threads, 1, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      const auto [j0, j1] = range(t);
      pass2(j0, j1, col_max.data(), col_sum.data(), row_sum_part.data() + t * c, col_scale.data());
      for (int64_t j = j0; j < j1; ++j) {
        columns.sum[j] = columns.sum[j] * columns.rescale[j] + col_sum[j];
        columns.max[j] = col_max[j];
      }
    }
  });
  for (int64_t i = 0; i < c; ++i) {
    double s = 0.0;
    for (int64_t t = 0; t < threads; ++t) s += row_sum_part[t * c + i];
    rows.sum[i] = static_cast<float>(rows.sum[i] * static_cast<double>(rows.rescale[i]) + s);
  }
}

}  // namespace

float block_softmax_exp(float x) { return exp_poly(x); }

void tile_softmax(float* logits, int64_t ld_logits, float* combine, int64_t ld_combine, int64_t c, int64_t w,
                  OnlineSoftmaxStats columns, OnlineSoftmaxStats rows) {
  two_passes(logits, ld_logits, c, w, columns, rows,
             [&](int64_t j0, int64_t j1, float* col_max, float* col_sum, double* row_sum_part, float* col_scale) {
               exponentials(logits, ld_logits, combine, ld_combine, c, j0, j1, col_max, rows.max, col_sum, row_sum_part,
                            col_scale);
             });
}

void tile_softmax_bf16(const float* logits, int64_t ld_logits, c10::BFloat16* dispatch, int64_t ld_dispatch,
                       c10::BFloat16* combine, int64_t ld_combine, int64_t c, int64_t w, OnlineSoftmaxStats columns,
                       OnlineSoftmaxStats rows) {
  static_assert(sizeof(c10::BFloat16) == sizeof(uint16_t), "c10::BFloat16 holds the 16 bits only");
  auto* dispatch_bits = reinterpret_cast<uint16_t*>(dispatch);
  auto* combine_bits = reinterpret_cast<uint16_t*>(combine);
  two_passes(logits, ld_logits, c, w, columns, rows,
             [&](int64_t j0, int64_t j1, float* col_max, float* col_sum, double* row_sum_part, float* col_scale) {
               exponentials_bf16(logits, ld_logits, dispatch_bits, ld_dispatch, combine_bits, ld_combine, c, j0, j1,
                                 col_max, rows.max, col_sum, row_sum_part, col_scale);
             });
}

}  // namespace swinsmt::detail
