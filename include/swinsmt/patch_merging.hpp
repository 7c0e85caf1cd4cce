#pragma once
// Patch merging at the end of each Swin stage: gather the 2x2x2 neighbours into the channel axis,
// LayerNorm(8C), Linear(8C -> 2C, no bias). v1 is MONAI's legacy `PatchMerging`, whose slice order
// repeats two slices (x5 == x2, x6 == x3) and omits two others: checkpoints depend on that order.
// v2 is `PatchMergingV2` (itertools.product order).

#include <swinsmt/options.hpp>

#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

namespace swinsmt {

class PatchMergingImpl : public torch::nn::Module {
 public:
  PatchMergingImpl(int64_t dim, Merging version);
  /// (B, D, H, W, C) -> (B, ceil(D/2), ceil(H/2), ceil(W/2), 2C); odd sizes are zero-padded.
  torch::Tensor forward(const torch::Tensor& x);

  Merging version;
  torch::nn::LayerNorm norm{nullptr};
  torch::nn::Linear reduction{nullptr};
};
TORCH_MODULE(PatchMerging);

}  // namespace swinsmt
