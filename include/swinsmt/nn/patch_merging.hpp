#pragma once
// Patch merging at the end of each Swin stage: gather the 2x2x2 neighbours into the channel axis,
// LayerNorm(8C), Linear(8C -> 2C, no bias). v1 is MONAI's legacy `PatchMerging`, whose slice order
// repeats two slices (x5 == x2, x6 == x3) and omits two others: checkpoints depend on that order.
// v2 is `PatchMergingV2` (itertools.product order).

#include <swinsmt/nn/options.hpp>

#include <torch/arg.h>
#include <torch/nn/cloneable.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

namespace swinsmt {

struct PatchMergingOptions {
  explicit PatchMergingOptions(int64_t dim) : dim_(dim) {}
  TORCH_ARG(int64_t, dim);                    ///< input channels C
  TORCH_ARG(Merging, version) = Merging::v1;  ///< slice order (see above)
};

class PatchMergingImpl : public torch::nn::Cloneable<PatchMergingImpl> {
 public:
  explicit PatchMergingImpl(PatchMergingOptions options);
  void reset() override;
  void pretty_print(std::ostream& stream) const override;
  /// (B, D, H, W, C) -> (B, ceil(D/2), ceil(H/2), ceil(W/2), 2C); odd sizes are zero-padded.
  torch::Tensor forward(const torch::Tensor& x);

  PatchMergingOptions options;
  torch::nn::LayerNorm norm{nullptr};
  torch::nn::Linear reduction{nullptr};
};
TORCH_MODULE(PatchMerging);

}  // namespace swinsmt
