#include "kernels/cpu_matmul.hpp"

#include <swinsmt/error.hpp>

#include <ATen/ATen.h>

#include <cstdint>
#include <string>

#ifdef SWINSMT_HAVE_DNNL
#include <dnnl.h>

// oneDNN exports its bfloat16 GEMM (row-major, as dnnl_sgemm) but declares it only in its own
// sources and tests; this is that declaration (oneDNN 2.x and 3.x), with the bfloat16 operands
// as their 16 bits.
extern "C" dnnl_status_t dnnl_gemm_bf16bf16f32(char transa, char transb, dnnl_dim_t M, dnnl_dim_t N, dnnl_dim_t K,
                                               float alpha, const uint16_t* A, dnnl_dim_t lda, const uint16_t* B,
                                               dnnl_dim_t ldb, float beta, float* C, dnnl_dim_t ldc);
#endif

namespace swinsmt::detail {
namespace {

#ifdef SWINSMT_HAVE_DNNL
// 'N' for a row-major matrix, 'T' for the transposed view of one; 0 for any other layout.
char layout(const at::Tensor& t, int64_t& leading) {
  if (t.stride(1) == 1 && t.stride(0) >= std::max<int64_t>(1, t.size(1))) {
    leading = t.stride(0);
    return 'N';
  }
  if (t.stride(0) == 1 && t.stride(1) >= std::max<int64_t>(1, t.size(0))) {
    leading = t.stride(1);
    return 'T';
  }
  return 0;
}
#endif

}  // namespace

bool has_onednn_sgemm() {
#ifdef SWINSMT_HAVE_DNNL
  return true;
#else
  return false;
#endif
}

bool has_bf16_products() {
#if defined(SWINSMT_HAVE_DNNL) && defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  static const bool supported = __builtin_cpu_supports("avx512bf16");
  return supported;
#else
  return false;
#endif
}

const char* matmul_backend() { return has_onednn_sgemm() ? "oneDNN" : "ATen (BLAS)"; }

void onednn_sgemm(char ta, char tb, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
                  const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
#ifdef SWINSMT_HAVE_DNNL
  const dnnl_status_t status = dnnl_sgemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  if (status != dnnl_success)
    throw Error("oneDNN sgemm failed (status " + std::to_string(static_cast<int>(status)) + ") on a " +
                std::to_string(m) + " x " + std::to_string(k) + " x " + std::to_string(n) + " product");
#else
  (void)ta, (void)tb, (void)m, (void)n, (void)k, (void)alpha, (void)a, (void)lda, (void)b, (void)ldb, (void)beta,
      (void)c, (void)ldc;
  throw Error("oneDNN sgemm requested, but swinsmt was built without oneDNN (libdnnl-dev)");
#endif
}

void matmul_into(at::Tensor& out, const at::Tensor& a, const at::Tensor& b, float beta) {
  TORCH_INTERNAL_ASSERT(a.dim() == 2 && b.dim() == 2 && out.dim() == 2 && a.size(1) == b.size(0) &&
                        out.size(0) == a.size(0) && out.size(1) == b.size(1) && out.stride(1) == 1 &&
                        out.stride(0) >= out.size(1) && out.scalar_type() == at::kFloat &&
                        a.scalar_type() == b.scalar_type() &&
                        (a.scalar_type() == at::kFloat || a.scalar_type() == at::kBFloat16));
  const bool bf16 = a.scalar_type() == at::kBFloat16;
#ifdef SWINSMT_HAVE_DNNL
  if (a.device().is_cpu() && b.device().is_cpu() && out.device().is_cpu()) {
    int64_t lda = 0, ldb = 0;
    at::Tensor ac = a, bc = b;
    if (!layout(ac, lda)) ac = a.contiguous();
    if (!layout(bc, ldb)) bc = b.contiguous();
    const char ta = layout(ac, lda), tb = layout(bc, ldb);
    const int64_t m = out.size(0), n = out.size(1), k = a.size(1), ldc = std::max<int64_t>(1, out.stride(0));
    if (!bf16) {
      onednn_sgemm(ta, tb, m, n, k, 1.0f, ac.data_ptr<float>(), lda, bc.data_ptr<float>(), ldb, beta,
                   out.data_ptr<float>(), ldc);
      return;
    }
    const dnnl_status_t status =
        dnnl_gemm_bf16bf16f32(ta, tb, m, n, k, 1.0f, static_cast<const uint16_t*>(ac.data_ptr()), lda,
                              static_cast<const uint16_t*>(bc.data_ptr()), ldb, beta, out.data_ptr<float>(), ldc);
    if (status != dnnl_success)
      throw Error("oneDNN gemm_bf16bf16f32 failed (status " + std::to_string(static_cast<int>(status)) + ") on a " +
                  std::to_string(m) + " x " + std::to_string(k) + " x " + std::to_string(n) + " product");
    return;
  }
#endif
  // ATen: bfloat16 operands are widened exactly, so the products are the same; only the order of
  // the float32 sums differs from oneDNN's.
  const at::Tensor af = bf16 ? a.to(at::kFloat) : a, bf = bf16 ? b.to(at::kFloat) : b;
  if (beta == 0.0f)
    at::mm_out(out, af, bf);
  else
    out.addmm_(af, bf, beta, 1.0);
}

}  // namespace swinsmt::detail
