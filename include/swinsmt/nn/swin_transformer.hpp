#pragma once
// The Swin encoder of Swin SMT (official `BasicLayer` + `SwinTransformer`): patch embedding, four
// stages of Swin blocks ending in patch merging, optional v2 residual conv blocks before each stage,
// and the parameter-free layer norm (`proj_out`) of every stage output.

#include <swinsmt/nn/options.hpp>
#include <swinsmt/nn/patch_embed.hpp>
#include <swinsmt/nn/patch_merging.hpp>
#include <swinsmt/nn/swin_block.hpp>
#include <swinsmt/nn/unetr_blocks.hpp>

#include <torch/arg.h>
#include <torch/nn/cloneable.h>
#include <torch/nn/modules/container/modulelist.h>

#include <vector>

namespace swinsmt {

struct BasicLayerOptions {
  BasicLayerOptions(int64_t dim, int64_t depth, int64_t num_heads) : dim_(dim), depth_(depth), num_heads_(num_heads) {}
  TORCH_ARG(int64_t, dim);
  TORCH_ARG(int64_t, depth);  ///< Swin blocks; odd-numbered ones shift by half a window
  TORCH_ARG(int64_t, num_heads);
  TORCH_ARG(Size3, window) = Size3{7, 7, 7};
  TORCH_ARG(bool, use_moe) = false;  ///< Soft MoE instead of the MLP in every block
  TORCH_ARG(int64_t, num_experts) = 4;
  TORCH_ARG(Merging, downsample) = Merging::v1;
};

/// One stage (official `BasicLayer`): `depth` blocks alternating unshifted/shifted windows, then
/// patch merging. Registered children: blocks.<i>, downsample.
class BasicLayerImpl : public torch::nn::Cloneable<BasicLayerImpl> {
 public:
  explicit BasicLayerImpl(BasicLayerOptions options);
  void reset() override;
  void pretty_print(std::ostream& stream) const override;
  /// (B, C, D, H, W) -> (B, 2C, D/2, H/2, W/2).
  torch::Tensor forward(const torch::Tensor& x);

  BasicLayerOptions options;
  torch::nn::ModuleList blocks{nullptr};
  PatchMerging downsample{nullptr};
};
TORCH_MODULE(BasicLayer);

/// The encoder of the official `SwinViT`, built from the model's options.
class SwinTransformerImpl : public torch::nn::Cloneable<SwinTransformerImpl> {
 public:
  explicit SwinTransformerImpl(SwinSMTOptions options);
  void reset() override;
  void pretty_print(std::ostream& stream) const override;
  /// Returns the five hidden states (patch embedding and each stage), layer-normalised over
  /// channels when `normalize`: (B, F*2^i, D/2^(i+1), H/2^(i+1), W/2^(i+1)) for i = 0..4.
  std::vector<torch::Tensor> forward(const torch::Tensor& x, bool normalize);

  SwinSMTOptions options;
  PatchEmbed patch_embed{nullptr};
  /// layers1..layers4 hold one BasicLayer each; layers1c..layers4c one UnetrBasicBlock (v2 only).
  std::array<torch::nn::ModuleList, 4> layers{nullptr, nullptr, nullptr, nullptr};
  std::array<torch::nn::ModuleList, 4> layers_c{nullptr, nullptr, nullptr, nullptr};
};
TORCH_MODULE(SwinTransformer);

/// The official `proj_out`: layer norm over channels of (B, C, D, H, W) without affine parameters.
torch::Tensor channel_layer_norm(const torch::Tensor& x);

}  // namespace swinsmt
