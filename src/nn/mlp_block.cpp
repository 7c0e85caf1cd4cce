#include <swinsmt/nn/mlp_block.hpp>

#include "nn/registration.hpp"

#include <ATen/ATen.h>

namespace swinsmt {

MLPBlockImpl::MLPBlockImpl(MLPBlockOptions options_) : options(options_) { reset(); }

void MLPBlockImpl::reset() {
  linear1 = detail::register_or_replace(*this, "linear1", torch::nn::Linear(options.hidden_size(), options.mlp_dim()));
  linear2 = detail::register_or_replace(*this, "linear2", torch::nn::Linear(options.mlp_dim(), options.hidden_size()));
}

void MLPBlockImpl::pretty_print(std::ostream& stream) const {
  stream << "swinsmt::MLPBlock(hidden_size=" << options.hidden_size() << ", mlp_dim=" << options.mlp_dim() << ")";
}

torch::Tensor MLPBlockImpl::forward(const torch::Tensor& x) { return linear2(at::gelu(linear1(x))); }

}  // namespace swinsmt
