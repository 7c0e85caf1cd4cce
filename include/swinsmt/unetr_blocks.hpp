#pragma once
// The MONAI 1.3 convolution blocks the official SwinSMT is built from (monai/networks/blocks):
// `Convolution` (conv only), `UnetResBlock`, `UnetrBasicBlock`, `UnetrUpBlock`, `UnetOutBlock`.
// Registered names follow MONAI so that state_dict keys match (`encoder1.layer.conv1.conv.weight`).

#include <torch/nn/module.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <vector>

namespace swinsmt {

/// MONAI `Convolution(conv_only=True or act=norm=None)`: a Sequential whose only child is "conv".
/// Padding is MONAI's get_padding, (k - s + 1) / 2; transposed convs get MONAI's output padding.
struct ConvOptions {
  ConvOptions(int64_t in_channels, int64_t out_channels, int64_t kernel_size)
      : in_channels_(in_channels), out_channels_(out_channels), kernel_size_(kernel_size) {}
  TORCH_ARG(int64_t, in_channels);
  TORCH_ARG(int64_t, out_channels);
  TORCH_ARG(int64_t, kernel_size);
  TORCH_ARG(int64_t, stride) = 1;
  TORCH_ARG(bool, bias) = false;
  TORCH_ARG(bool, transposed) = false;
};

class ConvLayerImpl : public torch::nn::Module {
 public:
  explicit ConvLayerImpl(ConvOptions options);
  void reset();
  torch::Tensor forward(const torch::Tensor& x);
  /// The convolution of the channel concatenation of `parts` (same batch and spatial size), without
  /// building the concatenated map where the CPU kernels can read the parts directly (3x3x3 by
  /// Winograd, 1x1x1 as one product per part); elsewhere it concatenates.
  torch::Tensor forward_concatenated(at::TensorList parts);

  ConvOptions options;
  torch::nn::Conv3d conv{nullptr};
  torch::nn::ConvTranspose3d transp{nullptr};

 private:
  torch::Tensor transposed_forward(const torch::Tensor& x);
};
TORCH_MODULE(ConvLayer);

/// MONAI `UnetResBlock`: conv-IN-lrelu-conv-IN + (1x1 conv-IN when channels change) then lrelu.
/// Instance norm has no affine parameters; leaky ReLU slope 0.01 (MONAI defaults).
class UnetResBlockImpl : public torch::nn::Module {
 public:
  UnetResBlockImpl(int64_t in_channels, int64_t out_channels, int64_t kernel_size = 3);
  /// Takes the input by value so that a moved-in input is freed as early as possible.
  torch::Tensor forward(torch::Tensor x);
  /// forward() of the channel concatenation of `parts` (moved in: each is freed once used).
  torch::Tensor forward_concatenated(std::vector<torch::Tensor> parts);

  ConvLayer conv1{nullptr}, conv2{nullptr}, conv3{nullptr};
};
TORCH_MODULE(UnetResBlock);

/// MONAI `UnetrBasicBlock(res_block=True)`: a UnetResBlock registered as "layer".
class UnetrBasicBlockImpl : public torch::nn::Module {
 public:
  UnetrBasicBlockImpl(int64_t in_channels, int64_t out_channels);
  torch::Tensor forward(torch::Tensor x);

  UnetResBlock layer{nullptr};
};
TORCH_MODULE(UnetrBasicBlock);

/// MONAI `UnetrUpBlock(res_block=True)`: 2x transposed conv, concat with the skip, UnetResBlock.
class UnetrUpBlockImpl : public torch::nn::Module {
 public:
  UnetrUpBlockImpl(int64_t in_channels, int64_t out_channels);
  /// x: (B, in, D, H, W); skip: (B, out, 2D, 2H, 2W). Both by value: moved-in maps are freed early.
  torch::Tensor forward(torch::Tensor x, torch::Tensor skip);

  ConvLayer transp_conv{nullptr};
  UnetResBlock conv_block{nullptr};
};
TORCH_MODULE(UnetrUpBlock);

/// MONAI `UnetOutBlock`: 1x1x1 conv with bias, registered as "conv".
class UnetOutBlockImpl : public torch::nn::Module {
 public:
  UnetOutBlockImpl(int64_t in_channels, int64_t out_channels);
  torch::Tensor forward(const torch::Tensor& x);

  ConvLayer conv{nullptr};
};
TORCH_MODULE(UnetOutBlock);

/// InstanceNorm3d without affine parameters or running stats (eps 1e-5), as MONAI builds it,
/// computed in place on (B, C, D, H, W).
void instance_norm_(torch::Tensor& x);

}  // namespace swinsmt
