#include <swinsmt/mlp_block.hpp>

#include <ATen/ATen.h>

namespace swinsmt {

MLPBlockImpl::MLPBlockImpl(int64_t hidden_size, int64_t mlp_dim) {
  linear1 = register_module("linear1", torch::nn::Linear(hidden_size, mlp_dim));
  linear2 = register_module("linear2", torch::nn::Linear(mlp_dim, hidden_size));
}

torch::Tensor MLPBlockImpl::forward(const torch::Tensor& x) { return linear2(at::gelu(linear1(x))); }

}  // namespace swinsmt
