#include <swinsmt/swin_block.hpp>

#include <ATen/ATen.h>

namespace swinsmt {

SwinBlockImpl::SwinBlockImpl(SwinBlockOptions options_) : options(options_) { reset(); }

void SwinBlockImpl::reset() {
  const auto& o = options;
  norm1 = register_module("norm1", torch::nn::LayerNorm(torch::nn::LayerNormOptions({o.dim()})));
  attn = register_module("attn", WindowAttention(o.dim(), o.num_heads(), o.window(), /*qkv_bias=*/true));
  norm2 = register_module("norm2", torch::nn::LayerNorm(torch::nn::LayerNormOptions({o.dim()})));
  if (o.use_moe()) {
    moe = register_module("mlp", SoftMoE(SoftMoEOptions(o.dim(), o.num_experts()).expert_mult(o.mlp_ratio())));
  } else {
    mlp = register_module("mlp", MLPBlock(o.dim(), static_cast<int64_t>(static_cast<double>(o.dim()) * o.mlp_ratio())));
  }
}

torch::Tensor SwinBlockImpl::attention_part(const torch::Tensor& x_in, const std::optional<torch::Tensor>& shift_mask) {
  const int64_t b = x_in.size(0), d = x_in.size(1), h = x_in.size(2), w = x_in.size(3);
  const auto geo = window_geometry({d, h, w}, options.window(), options.shift());
  const auto& ws = geo.window;
  auto x = norm1(x_in);
  const int64_t pad_d = (ws[0] - d % ws[0]) % ws[0], pad_h = (ws[1] - h % ws[1]) % ws[1],
                pad_w = (ws[2] - w % ws[2]) % ws[2];
  const bool padded = pad_d > 0 || pad_h > 0 || pad_w > 0;
  if (padded) x = at::constant_pad_nd(x, {0, 0, 0, pad_w, 0, pad_h, 0, pad_d}, 0);
  const Size3 dims{d + pad_d, h + pad_h, w + pad_w};
  const auto& sh = geo.shift;
  if (geo.shifted()) x = at::roll(x, {-sh[0], -sh[1], -sh[2]}, {1, 2, 3});
  auto windows = window_partition(x, ws);
  x.reset();
  auto attended = attn(windows, geo.shifted() ? shift_mask : std::nullopt);
  windows.reset();
  x = window_reverse(attended, ws, b, dims);
  if (geo.shifted()) x = at::roll(x, {sh[0], sh[1], sh[2]}, {1, 2, 3});
  if (padded) x = x.narrow(1, 0, d).narrow(2, 0, h).narrow(3, 0, w).contiguous();
  return x;
}

torch::Tensor SwinBlockImpl::forward(const torch::Tensor& x_in, const std::optional<torch::Tensor>& shift_mask) {
  auto x = x_in + attention_part(x_in, shift_mask);
  // The MLP / Soft MoE sees all tokens of the stage at once: (B, D*H*W, C).
  const auto shape = x.sizes().vec();
  auto tokens = norm2(x.reshape({shape[0], -1, shape.back()}));
  auto y = moe ? moe(tokens) : mlp(tokens);
  tokens.reset();
  return x.add_(y.view(shape));
}

}  // namespace swinsmt
