#include <swinsmt/nn/swin_block.hpp>

#include "kernels/autograd_guard.hpp"
#include "nn/registration.hpp"

#include <ATen/ATen.h>

namespace swinsmt {

SwinBlockImpl::SwinBlockImpl(SwinBlockOptions options_) : options(options_) { reset(); }

void SwinBlockImpl::reset() {
  const auto& o = options;
  norm1 = detail::register_or_replace(*this, "norm1", torch::nn::LayerNorm(torch::nn::LayerNormOptions({o.dim()})));
  attn = detail::register_or_replace(*this, "attn",
                                     WindowAttention(WindowAttentionOptions(o.dim(), o.num_heads())
                                                         .window(o.window())
                                                         .qkv_bias(true)
                                                         .fused_cpu(o.fused_cpu_attention())));
  norm2 = detail::register_or_replace(*this, "norm2", torch::nn::LayerNorm(torch::nn::LayerNormOptions({o.dim()})));
  // Both are registered as "mlp" (the official name); the holder of the other kind stays empty.
  mlp = nullptr;
  moe = nullptr;
  if (o.use_moe()) {
    moe = detail::register_or_replace(*this, "mlp",
                                      SoftMoE(SoftMoEOptions(o.dim(), o.num_experts()).expert_mult(o.mlp_ratio())));
  } else {
    mlp = detail::register_or_replace(
        *this, "mlp",
        MLPBlock(MLPBlockOptions(o.dim(), static_cast<int64_t>(static_cast<double>(o.dim()) * o.mlp_ratio()))));
  }
}

void SwinBlockImpl::pretty_print(std::ostream& stream) const {
  const auto& o = options;
  stream << "swinsmt::SwinBlock(dim=" << o.dim() << ", num_heads=" << o.num_heads() << ", window=[" << o.window()[0]
         << ", " << o.window()[1] << ", " << o.window()[2] << "], shift=[" << o.shift()[0] << ", " << o.shift()[1]
         << ", " << o.shift()[2] << "], mlp_ratio=" << o.mlp_ratio() << ", use_moe=" << (o.use_moe() ? "true" : "false")
         << ")";
}

torch::Tensor SwinBlockImpl::attention_part(const torch::Tensor& x_in, const std::optional<ShiftMask>& shift_mask) {
  const int64_t b = x_in.size(0), d = x_in.size(1), h = x_in.size(2), w = x_in.size(3);
  const auto geo = window_geometry({d, h, w}, options.window(), options.shift());
  // Pad, cyclic shift and partition (and back) as the official block does, each way in one copy.
  auto windows = pad_shift_partition(norm1(x_in), geo.window, geo.shift);
  auto attended = attn(windows, geo.shifted() ? shift_mask : std::nullopt);
  windows.reset();
  return reverse_shift_crop(attended, geo.window, geo.shift, b, {d, h, w});
}

torch::Tensor SwinBlockImpl::forward(const torch::Tensor& x_in, const std::optional<ShiftMask>& shift_mask) {
  detail::require_no_gradient("SwinBlock", {x_in, norm1->weight, norm2->weight});
  auto x = x_in + attention_part(x_in, shift_mask);
  // The MLP / Soft MoE sees all tokens of the stage at once: (B, D*H*W, C).
  const auto shape = x.sizes().vec();
  auto tokens = norm2(x.reshape({shape[0], -1, shape.back()}));
  auto y = moe ? moe(tokens) : mlp(tokens);
  tokens.reset();
  return x.add_(y.view(shape));
}

}  // namespace swinsmt
