#pragma once
// MONAI `MLPBlock` (GELU, dropout mode "swin"): linear1 -> GELU -> linear2.

#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

namespace swinsmt {

class MLPBlockImpl : public torch::nn::Module {
 public:
  /// linear1: hidden_size -> mlp_dim, linear2: mlp_dim -> hidden_size (both with bias).
  MLPBlockImpl(int64_t hidden_size, int64_t mlp_dim);
  /// x: (..., hidden_size) floating point; returns the same shape and dtype.
  torch::Tensor forward(const torch::Tensor& x);

  torch::nn::Linear linear1{nullptr}, linear2{nullptr};
};
TORCH_MODULE(MLPBlock);

}  // namespace swinsmt
