#pragma once
// One Swin transformer block (official `SwinTransformerBlock`): pre-norm shifted-window attention
// and a pre-norm MLP, or a Soft MoE in the MoE stages, each with a residual.

#include <swinsmt/nn/mlp_block.hpp>
#include <swinsmt/nn/shift_mask.hpp>
#include <swinsmt/nn/soft_moe.hpp>
#include <swinsmt/nn/window_attention.hpp>

#include <torch/nn/cloneable.h>
#include <torch/nn/modules/normalization.h>

namespace swinsmt {

struct SwinBlockOptions {
  SwinBlockOptions(int64_t dim, int64_t num_heads) : dim_(dim), num_heads_(num_heads) {}
  TORCH_ARG(int64_t, dim);
  TORCH_ARG(int64_t, num_heads);
  TORCH_ARG(Size3, window) = Size3{7, 7, 7};
  TORCH_ARG(Size3, shift) = Size3{0, 0, 0};
  TORCH_ARG(double, mlp_ratio) = 4.0;
  TORCH_ARG(bool, use_moe) = false;
  TORCH_ARG(int64_t, num_experts) = 4;
  /// Kernel selection of the attention (WindowAttentionOptions::fused_cpu).
  TORCH_ARG(bool, fused_cpu_attention) = true;
};

class SwinBlockImpl : public torch::nn::Cloneable<SwinBlockImpl> {
 public:
  explicit SwinBlockImpl(SwinBlockOptions options);
  void reset() override;
  void pretty_print(std::ostream& stream) const override;

  /// x: (B, D, H, W, C). shift_mask: the stage's mask (used only when this block shifts).
  /// Inference only: the residual is added in place (swinsmt::Error where autograd would record).
  torch::Tensor forward(const torch::Tensor& x, const std::optional<ShiftMask>& shift_mask);

  SwinBlockOptions options;
  torch::nn::LayerNorm norm1{nullptr}, norm2{nullptr};
  WindowAttention attn{nullptr};
  MLPBlock mlp{nullptr};  ///< set when !use_moe
  SoftMoE moe{nullptr};   ///< set when use_moe (registered as "mlp", the official name)

 private:
  torch::Tensor attention_part(const torch::Tensor& x, const std::optional<ShiftMask>& shift_mask);
};
TORCH_MODULE(SwinBlock);

}  // namespace swinsmt
