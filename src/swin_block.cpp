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
  // Pad, cyclic shift and partition (and back) as the official block does, each way in one copy.
  auto windows = pad_shift_partition(norm1(x_in), geo.window, geo.shift);
  auto attended = attn(windows, geo.shifted() ? shift_mask : std::nullopt);
  windows.reset();
  return reverse_shift_crop(attended, geo.window, geo.shift, b, {d, h, w});
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
