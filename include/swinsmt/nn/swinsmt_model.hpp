#pragma once
// The Swin SMT network (official `SwinSMT`): Swin encoder + UNETR convolutional encoder/decoder.
// named_parameters() + named_buffers() equal the official state_dict keys, shapes and dtypes.

#include <swinsmt/nn/options.hpp>
#include <swinsmt/nn/swin_transformer.hpp>
#include <swinsmt/nn/unetr_blocks.hpp>

#include <torch/nn/cloneable.h>

#include <vector>

namespace swinsmt {

/// What a forward pass returns when the hidden states are asked for too.
struct ForwardResult {
  torch::Tensor logits;               ///< (B, out_channels, D, H, W)
  std::vector<torch::Tensor> hidden;  ///< the five swinViT outputs (after proj_out)
};

/// Inference only: forward() in eval() mode runs without autograd (under torch::NoGradGuard, so its
/// outputs are ordinary tensors the caller may modify in place); in train() mode it throws
/// swinsmt::Error ("swinsmt is inference-only: ...") where autograd would record or a dropout rate
/// is set, since neither gradients nor dropout are implemented.
class SwinSMTImpl : public torch::nn::Cloneable<SwinSMTImpl> {
 public:
  /// Builds the network with freshly initialised float32 CPU parameters. Throws swinsmt::Error
  /// for invalid options (see validate() in options.hpp).
  explicit SwinSMTImpl(SwinSMTOptions options);
  /// (Re)creates every submodule from `options` with fresh parameters; the constructor calls it,
  /// and it may be called again.
  void reset() override;
  void pretty_print(std::ostream& stream) const override;

  /// x: (B, in_channels, D, H, W) float, each spatial size >= 64 and divisible by 32.
  /// Returns logits (B, out_channels, D, H, W). Throws swinsmt::Error on a wrong shape.
  torch::Tensor forward(const torch::Tensor& x);
  /// Same, also returning hidden.0..4: (B, feature_size * 2^i, D / 2^(i+1), H / 2^(i+1), W / 2^(i+1))
  /// for i = 0..4, in the dtype of the model.
  ForwardResult forward_with_hidden(const torch::Tensor& x);
  /// forward() up to the output block: the decoder's (B, feature_size, D, H, W) map, of which
  /// `out` (a 1x1x1 convolution) makes the logits voxel by voxel: forward(x) equals out(decode(x)).
  /// Lets a caller apply `out` piece by piece (SlidingWindowInferer::argmax with a PointwiseHead).
  torch::Tensor decode(const torch::Tensor& x);

  /// Selects the Soft MoE kernel of every MoE layer (the default is MoeKernel::chunked).
  void set_moe_kernel(MoeKernel kernel);
  /// Sets SoftMoEOptions::bf16_products of every MoE layer: on CPU, the Soft MoE products with
  /// bfloat16 operands and float32 accumulation (what load() does for dtype bfloat16 on the CPU).
  /// Enabling it throws swinsmt::Error where cpu_bf16_products_available() is false.
  void set_bf16_products(bool enabled);

  SwinSMTOptions options;
  SwinTransformer swinViT{nullptr};
  UnetrBasicBlock encoder1{nullptr}, encoder2{nullptr}, encoder3{nullptr}, encoder4{nullptr}, encoder10{nullptr};
  UnetrUpBlock decoder5{nullptr}, decoder4{nullptr}, decoder3{nullptr}, decoder2{nullptr}, decoder1{nullptr};
  UnetOutBlock out{nullptr};

 private:
  /// With `head` false, ForwardResult::logits is the decoder's output (decode()).
  ForwardResult run(const torch::Tensor& x, bool keep_hidden, bool head = true);
};
TORCH_MODULE(SwinSMT);

/// Number of parameters (not buffers), like sum(p.numel() for p in model.parameters()).
int64_t parameter_count(const torch::nn::Module& module);

}  // namespace swinsmt
