#pragma once
// Window attention on CPU (float32) one (window, head) at a time, everything of one pair in cache:
// scores = scale q k^T (343 x 343 floats, 460 KB) in a per-thread buffer, plus the relative position
// bias and the shift mask, softmax in place, times v, written straight into the (windows, n, c)
// layout the output projection reads. q, k and v are read in place from the qkv projection.
// With ATen ops the same step writes and rereads every block of scores through memory (1 GB per
// product at stage 1 of a 128^3 window) and copies q, k, v and the output between layouts; its
// batched 343 x 16 x 343 products also run at 10-20 GFLOP/s through OpenBLAS here.

#include <ATen/core/Tensor.h>

namespace swinsmt::detail {

/// qkv: (windows, n, 3 * c) contiguous, the qkv projection ([q | k | v], each heads x head_dim).
/// bias: (heads, n, n) contiguous. region_ids: (windows, n) int32 contiguous (ShiftMask::region_ids)
/// or undefined. Needs oneDNN (detail::has_onednn_sgemm()). out: (windows, n, c) contiguous;
/// out[w, i, h * hd : (h + 1) * hd] = softmax_j(scale q_i . k_j + bias[h, i, j] + mask[w, i, j]) . v
/// with mask[w, i, j] = -100 where region_ids[w, i] != region_ids[w, j], else 0 (none without ids).
void fused_window_attention(const at::Tensor& qkv, const at::Tensor& bias, const at::Tensor& region_ids, int64_t heads,
                            double scale, at::Tensor& out);

}  // namespace swinsmt::detail
