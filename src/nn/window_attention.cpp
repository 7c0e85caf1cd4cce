#include "kernels/autograd_guard.hpp"
#include "kernels/cpu_matmul.hpp"
#include "kernels/window_attention_cpu.hpp"
#include "nn/registration.hpp"

#include <swinsmt/error.hpp>
#include <swinsmt/nn/window_attention.hpp>

#include <ATen/ATen.h>
#include <ATen/record_function.h>
#include <torch/version.h>

#include <cmath>

namespace swinsmt {

WindowAttentionImpl::WindowAttentionImpl(WindowAttentionOptions options_) : options(options_) { reset(); }

void WindowAttentionImpl::reset() {
  const int64_t dim = options.dim(), num_heads = options.num_heads();
  const Size3& window = options.window();
  if (num_heads < 1 || dim % num_heads != 0)
    throw Error("WindowAttention: num_heads " + std::to_string(num_heads) + " must divide dim " + std::to_string(dim));
  // Integer head_dim = dim // num_heads, as the official code computes it.
  scale = std::pow(static_cast<double>(dim / num_heads), -0.5);  // NOLINT(bugprone-integer-division)
  const int64_t table = (2 * window[0] - 1) * (2 * window[1] - 1) * (2 * window[2] - 1);
  relative_position_bias_table =
      detail::register_or_replace_tensor(*this, "relative_position_bias_table", at::zeros({table, num_heads}));
  relative_position_index = detail::register_or_replace_tensor(*this, "relative_position_index",
                                                               swinsmt::relative_position_index(window), true);
  qkv = detail::register_or_replace(*this, "qkv",
                                    torch::nn::Linear(torch::nn::LinearOptions(dim, 3 * dim).bias(options.qkv_bias())));
  proj = detail::register_or_replace(*this, "proj", torch::nn::Linear(dim, dim));
}

void WindowAttentionImpl::pretty_print(std::ostream& stream) const {
  const auto& w = options.window();
  stream << "swinsmt::WindowAttention(dim=" << options.dim() << ", num_heads=" << options.num_heads() << ", window=["
         << w[0] << ", " << w[1] << ", " << w[2] << "], qkv_bias=" << (options.qkv_bias() ? "true" : "false")
         << ", fused_cpu=" << (options.fused_cpu() ? "true" : "false") << ")";
}

torch::Tensor WindowAttentionImpl::forward(const torch::Tensor& x, const std::optional<ShiftMask>& mask) {
  detail::require_no_gradient("WindowAttention", {x, relative_position_bias_table, qkv->weight, proj->weight});
  RECORD_USER_SCOPE("swinsmt::WindowAttention");
  const int64_t num_heads = options.num_heads();
  const int64_t bw = x.size(0), n = x.size(1), c = x.size(2), hd = c / num_heads;
  if (n > relative_position_index.size(0))
    throw Error("WindowAttention: " + std::to_string(n) + " tokens per window exceed the window size " +
                std::to_string(relative_position_index.size(0)));
  const int64_t nw = mask ? mask->windows() : bw;
  if (mask && (bw % nw != 0 || mask->tokens() != n))
    throw Error("WindowAttention: a shift mask of " + std::to_string(mask->windows()) + " windows of " +
                std::to_string(mask->tokens()) + " tokens does not fit " + std::to_string(bw) + " windows of " +
                std::to_string(n) + " tokens");
  // Shrunk windows index the top-left n x n block of the full index, as the official code does.
  auto index = relative_position_index.narrow(0, 0, n).narrow(1, 0, n).reshape({-1});
  auto bias = relative_position_bias_table.index_select(0, index).view({n, n, -1}).permute({2, 0, 1}).contiguous();
  const bool fused_cpu = x.is_cpu() && x.scalar_type() == at::kFloat && bias.scalar_type() == at::kFloat &&
                         options.fused_cpu() && detail::has_onednn_sgemm();

  // Windows are independent: attend over blocks of windows so that the (windows, heads, n, n)
  // scores stay small (the whole stage at once would need 1.4 GB at 128^3, feature 48).
  constexpr int64_t kScoreBudgetBytes = 32ll << 20;
  const int64_t per_window = num_heads * n * n * static_cast<int64_t>(x.element_size());
  const int64_t block = std::max<int64_t>(1, kScoreBudgetBytes / per_window);
  auto out = at::empty({bw, n, c}, x.options());
  for (int64_t r0 = 0; r0 < bw;) {
    // A block never straddles two images, so its windows map to consecutive mask rows.
    const int64_t w0 = r0 % nw, len = std::min(block, nw - w0);
    if (fused_cpu) {
      const auto projected = qkv(x.narrow(0, r0, len)).contiguous();  // (len, n, 3c)
      auto attended = at::empty({len, n, c}, x.options());
      const auto block_regions = mask ? mask->region_ids().narrow(0, w0, len).contiguous() : at::Tensor();
      detail::fused_window_attention(projected, bias, block_regions, num_heads, scale, attended);
      out.narrow(0, r0, len).copy_(proj(attended));
      r0 += len;
      continue;
    }
    auto qkv_out = qkv(x.narrow(0, r0, len)).reshape({len, n, 3, num_heads, hd}).permute({2, 0, 3, 1, 4});
    auto q = qkv_out[0] * scale;
    auto k = qkv_out[1];
    auto v = qkv_out[2];
    at::Tensor attended;
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 1)
    if (x.is_cuda()) {
      // Fused attention with the bias (+ shift mask) as additive mask; q is already scaled.
      auto additive =
          mask ? (bias.unsqueeze(0) + mask->additive(w0, len, bias.scalar_type()).unsqueeze(1)) : bias.unsqueeze(0);
      attended = at::scaled_dot_product_attention(q, k, v, additive, 0.0, false, 1.0);
    }
#endif
    if (!attended.defined()) {
      auto attn = at::matmul(q, k.transpose(-2, -1));  // (len, heads, n, n)
      attn.add_(bias.unsqueeze(0));
      if (mask) attn.add_(mask->additive(w0, len, bias.scalar_type()).unsqueeze(1));
      at::_softmax_out(attn, attn, -1, false);  // in place: each row is read before it is written
      attended = at::matmul(attn, v);
    }
    out.narrow(0, r0, len).copy_(proj(attended.transpose(1, 2).reshape({len, n, c})));
    r0 += len;
  }
  return out;
}

}  // namespace swinsmt
