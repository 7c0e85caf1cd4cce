#pragma once
// The Swin encoder of Swin SMT (official `BasicLayer` + `SwinTransformer`): patch embedding, four
// stages of Swin blocks ending in patch merging, optional v2 residual conv blocks before each stage,
// and the parameter-free layer norm (`proj_out`) of every stage output.

#include <swinsmt/options.hpp>
#include <swinsmt/patch_embed.hpp>
#include <swinsmt/patch_merging.hpp>
#include <swinsmt/swin_block.hpp>
#include <swinsmt/unetr_blocks.hpp>

#include <torch/nn/modules/container/modulelist.h>

#include <vector>

namespace swinsmt {

/// One stage (official `BasicLayer`): `depth` blocks alternating unshifted/shifted windows, then
/// patch merging. Registered children: blocks.<i>, downsample.
class BasicLayerImpl : public torch::nn::Module {
 public:
  BasicLayerImpl(int64_t dim, int64_t depth, int64_t num_heads, const SwinSMTOptions& model, bool use_moe);
  /// (B, C, D, H, W) -> (B, 2C, D/2, H/2, W/2).
  torch::Tensor forward(const torch::Tensor& x);

  Size3 window{7, 7, 7};
  torch::nn::ModuleList blocks{nullptr};
  PatchMerging downsample{nullptr};
};
TORCH_MODULE(BasicLayer);

class SwinTransformerImpl : public torch::nn::Module {
 public:
  explicit SwinTransformerImpl(const SwinSMTOptions& options);
  /// Returns the five hidden states (patch embedding and each stage), layer-normalised over
  /// channels when `normalize`: (B, F*2^i, D/2^(i+1), H/2^(i+1), W/2^(i+1)) for i = 0..4.
  std::vector<torch::Tensor> forward(const torch::Tensor& x, bool normalize);

  PatchEmbed patch_embed{nullptr};
  /// layers1..layers4 hold one BasicLayer each; layers1c..layers4c one UnetrBasicBlock (v2 only).
  std::array<torch::nn::ModuleList, 4> layers{nullptr, nullptr, nullptr, nullptr};
  std::array<torch::nn::ModuleList, 4> layers_c{nullptr, nullptr, nullptr, nullptr};
};
TORCH_MODULE(SwinTransformer);

/// The official `proj_out`: layer norm over channels of (B, C, D, H, W) without affine parameters.
torch::Tensor channel_layer_norm(const torch::Tensor& x);

}  // namespace swinsmt
