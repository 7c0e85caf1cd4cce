#pragma once
// MONAI `PatchEmbed` (3-D, no norm): a strided conv registered as "proj" that pads the input up to
// a multiple of the patch size first.

#include <torch/arg.h>
#include <torch/nn/cloneable.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/pimpl.h>

namespace swinsmt {

struct PatchEmbedOptions {
  PatchEmbedOptions(int64_t in_channels, int64_t embed_dim) : in_channels_(in_channels), embed_dim_(embed_dim) {}
  TORCH_ARG(int64_t, in_channels);
  TORCH_ARG(int64_t, embed_dim);
  TORCH_ARG(int64_t, patch_size) = 2;  ///< kernel size and stride in every dimension
};

class PatchEmbedImpl : public torch::nn::Cloneable<PatchEmbedImpl> {
 public:
  explicit PatchEmbedImpl(PatchEmbedOptions options);
  void reset() override;
  void pretty_print(std::ostream& stream) const override;
  /// (B, C, D, H, W) -> (B, embed_dim, ceil(D/p), ceil(H/p), ceil(W/p)).
  torch::Tensor forward(const torch::Tensor& x);

  PatchEmbedOptions options;
  torch::nn::Conv3d proj{nullptr};
};
TORCH_MODULE(PatchEmbed);

}  // namespace swinsmt
