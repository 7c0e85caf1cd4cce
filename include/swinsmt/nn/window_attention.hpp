#pragma once
// Window multi-head self-attention with relative position bias (official `WindowAttention`).

#include <swinsmt/nn/shift_mask.hpp>
#include <swinsmt/nn/windows.hpp>

#include <torch/arg.h>
#include <torch/nn/cloneable.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include <optional>

namespace swinsmt {

struct WindowAttentionOptions {
  WindowAttentionOptions(int64_t dim, int64_t num_heads) : dim_(dim), num_heads_(num_heads) {}
  TORCH_ARG(int64_t, dim);
  TORCH_ARG(int64_t, num_heads);  ///< must divide dim
  TORCH_ARG(Size3, window) = Size3{7, 7, 7};
  TORCH_ARG(bool, qkv_bias) = true;
  /// Kernel selection. true: on CPU in float32 with oneDNN, attend one (window, head) pair at a time
  /// in cache (src/kernels/window_attention_cpu.hpp). false: the ATen op sequence, what other devices
  /// and dtypes run (the tests compare both).
  TORCH_ARG(bool, fused_cpu) = true;
};

class WindowAttentionImpl : public torch::nn::Cloneable<WindowAttentionImpl> {
 public:
  explicit WindowAttentionImpl(WindowAttentionOptions options);
  /// Throws swinsmt::Error when num_heads does not divide dim.
  void reset() override;
  void pretty_print(std::ostream& stream) const override;

  /// x: (B * nW, n, dim) window tokens with n <= prod(window); mask: the stage's shift mask over nW
  /// windows of n tokens (official: its additive (nW, n, n) form), or none.
  /// When windows were shrunk (n < 343), the bias uses the top-left n x n block of the full index,
  /// as the official code does. Inference only: throws swinsmt::Error where autograd would record.
  torch::Tensor forward(const torch::Tensor& x, const std::optional<ShiftMask>& mask);

  WindowAttentionOptions options;
  double scale = 1.0;  ///< head_dim^-0.5, set by reset()
  torch::Tensor relative_position_bias_table, relative_position_index;
  torch::nn::Linear qkv{nullptr}, proj{nullptr};
};
TORCH_MODULE(WindowAttention);

}  // namespace swinsmt
