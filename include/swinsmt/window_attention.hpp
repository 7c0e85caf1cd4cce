#pragma once
// Window multi-head self-attention with relative position bias (official `WindowAttention`).

#include <swinsmt/windows.hpp>

#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include <optional>

namespace swinsmt {

class WindowAttentionImpl : public torch::nn::Module {
 public:
  WindowAttentionImpl(int64_t dim, int64_t num_heads, Size3 window = {7, 7, 7}, bool qkv_bias = true);

  /// x: (B * nW, n, dim) window tokens with n <= prod(window); mask: (nW, n, n) additive or none.
  /// When windows were shrunk (n < 343), the bias uses the top-left n x n block of the full index,
  /// as the official code does.
  torch::Tensor forward(const torch::Tensor& x, const std::optional<torch::Tensor>& mask);

  int64_t dim, num_heads;
  Size3 window;
  double scale;
  /// CPU float32 with oneDNN: attend one (window, head) at a time in cache (src/window_attention_cpu.hpp).
  /// false: the ATen op sequence (what other devices and dtypes run; tests compare both).
  bool use_fused_cpu = true;
  torch::Tensor relative_position_bias_table, relative_position_index;
  torch::nn::Linear qkv{nullptr}, proj{nullptr};
};
TORCH_MODULE(WindowAttention);

}  // namespace swinsmt
