#include <swinsmt/error.hpp>
#include <swinsmt/window_attention.hpp>

#include <ATen/ATen.h>

#include <cmath>

namespace swinsmt {

WindowAttentionImpl::WindowAttentionImpl(int64_t dim_, int64_t num_heads_, Size3 window_, bool qkv_bias)
    : dim(dim_), num_heads(num_heads_), window(window_) {
  if (num_heads < 1 || dim % num_heads != 0)
    throw Error("WindowAttention: num_heads " + std::to_string(num_heads) + " must divide dim " + std::to_string(dim));
  scale = std::pow(static_cast<double>(dim / num_heads), -0.5);
  const int64_t table = (2 * window[0] - 1) * (2 * window[1] - 1) * (2 * window[2] - 1);
  relative_position_bias_table = register_parameter("relative_position_bias_table", at::zeros({table, num_heads}));
  relative_position_index = register_buffer("relative_position_index", swinsmt::relative_position_index(window));
  qkv = register_module("qkv", torch::nn::Linear(torch::nn::LinearOptions(dim, 3 * dim).bias(qkv_bias)));
  proj = register_module("proj", torch::nn::Linear(dim, dim));
}

torch::Tensor WindowAttentionImpl::forward(const torch::Tensor& x, const std::optional<torch::Tensor>& mask) {
  const int64_t bw = x.size(0), n = x.size(1), c = x.size(2);
  if (n > relative_position_index.size(0))
    throw Error("WindowAttention: " + std::to_string(n) + " tokens per window exceed the window size " +
                std::to_string(relative_position_index.size(0)));
  auto qkv_out = qkv(x).reshape({bw, n, 3, num_heads, c / num_heads}).permute({2, 0, 3, 1, 4});
  auto q = qkv_out[0] * scale;
  auto k = qkv_out[1];
  auto v = qkv_out[2];
  auto attn = at::matmul(q, k.transpose(-2, -1));  // (bw, heads, n, n)
  // Shrunk windows index the top-left n x n block of the full index, as the official code does.
  auto index = relative_position_index.narrow(0, 0, n).narrow(1, 0, n).reshape({-1});
  auto bias = relative_position_bias_table.index_select(0, index).view({n, n, -1}).permute({2, 0, 1});
  attn.add_(bias.unsqueeze(0).to(attn.scalar_type()));
  if (mask) {
    const int64_t nw = mask->size(0);
    attn.view({bw / nw, nw, num_heads, n, n}).add_(mask->unsqueeze(1).unsqueeze(0).to(attn.scalar_type()));
  }
  attn = at::softmax(attn, -1);
  return proj(at::matmul(attn, v).transpose(1, 2).reshape({bw, n, c}));
}

}  // namespace swinsmt
