#pragma once
// MONAI `MLPBlock` (GELU, dropout mode "swin"): linear1 -> GELU -> linear2.

#include <torch/arg.h>
#include <torch/nn/cloneable.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

namespace swinsmt {

struct MLPBlockOptions {
  MLPBlockOptions(int64_t hidden_size, int64_t mlp_dim) : hidden_size_(hidden_size), mlp_dim_(mlp_dim) {}
  TORCH_ARG(int64_t, hidden_size);  ///< input and output features
  TORCH_ARG(int64_t, mlp_dim);      ///< hidden features
};

class MLPBlockImpl : public torch::nn::Cloneable<MLPBlockImpl> {
 public:
  /// linear1: hidden_size -> mlp_dim, linear2: mlp_dim -> hidden_size (both with bias).
  explicit MLPBlockImpl(MLPBlockOptions options);
  void reset() override;
  void pretty_print(std::ostream& stream) const override;
  /// x: (..., hidden_size) floating point; returns the same shape and dtype.
  torch::Tensor forward(const torch::Tensor& x);

  MLPBlockOptions options;
  torch::nn::Linear linear1{nullptr}, linear2{nullptr};
};
TORCH_MODULE(MLPBlock);

}  // namespace swinsmt
