#pragma once
// The Soft Mixture-of-Experts of Swin SMT: `DynamicSlotsSoftMoE` from the official
// src/models/soft_moe/soft_moe_with_dynamic_slots.py (RMSNorm, dynamic slot embeddings from the mean
// of consecutive token groups, dispatch softmax over tokens, combine softmax over slots).
//
// Registered names: norm.gamma, to_slot_embeds.0.weight, to_slot_embeds.2.gamma,
// experts.<i>.0.{weight,bias}, experts.<i>.3.{weight,bias}.

#include <torch/arg.h>
#include <torch/nn/cloneable.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include <optional>

namespace swinsmt {

/// How the N x (E*S) dispatch/combine weights are computed. All compute the same function.
enum class MoeKernel {
  /// The official op sequence: materialises the full N x N logits (quadratic memory).
  reference,
  /// Exact softmax-attention in chunks (scale 1): no N x N tensor ever exists. On CPU in float32
  /// both softmaxes of a block take two fused, vectorised passes; elsewhere it is chunked_aten.
  chunked,
  /// The chunked kernel built from ATen ops only (any device and dtype; what CUDA runs).
  chunked_aten,
};

struct RMSNormOptions {
  explicit RMSNormOptions(int64_t dim) : dim_(dim) {}
  TORCH_ARG(int64_t, dim);
};

/// RMSNorm of the official code: F.normalize(x, dim=-1) * sqrt(dim) * gamma.
class RMSNormImpl : public torch::nn::Cloneable<RMSNormImpl> {
 public:
  explicit RMSNormImpl(RMSNormOptions options);
  void reset() override;
  void pretty_print(std::ostream& stream) const override;
  /// x: (..., dim) floating point; returns the same shape and dtype.
  torch::Tensor forward(const torch::Tensor& x);

  RMSNormOptions options;
  double scale = 1.0;  ///< sqrt(dim), set by reset()
  torch::Tensor gamma;
};
TORCH_MODULE(RMSNorm);

struct ExpertOptions {
  ExpertOptions(int64_t dim, int64_t hidden) : dim_(dim), hidden_(hidden) {}
  TORCH_ARG(int64_t, dim);
  TORCH_ARG(int64_t, hidden);
};

/// One expert: Linear(dim, hidden) -> GELU -> Dropout -> Linear(hidden, dim), registered as
/// Sequential indices "0" and "3".
class ExpertImpl : public torch::nn::Cloneable<ExpertImpl> {
 public:
  explicit ExpertImpl(ExpertOptions options);
  void reset() override;
  void pretty_print(std::ostream& stream) const override;
  /// x: (..., dim) floating point; returns the same shape and dtype.
  torch::Tensor forward(const torch::Tensor& x);

  ExpertOptions options;
  torch::nn::Linear fc1{nullptr}, fc2{nullptr};
};
TORCH_MODULE(Expert);

struct SlotEmbedOptions {
  SlotEmbedOptions(int64_t dim, int64_t num_experts) : dim_(dim), num_experts_(num_experts) {}
  TORCH_ARG(int64_t, dim);
  TORCH_ARG(int64_t, num_experts);
};

/// `to_slot_embeds`: Sequential(Linear(dim, dim*E, bias=False), Rearrange, RMSNorm(dim)).
class SlotEmbedImpl : public torch::nn::Cloneable<SlotEmbedImpl> {
 public:
  explicit SlotEmbedImpl(SlotEmbedOptions options);
  void reset() override;
  void pretty_print(std::ostream& stream) const override;
  /// (B, S, dim) token-group means -> (B, E, S, dim) normalised slot embeddings.
  torch::Tensor forward(const torch::Tensor& means);

  SlotEmbedOptions options;
  torch::nn::Linear proj{nullptr};
  RMSNorm norm{nullptr};
};
TORCH_MODULE(SlotEmbed);

struct SoftMoEOptions {
  SoftMoEOptions(int64_t dim, int64_t num_experts) : dim_(dim), num_experts_(num_experts) {}
  TORCH_ARG(int64_t, dim);
  TORCH_ARG(int64_t, num_experts);
  TORCH_ARG(double, expert_mult) = 4.0;
  TORCH_ARG(MoeKernel, kernel) = MoeKernel::chunked;
  /// Slots whose logits (chunk_size x tokens) the chunked kernel computes at once. 1024 keeps the
  /// matrix products wide enough for BLAS (at 32768 tokens: 2 x 128 MB of block buffers).
  TORCH_ARG(int64_t, chunk_size) = 1024;
  /// Tokens per logits tile of the fused CPU kernel (MoeKernel::chunked on CPU, float32); 0 picks
  /// tiles of about 16 MB, which stay in the last-level cache.
  TORCH_ARG(int64_t, tile_size) = 0;
  /// The fused CPU kernel's three products (logits, dispatch, combine) with bfloat16 operands and
  /// float32 accumulation (oneDNN); fast only where the CPU has AVX512-BF16
  /// (cpu_bf16_products_available() in swinsmt/kernels/runtime_info.hpp). Everything else stays
  /// float32. Other kernels and devices ignore it.
  TORCH_ARG(bool, bf16_products) = false;
};

class SoftMoEImpl : public torch::nn::Cloneable<SoftMoEImpl> {
 public:
  explicit SoftMoEImpl(SoftMoEOptions options);
  /// Throws swinsmt::Error when dim or num_experts is < 1.
  void reset() override;
  void pretty_print(std::ostream& stream) const override;

  /// x: (B, N, dim). mask: optional bool (B, N), true = token is valid (key padding).
  /// Returns (B, N, dim). The number of slots equals N rounded up to a multiple of num_experts.
  /// Inference only: throws swinsmt::Error where autograd would record.
  torch::Tensor forward(const torch::Tensor& x, const std::optional<torch::Tensor>& mask = std::nullopt);

  SoftMoEOptions options;
  RMSNorm norm{nullptr};

 private:
  at::Tensor run_expert(int64_t index, const at::Tensor& slots);
  at::Tensor reference_forward(const at::Tensor& x, const at::Tensor& slot_embeds,
                               const std::optional<at::Tensor>& mask, const at::Tensor& slot_valid, int64_t seq_len);
  at::Tensor chunked_forward(const at::Tensor& x, const at::Tensor& slot_embeds, const std::optional<at::Tensor>& mask,
                             const at::Tensor& slot_valid, int64_t seq_len);
  at::Tensor fused_cpu_forward(const at::Tensor& x, const at::Tensor& slot_embeds,
                               const std::optional<at::Tensor>& mask, const at::Tensor& slot_valid, int64_t seq_len);

 public:
  SlotEmbed to_slot_embeds{nullptr};
  torch::nn::ModuleList experts{nullptr};
};
TORCH_MODULE(SoftMoE);

}  // namespace swinsmt
