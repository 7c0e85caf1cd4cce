#include <swinsmt/error.hpp>
#include <swinsmt/nn/unetr_blocks.hpp>

#include "kernels/autograd_guard.hpp"
#include "kernels/cpu_matmul.hpp"
#include "kernels/instance_norm_cpu.hpp"
#include "kernels/winograd_conv3d.hpp"
#include "nn/registration.hpp"

#include <ATen/ATen.h>

#include <algorithm>
#include <string>

namespace swinsmt {
namespace {
constexpr double kLeakySlope = 0.01;  // MONAI UnetResBlock default act ("leakyrelu", slope 0.01)
constexpr double kNormEps = 1e-5;     // torch.nn.InstanceNorm3d default
// On CPU, convolutions over maps larger than this run slab by slab along D: oneDNN otherwise keeps
// reordered copies of the whole input and output (several 400 MB maps at 128^3, feature 48).
constexpr int64_t kSlabBytes = 64ll << 20;
// forward_concatenated_over_first computes this many voxels at a time (12 MB of scratch at 48 channels).
constexpr int64_t kPointwiseBlockVoxels = 1 << 16;

// instance_norm_ followed by leaky ReLU; fused into two passes over memory where the CPU kernel
// applies (src/kernels/instance_norm_cpu.hpp).
void instance_norm_leaky_relu_(torch::Tensor& x) {
  detail::require_no_gradient("instance norm (UnetResBlock)", {x});
  if (detail::instance_norm_cpu_applies(x)) return detail::instance_norm_cpu_(x, kNormEps, kLeakySlope);
  instance_norm_(x);
  at::leaky_relu_(x, kLeakySlope);
}

}  // namespace

void instance_norm_(torch::Tensor& x) {
  detail::require_no_gradient("instance norm (UnetResBlock)", {x});
  if (detail::instance_norm_cpu_applies(x)) return detail::instance_norm_cpu_(x, kNormEps, std::nullopt);
  // In place, so the largest decoder stage does not hold two full-resolution maps at once.
  // Instance norm of (B, C, ...) is batch norm of (1, B*C, ...): batch_norm_update_stats gives the
  // per-(sample, channel) mean and biased variance with the same kernel InstanceNorm3d uses.
  if (!x.is_contiguous()) x = x.contiguous();
  const int64_t planes = x.size(0) * x.size(1);
  auto flat = x.view({1, planes, -1});
  auto stats = at::batch_norm_update_stats(flat, {}, {}, 0.1);
  auto mean = std::get<0>(stats).view({1, planes, 1});
  auto rstd = std::get<1>(stats).add_(kNormEps).rsqrt_().view({1, planes, 1});
  flat.sub_(mean).mul_(rstd);
}

ConvLayerImpl::ConvLayerImpl(ConvOptions options_) : options(options_) { reset(); }

void ConvLayerImpl::reset() {
  const auto& o = options;
  // MONAI get_padding: (k - s + 1) / 2, truncated; get_output_padding: 2p + s - k.
  const int64_t padding = (o.kernel_size() - o.stride() + 1) / 2;
  // Both kinds are registered as "conv" (MONAI's name); the holder of the other kind stays empty.
  conv = nullptr;
  transp = nullptr;
  if (o.transposed()) {
    const int64_t output_padding = 2 * padding + o.stride() - o.kernel_size();
    transp = detail::register_or_replace(
        *this, "conv",
        torch::nn::ConvTranspose3d(torch::nn::ConvTranspose3dOptions(o.in_channels(), o.out_channels(), o.kernel_size())
                                       .stride(o.stride())
                                       .padding(padding)
                                       .output_padding(output_padding)
                                       .bias(o.bias())));
  } else {
    conv = detail::register_or_replace(
        *this, "conv",
        torch::nn::Conv3d(torch::nn::Conv3dOptions(o.in_channels(), o.out_channels(), o.kernel_size())
                              .stride(o.stride())
                              .padding(padding)
                              .bias(o.bias())));
  }
}

void ConvLayerImpl::pretty_print(std::ostream& stream) const {
  const auto& o = options;
  stream << "swinsmt::ConvLayer(" << o.in_channels() << ", " << o.out_channels() << ", kernel_size=" << o.kernel_size()
         << ", stride=" << o.stride() << ", bias=" << (o.bias() ? "true" : "false")
         << ", transposed=" << (o.transposed() ? "true" : "false") << ")";
}

torch::Tensor ConvLayerImpl::forward(const torch::Tensor& x) {
  if (transp) return transposed_forward(x);
  const auto& o = options;
  const int64_t pad = (o.kernel_size() - 1) / 2;
  if (o.kernel_size() == 3 && o.stride() == 1 && detail::winograd_conv3d_applies({x}, conv->weight) &&
      !detail::records_gradient({x, conv->weight, conv->bias}))
    return detail::winograd_conv3d({x}, conv->weight, conv->bias);
  // A 1x1x1 convolution as one product per sample, written straight into the result: oneDNN's
  // convolution would add reordered copies of input and output slabs (the output head: 118 channels
  // of 128^3 voxels, 0.4 GB on top of its 1 GB result).
  if (pointwise_applies({x})) return pointwise_forward({x});
  if (!x.is_cpu() || o.stride() != 1 || x.dim() != 5 || static_cast<int64_t>(x.nbytes()) <= kSlabBytes) return conv(x);
  // A stride-1 "same" convolution computed on slabs of output slices: each slab reads its input
  // slices plus a halo of `pad` neighbours (zeros beyond the volume), so every output voxel sums
  // exactly the products it sums in one call.
  const int64_t d = x.size(2);
  const int64_t slab = std::max<int64_t>(1, kSlabBytes / std::max<int64_t>(1, static_cast<int64_t>(x.nbytes()) / d));
  auto out = at::empty({x.size(0), o.out_channels(), d, x.size(3), x.size(4)}, x.options());
  for (int64_t d0 = 0; d0 < d; d0 += slab) {
    const int64_t d1 = std::min(d, d0 + slab);
    const int64_t lo = std::max<int64_t>(0, d0 - pad), hi = std::min(d, d1 + pad);
    auto piece = x.narrow(2, lo, hi - lo);
    const int64_t front = pad - (d0 - lo), back = pad - (hi - d1);
    if (front > 0 || back > 0) piece = at::constant_pad_nd(piece, {0, 0, 0, 0, front, back}, 0);
    out.narrow(2, d0, d1 - d0).copy_(at::conv3d(piece, conv->weight, conv->bias, 1, {0, pad, pad}));
  }
  return out;
}

torch::Tensor ConvLayerImpl::forward_concatenated(at::TensorList parts) {
  const auto& o = options;
  int64_t channels = 0;
  for (const auto& p : parts) channels += p.dim() > 1 ? p.size(1) : 0;
  if (parts.empty() || channels != o.in_channels())
    throw Error("ConvLayer: the parts to concatenate have " + std::to_string(channels) +
                " channels in all, the layer expects " + std::to_string(o.in_channels()));
  if (parts.size() == 1) return forward(parts[0]);
  if (!transp && o.stride() == 1 && o.kernel_size() == 3 && detail::winograd_conv3d_applies(parts, conv->weight) &&
      !detail::records_gradient(parts) && !detail::records_gradient({conv->weight, conv->bias}))
    return detail::winograd_conv3d(parts, conv->weight, conv->bias);
  if (pointwise_applies(parts)) return pointwise_forward(parts);
  return forward(at::cat(parts, 1));
}

torch::Tensor ConvLayerImpl::pointwise_forward(at::TensorList parts) const {
  const auto& first = parts[0];
  const int64_t voxels = first[0][0].numel();
  auto out =
      at::empty({first.size(0), options.out_channels(), first.size(2), first.size(3), first.size(4)}, first.options());
  for (int64_t n = 0; n < first.size(0); ++n) {
    auto out_n = out[n].view({options.out_channels(), voxels});
    pointwise_product_into(out_n, parts, n, 0, voxels);
  }
  if (conv->bias.defined()) out.add_(conv->bias.view({1, options.out_channels(), 1, 1, 1}));
  return out;
}

void ConvLayerImpl::pointwise_product_into(at::Tensor& out, at::TensorList parts, int64_t n, int64_t first_voxel,
                                           int64_t voxels) const {
  // A 1x1x1 convolution is W . x per sample: the concatenation's product is the sum of each part's
  // product with its columns of W, accumulated in place.
  const auto weight = conv->weight.view({options.out_channels(), options.in_channels()});
  int64_t offset = 0;
  for (const auto& p : parts) {
    const int64_t c = p.size(1);
    const auto columns = p[n].reshape({c, -1}).narrow(1, first_voxel, voxels);
    detail::matmul_into(out, weight.narrow(1, offset, c), columns, offset == 0 ? 0.0f : 1.0f);
    offset += c;
  }
}

bool ConvLayerImpl::pointwise_applies(at::TensorList parts) const {
  const auto& o = options;
  if (transp || o.kernel_size() != 1 || o.stride() != 1 || !detail::cpu_float_parts_of_one_map(parts) ||
      conv->weight.scalar_type() != at::kFloat || !conv->weight.is_cpu() || detail::records_gradient(parts) ||
      detail::records_gradient({conv->weight, conv->bias}))
    return false;
  int64_t channels = 0;
  for (const auto& p : parts) channels += p.size(1);
  return channels == o.in_channels();
}

bool ConvLayerImpl::can_write_over_first(const std::vector<torch::Tensor>& parts) const {
  if (parts.empty() || !pointwise_applies(parts)) return false;
  const at::Tensor& first = parts[0];
  // Only a map nobody else can see may be overwritten: one reference to the tensor and to its storage.
  const bool owned = first.defined() && first.use_count() == 1 && first.storage().use_count() == 1;
  return owned && first.size(1) == options.out_channels() && first.is_contiguous();
}

torch::Tensor ConvLayerImpl::forward_concatenated_over_first(std::vector<torch::Tensor>& parts) {
  if (!can_write_over_first(parts)) return forward_concatenated(parts);
  const auto& o = options;
  at::Tensor& first = parts[0];
  // Each block of voxels is computed into a scratch block, then copied over the same voxels of
  // parts[0]: a 1x1x1 convolution reads nothing outside the voxels it writes.
  const int64_t voxels = first[0][0].numel(), cout = o.out_channels();
  const int64_t block = std::min<int64_t>(voxels, kPointwiseBlockVoxels);
  auto scratch = at::empty({cout, block}, first.options());
  for (int64_t n = 0; n < first.size(0); ++n) {
    auto target = first[n].view({cout, voxels});
    for (int64_t v0 = 0; v0 < voxels; v0 += block) {
      const int64_t nv = std::min(block, voxels - v0);
      auto out = scratch.narrow(1, 0, nv);
      pointwise_product_into(out, parts, n, v0, nv);
      target.narrow(1, v0, nv).copy_(out);
    }
  }
  if (conv->bias.defined()) first.add_(conv->bias.view({1, cout, 1, 1, 1}));
  return std::move(first);
}

torch::Tensor ConvLayerImpl::transposed_forward(const torch::Tensor& x) {
  const auto& o = options;
  if (!x.is_cpu() || o.kernel_size() != 2 || o.stride() != 2 || x.dim() != 5) return transp(x);
  // Kernel 2, stride 2: every input voxel writes its own 2x2x2 output block, x_voxel . W[cin, :],
  // which is one matrix product per slab (LibTorch's CPU path would build a full column buffer).
  const int64_t b = x.size(0), cin = x.size(1), d = x.size(2), h = x.size(3), w = x.size(4), cout = o.out_channels();
  const auto weight = transp->weight.reshape({cin, cout * 8});
  auto out = at::empty({b, cout, 2 * d, 2 * h, 2 * w}, x.options());
  const int64_t out_slice_bytes = b * cout * 8 * h * w * static_cast<int64_t>(x.element_size());
  const int64_t slab = std::max<int64_t>(1, kSlabBytes / out_slice_bytes);
  for (int64_t d0 = 0; d0 < d; d0 += slab) {
    const int64_t n = std::min(slab, d - d0);
    auto voxels = x.narrow(2, d0, n).permute({0, 2, 3, 4, 1}).reshape({b * n * h * w, cin});
    auto blocks = at::mm(voxels, weight).view({b, n, h, w, cout, 2, 2, 2}).permute({0, 4, 1, 5, 2, 6, 3, 7});
    out.narrow(2, 2 * d0, 2 * n).view({b, cout, n, 2, h, 2, w, 2}).copy_(blocks);
  }
  if (transp->bias.defined()) out.add_(transp->bias.view({1, cout, 1, 1, 1}));
  return out;
}

UnetResBlockImpl::UnetResBlockImpl(UnetResBlockOptions options_) : options(options_) { reset(); }

void UnetResBlockImpl::reset() {
  const int64_t in = options.in_channels(), out = options.out_channels(), k = options.kernel_size();
  conv1 = detail::register_or_replace(*this, "conv1", ConvLayer(ConvOptions(in, out, k)));
  conv2 = detail::register_or_replace(*this, "conv2", ConvLayer(ConvOptions(out, out, k)));
  // MONAI adds the 1x1 projection (conv3 + norm3) only when the channel count changes (stride is 1).
  conv3 = nullptr;
  detail::unregister_if_present(*this, "conv3");
  if (in != out) conv3 = detail::register_or_replace(*this, "conv3", ConvLayer(ConvOptions(in, out, 1)));
}

void UnetResBlockImpl::pretty_print(std::ostream& stream) const {
  stream << "swinsmt::UnetResBlock(" << options.in_channels() << ", " << options.out_channels()
         << ", kernel_size=" << options.kernel_size() << ")";
}

torch::Tensor UnetResBlockImpl::forward(torch::Tensor x) {
  std::vector<torch::Tensor> parts;
  parts.push_back(std::move(x));
  return forward_concatenated(std::move(parts));
}

torch::Tensor UnetResBlockImpl::forward_concatenated(std::vector<torch::Tensor> parts) {
  // Each intermediate is released as soon as it is used: at 128^3 with feature 48 one map is 400 MB.
  // Without the 1x1 projection the residual is the input itself, which must then be one tensor.
  if (!conv3 && parts.size() > 1) {
    auto whole = at::cat(parts, 1);
    parts.assign(1, std::move(whole));
  }
  auto out = conv1->forward_concatenated(parts);
  instance_norm_leaky_relu_(out);
  at::Tensor residual;
  if (conv3 && conv3->can_write_over_first(parts)) {
    // The projection first, written over the first part, which this block alone holds (a decoder's
    // upsampled map): the parts are then freed before conv2, so the largest decoder stage holds
    // three full-resolution maps at once instead of four (1.2 instead of 1.6 GB at 128^3, feature 48).
    residual = conv3->forward_concatenated_over_first(parts);
    parts.clear();
    instance_norm_(residual);
  }
  out = conv2(out);
  instance_norm_(out);
  if (!residual.defined() && conv3) {
    // Otherwise after conv2, whose input is freed by then (encoder1 reads a 1-channel image).
    residual = conv3->forward_concatenated(parts);
    instance_norm_(residual);
  } else if (!residual.defined()) {
    residual = std::move(parts[0]);
  }
  parts.clear();
  out.add_(residual);
  at::leaky_relu_(out, kLeakySlope);
  return out;
}

UnetrBasicBlockImpl::UnetrBasicBlockImpl(UnetrBasicBlockOptions options_) : options(options_) { reset(); }

void UnetrBasicBlockImpl::reset() {
  layer = detail::register_or_replace(*this, "layer",
                                      UnetResBlock(UnetResBlockOptions(options.in_channels(), options.out_channels())));
}

void UnetrBasicBlockImpl::pretty_print(std::ostream& stream) const {
  stream << "swinsmt::UnetrBasicBlock(" << options.in_channels() << ", " << options.out_channels() << ")";
}

torch::Tensor UnetrBasicBlockImpl::forward(torch::Tensor x) { return layer(std::move(x)); }

UnetrUpBlockImpl::UnetrUpBlockImpl(UnetrUpBlockOptions options_) : options(options_) { reset(); }

void UnetrUpBlockImpl::reset() {
  const int64_t in = options.in_channels(), out = options.out_channels();
  transp_conv =
      detail::register_or_replace(*this, "transp_conv", ConvLayer(ConvOptions(in, out, 2).stride(2).transposed(true)));
  conv_block = detail::register_or_replace(*this, "conv_block", UnetResBlock(UnetResBlockOptions(2 * out, out)));
}

void UnetrUpBlockImpl::pretty_print(std::ostream& stream) const {
  stream << "swinsmt::UnetrUpBlock(" << options.in_channels() << ", " << options.out_channels() << ")";
}

torch::Tensor UnetrUpBlockImpl::forward(torch::Tensor x, torch::Tensor skip) {
  auto up = transp_conv(x);
  x.reset();
  // MONAI concatenates (up, skip) along channels; the conv block reads the two parts instead.
  std::vector<torch::Tensor> parts;
  parts.push_back(std::move(up));
  parts.push_back(std::move(skip));
  return conv_block->forward_concatenated(std::move(parts));
}

UnetOutBlockImpl::UnetOutBlockImpl(UnetOutBlockOptions options_) : options(options_) { reset(); }

void UnetOutBlockImpl::reset() {
  conv = detail::register_or_replace(
      *this, "conv", ConvLayer(ConvOptions(options.in_channels(), options.out_channels(), 1).bias(true)));
}

void UnetOutBlockImpl::pretty_print(std::ostream& stream) const {
  stream << "swinsmt::UnetOutBlock(" << options.in_channels() << ", " << options.out_channels() << ")";
}

torch::Tensor UnetOutBlockImpl::forward(const torch::Tensor& x) { return conv(x); }

}  // namespace swinsmt
