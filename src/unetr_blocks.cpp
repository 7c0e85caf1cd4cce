#include <swinsmt/unetr_blocks.hpp>

#include <ATen/ATen.h>

namespace swinsmt {
namespace {
constexpr double kLeakySlope = 0.01;  // MONAI UnetResBlock default act ("leakyrelu", slope 0.01)
constexpr double kNormEps = 1e-5;     // torch.nn.InstanceNorm3d default
}  // namespace

void instance_norm_(torch::Tensor& x) {
  // In place, so the largest decoder stage does not hold two full-resolution maps at once.
  // Statistics per (sample, channel) over the spatial axes, biased variance, like InstanceNorm3d.
  const std::vector<int64_t> spatial{2, 3, 4};
  auto [var, mean] = at::var_mean(x, spatial, /*unbiased=*/false, /*keepdim=*/true);
  x.sub_(mean).mul_(var.add_(kNormEps).rsqrt_());
}

ConvLayerImpl::ConvLayerImpl(ConvOptions options_) : options(std::move(options_)) { reset(); }

void ConvLayerImpl::reset() {
  const auto& o = options;
  // MONAI get_padding: (k - s + 1) / 2, truncated; get_output_padding: 2p + s - k.
  const int64_t padding = (o.kernel_size() - o.stride() + 1) / 2;
  if (o.transposed()) {
    const int64_t output_padding = 2 * padding + o.stride() - o.kernel_size();
    transp = register_module(
        "conv", torch::nn::ConvTranspose3d(torch::nn::ConvTranspose3dOptions(o.in_channels(), o.out_channels(), o.kernel_size())
                                               .stride(o.stride())
                                               .padding(padding)
                                               .output_padding(output_padding)
                                               .bias(o.bias())));
  } else {
    conv = register_module("conv", torch::nn::Conv3d(torch::nn::Conv3dOptions(o.in_channels(), o.out_channels(), o.kernel_size())
                                                         .stride(o.stride())
                                                         .padding(padding)
                                                         .bias(o.bias())));
  }
}

torch::Tensor ConvLayerImpl::forward(const torch::Tensor& x) { return transp ? transp(x) : conv(x); }

UnetResBlockImpl::UnetResBlockImpl(int64_t in_channels, int64_t out_channels, int64_t kernel_size) {
  conv1 = register_module("conv1", ConvLayer(ConvOptions(in_channels, out_channels, kernel_size)));
  conv2 = register_module("conv2", ConvLayer(ConvOptions(out_channels, out_channels, kernel_size)));
  // MONAI adds the 1x1 projection (conv3 + norm3) only when the channel count changes (stride is 1).
  if (in_channels != out_channels)
    conv3 = register_module("conv3", ConvLayer(ConvOptions(in_channels, out_channels, 1)));
}

torch::Tensor UnetResBlockImpl::forward(torch::Tensor x) {
  // Each intermediate is released as soon as it is used: at 128^3 with feature 48 one map is 400 MB.
  auto out = conv1(x);
  instance_norm_(out);
  at::leaky_relu_(out, kLeakySlope);
  out = conv2(out);
  instance_norm_(out);
  if (conv3) {
    auto residual = conv3(x);
    x.reset();
    instance_norm_(residual);
    out.add_(residual);
  } else {
    out.add_(x);
    x.reset();
  }
  at::leaky_relu_(out, kLeakySlope);
  return out;
}

UnetrBasicBlockImpl::UnetrBasicBlockImpl(int64_t in_channels, int64_t out_channels) {
  layer = register_module("layer", UnetResBlock(in_channels, out_channels, 3));
}

torch::Tensor UnetrBasicBlockImpl::forward(torch::Tensor x) { return layer(std::move(x)); }

UnetrUpBlockImpl::UnetrUpBlockImpl(int64_t in_channels, int64_t out_channels) {
  transp_conv = register_module("transp_conv",
                                ConvLayer(ConvOptions(in_channels, out_channels, 2).stride(2).transposed(true)));
  conv_block = register_module("conv_block", UnetResBlock(2 * out_channels, out_channels, 3));
}

torch::Tensor UnetrUpBlockImpl::forward(torch::Tensor x, torch::Tensor skip) {
  auto up = transp_conv(x);
  x.reset();
  auto cat = at::cat({up, skip}, 1);
  up.reset();  // the concatenation holds both: free them before the conv block allocates
  skip.reset();
  return conv_block(std::move(cat));
}

UnetOutBlockImpl::UnetOutBlockImpl(int64_t in_channels, int64_t out_channels) {
  conv = register_module("conv", ConvLayer(ConvOptions(in_channels, out_channels, 1).bias(true)));
}

torch::Tensor UnetOutBlockImpl::forward(const torch::Tensor& x) { return conv(x); }

}  // namespace swinsmt
