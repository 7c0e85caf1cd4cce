#include "kernels/cpu_matmul.hpp"

#include <swinsmt/error.hpp>

#include <ATen/ATen.h>

#include <string>

#ifdef SWINSMT_HAVE_DNNL
#include <dnnl.h>
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
                        out.stride(0) >= out.size(1));
#ifdef SWINSMT_HAVE_DNNL
  if (a.scalar_type() == at::kFloat && b.scalar_type() == at::kFloat && out.scalar_type() == at::kFloat &&
      a.device().is_cpu() && b.device().is_cpu() && out.device().is_cpu()) {
    int64_t lda = 0, ldb = 0;
    at::Tensor ac = a, bc = b;
    if (!layout(ac, lda)) ac = a.contiguous();
    if (!layout(bc, ldb)) bc = b.contiguous();
    const char ta = layout(ac, lda), tb = layout(bc, ldb);
    const int64_t m = out.size(0), n = out.size(1), k = a.size(1);
    onednn_sgemm(ta, tb, m, n, k, 1.0f, ac.data_ptr<float>(), lda, bc.data_ptr<float>(), ldb, beta,
                 out.data_ptr<float>(), std::max<int64_t>(1, out.stride(0)));
    return;
  }
#endif
  if (beta == 0.0f)
    at::mm_out(out, a, b);
  else
    out.addmm_(a, b, beta, 1.0);
}

}  // namespace swinsmt::detail
