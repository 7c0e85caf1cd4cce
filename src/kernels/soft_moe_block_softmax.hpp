#pragma once
// The two softmaxes of the fused Soft MoE kernel on one tile of logits (c slots x w tokens), in two
// passes over the tile while it is still in cache (CPU, float32). Both softmaxes are online:
//  - dispatch (softmax over tokens, per slot row) across the token tiles of a slot block, like
//    flash attention: a running row maximum, the rows of what was accumulated rescaled when it grows;
//  - combine (softmax over slots, per token column) across the slot blocks, the same way per column.
// Done with ATen ops that is nine passes over a block far larger than the caches (max, subtract,
// exp, sum for each, plus the normalisation); here it is one pass for both maxima and one that
// writes both exponentials and their sums.

#include <c10/util/BFloat16.h>

#include <cstdint>

namespace swinsmt::detail {

/// Running statistics of one softmax along rows or columns, updated tile by tile.
struct OnlineSoftmaxStats {
  float* max;      // running maximum; -inf before the first tile
  float* sum;      // running sum of exp(logit - max)
  float* rescale;  // out: exp(old max - new max), for what was accumulated with the old maximum
};

/// logits: c x w with row stride ld_logits; combine: c x w output with row stride ld_combine.
/// `columns` points at the w entries of this tile's tokens, `rows` at the c entries of the slots.
/// On return:
///   combine[i][j] = exp(logits[i][j] - new column max j), column stats updated;
///   logits[i][j]  = exp(logits[i][j] - new row max i), row stats updated.
/// The dispatch weights are logits / row sum and the combine weights combine / column sum once all
/// tiles are seen; callers divide the (small) products rather than the (large) weight matrices.
/// Logits may hold the lowest finite float (masked entries): fully masked rows or columns become
/// uniform, as in the official masked_fill + softmax; exp underflows to exactly 0 below ln(FLT_MIN).
void tile_softmax(float* logits, int64_t ld_logits, float* combine, int64_t ld_combine, int64_t c, int64_t w,
                  OnlineSoftmaxStats columns, OnlineSoftmaxStats rows);

/// tile_softmax for bfloat16 products: the same statistics (from the float32 exponentials), but the
/// exponentials are written rounded to bfloat16 (nearest even) into `dispatch` (c x w, row stride
/// ld_dispatch; the dispatch weights) and `combine`; `logits` is left as it is.
void tile_softmax_bf16(const float* logits, int64_t ld_logits, c10::BFloat16* dispatch, int64_t ld_dispatch,
                       c10::BFloat16* combine, int64_t ld_combine, int64_t c, int64_t w, OnlineSoftmaxStats columns,
                       OnlineSoftmaxStats rows);

/// exp with at most 2 ulp error for x >= ln(FLT_MIN); 0 below it (no denormals), saturating at
/// exp(88). Exposed for tests.
float block_softmax_exp(float x);

}  // namespace swinsmt::detail
