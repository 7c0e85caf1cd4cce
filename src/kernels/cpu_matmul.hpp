#pragma once
// The matrix products of the fused CPU kernels (Soft MoE, window attention). The Soft MoE shapes are extreme (one
// side 96..384 wide, the other 32768+ long) and Debian's OpenBLAS 0.3.21 runs the (c x n) . (n x d) product at half the
// rate it reaches on the others (about 100 vs 160 GFLOP/s on the 2-core AVX-512 machine), while oneDNN's sgemm holds
// ~200 GFLOP/s on all three. Debian's LibTorch already links libdnnl, so with libdnnl-dev present (SWINSMT_HAVE_DNNL)
// the products go there; otherwise through ATen.

#include <ATen/core/Tensor.h>

namespace swinsmt::detail {

/// out = a . b + beta * out for 2-D CPU tensors: `out` float32, `a` and `b` both float32 or both
/// bfloat16 (then the products are of the bfloat16 values, accumulated in float32: oneDNN's
/// gemm_bf16bf16f32). `a` and `b` may be transposed views of row-major matrices (no copy is made
/// for them), `out` must be row-major (unit column stride, any row stride: a column range of a
/// wider buffer is fine).
void matmul_into(at::Tensor& out, const at::Tensor& a, const at::Tensor& b, float beta = 0.0f);

/// True when bfloat16 products run at full speed here: oneDNN is built in and the CPU has
/// AVX512-BF16 (elsewhere oneDNN would emulate them, slower than float32).
bool has_bf16_products();

/// "oneDNN" or "ATen (BLAS)": which one matmul_into uses (for doctor and the benchmarks).
const char* matmul_backend();

/// True when oneDNN's sgemm is built in (SWINSMT_HAVE_DNNL).
bool has_onednn_sgemm();

/// Row-major c = alpha op(a) op(b) + beta c through oneDNN's sgemm (ta/tb: 'N' or 'T'); called
/// inside a parallel region it runs on the calling thread. Throws swinsmt::Error when it fails or
/// when oneDNN is not built in (check has_onednn_sgemm first).
void onednn_sgemm(char ta, char tb, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
                  const float* b, int64_t ldb, float beta, float* c, int64_t ldc);

}  // namespace swinsmt::detail
