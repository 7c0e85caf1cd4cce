#pragma once
// MONAI `PatchEmbed` (3-D, no norm): a strided conv registered as "proj" that pads the input up to
// a multiple of the patch size first.

#include <torch/nn/module.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/pimpl.h>

namespace swinsmt {

class PatchEmbedImpl : public torch::nn::Module {
 public:
  PatchEmbedImpl(int64_t in_channels, int64_t embed_dim, int64_t patch_size = 2);
  /// (B, C, D, H, W) -> (B, embed_dim, D/2, H/2, W/2).
  torch::Tensor forward(const torch::Tensor& x);

  int64_t patch_size;
  torch::nn::Conv3d proj{nullptr};
};
TORCH_MODULE(PatchEmbed);

}  // namespace swinsmt
