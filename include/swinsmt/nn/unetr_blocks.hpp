#pragma once
// The MONAI 1.3 convolution blocks the official SwinSMT is built from (monai/networks/blocks):
// `Convolution` (conv only), `UnetResBlock`, `UnetrBasicBlock`, `UnetrUpBlock`, `UnetOutBlock`.
// Registered names follow MONAI so that state_dict keys match (`encoder1.layer.conv1.conv.weight`).

#include <torch/arg.h>
#include <torch/nn/cloneable.h>
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

class ConvLayerImpl : public torch::nn::Cloneable<ConvLayerImpl> {
 public:
  explicit ConvLayerImpl(ConvOptions options);
  void reset() override;
  void pretty_print(std::ostream& stream) const override;
  torch::Tensor forward(const torch::Tensor& x);
  /// The convolution of the channel concatenation of `parts` (same batch and spatial size), without
  /// building the concatenated map where the CPU kernels can read the parts directly (3x3x3 by
  /// Winograd, 1x1x1 as one product per part); elsewhere it concatenates.
  torch::Tensor forward_concatenated(at::TensorList parts);
  /// True when forward_concatenated_over_first() would write over `parts[0]`: a 1x1x1 layer, no
  /// autograd, float32 CPU parts, and parts[0] a contiguous map with out_channels channels that
  /// nothing else refers to (one reference to the tensor and to its storage).
  bool can_write_over_first(const std::vector<torch::Tensor>& parts) const;
  /// forward_concatenated(), written over `parts[0]` a block of voxels at a time where
  /// can_write_over_first(), else into a new tensor. Saves one full-size map where the caller no
  /// longer needs parts[0].
  torch::Tensor forward_concatenated_over_first(std::vector<torch::Tensor>& parts);

  ConvOptions options;
  torch::nn::Conv3d conv{nullptr};
  torch::nn::ConvTranspose3d transp{nullptr};

 private:
  torch::Tensor transposed_forward(const torch::Tensor& x);
  /// True when the 1x1x1 product path takes the concatenation of `parts`: a stride-1 1x1x1 layer
  /// with float32 CPU weights, float32 CPU parts of one map with in_channels channels in all, and
  /// nothing recording gradients.
  bool pointwise_applies(at::TensorList parts) const;
  /// The 1x1x1 convolution of the parts' concatenation (float32 CPU parts of one map).
  torch::Tensor pointwise_forward(at::TensorList parts) const;
  /// out (out_channels x voxels, row-major) = this 1x1x1 layer's weight . voxels
  /// [first_voxel, first_voxel + voxels) of sample n of the parts' concatenation (no bias).
  void pointwise_product_into(at::Tensor& out, at::TensorList parts, int64_t n, int64_t first_voxel,
                              int64_t voxels) const;
};
TORCH_MODULE(ConvLayer);

struct UnetResBlockOptions {
  UnetResBlockOptions(int64_t in_channels, int64_t out_channels)
      : in_channels_(in_channels), out_channels_(out_channels) {}
  TORCH_ARG(int64_t, in_channels);
  TORCH_ARG(int64_t, out_channels);
  TORCH_ARG(int64_t, kernel_size) = 3;
};

/// MONAI `UnetResBlock`: conv-IN-lrelu-conv-IN + (1x1 conv-IN when channels change) then lrelu.
/// Instance norm has no affine parameters; leaky ReLU slope 0.01 (MONAI defaults). Inference only:
/// the norms run in place (swinsmt::Error where autograd would record).
class UnetResBlockImpl : public torch::nn::Cloneable<UnetResBlockImpl> {
 public:
  explicit UnetResBlockImpl(UnetResBlockOptions options);
  void reset() override;
  void pretty_print(std::ostream& stream) const override;
  /// Takes the input by value so that a moved-in input is freed as early as possible.
  torch::Tensor forward(torch::Tensor x);
  /// forward() of the channel concatenation of `parts` (moved in: each is freed once used).
  torch::Tensor forward_concatenated(std::vector<torch::Tensor> parts);

  UnetResBlockOptions options;
  ConvLayer conv1{nullptr}, conv2{nullptr}, conv3{nullptr};  ///< conv3 only when the channel count changes
};
TORCH_MODULE(UnetResBlock);

/// The channels of a UNETR block (UnetrBasicBlock, UnetrUpBlock, UnetOutBlock): MONAI builds them
/// with kernel 3 (2 for the up-convolution) and stride 1, as Swin SMT does.
struct UnetrBlockOptions {
  UnetrBlockOptions(int64_t in_channels, int64_t out_channels)
      : in_channels_(in_channels), out_channels_(out_channels) {}
  TORCH_ARG(int64_t, in_channels);
  TORCH_ARG(int64_t, out_channels);
};
using UnetrBasicBlockOptions = UnetrBlockOptions;
using UnetrUpBlockOptions = UnetrBlockOptions;
using UnetOutBlockOptions = UnetrBlockOptions;

/// MONAI `UnetrBasicBlock(res_block=True)`: a UnetResBlock registered as "layer".
class UnetrBasicBlockImpl : public torch::nn::Cloneable<UnetrBasicBlockImpl> {
 public:
  explicit UnetrBasicBlockImpl(UnetrBasicBlockOptions options);
  void reset() override;
  void pretty_print(std::ostream& stream) const override;
  torch::Tensor forward(torch::Tensor x);

  UnetrBasicBlockOptions options;
  UnetResBlock layer{nullptr};
};
TORCH_MODULE(UnetrBasicBlock);

/// MONAI `UnetrUpBlock(res_block=True)`: 2x transposed conv, concat with the skip, UnetResBlock.
class UnetrUpBlockImpl : public torch::nn::Cloneable<UnetrUpBlockImpl> {
 public:
  explicit UnetrUpBlockImpl(UnetrUpBlockOptions options);
  void reset() override;
  void pretty_print(std::ostream& stream) const override;
  /// x: (B, in, D, H, W); skip: (B, out, 2D, 2H, 2W). Both by value: moved-in maps are freed early.
  torch::Tensor forward(torch::Tensor x, torch::Tensor skip);

  UnetrUpBlockOptions options;
  ConvLayer transp_conv{nullptr};
  UnetResBlock conv_block{nullptr};
};
TORCH_MODULE(UnetrUpBlock);

/// MONAI `UnetOutBlock`: 1x1x1 conv with bias, registered as "conv".
class UnetOutBlockImpl : public torch::nn::Cloneable<UnetOutBlockImpl> {
 public:
  explicit UnetOutBlockImpl(UnetOutBlockOptions options);
  void reset() override;
  void pretty_print(std::ostream& stream) const override;
  torch::Tensor forward(const torch::Tensor& x);

  UnetOutBlockOptions options;
  ConvLayer conv{nullptr};
};
TORCH_MODULE(UnetOutBlock);

/// InstanceNorm3d without affine parameters or running stats (eps 1e-5), as MONAI builds it,
/// computed in place on (B, C, D, H, W). Throws swinsmt::Error where autograd would record.
void instance_norm_(torch::Tensor& x);

}  // namespace swinsmt
