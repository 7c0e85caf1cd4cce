#include <swinsmt/patch_embed.hpp>

#include <ATen/ATen.h>

namespace swinsmt {

PatchEmbedImpl::PatchEmbedImpl(int64_t in_channels, int64_t embed_dim, int64_t patch_size_) : patch_size(patch_size_) {
  proj = register_module(
      "proj", torch::nn::Conv3d(torch::nn::Conv3dOptions(in_channels, embed_dim, patch_size).stride(patch_size)));
}

torch::Tensor PatchEmbedImpl::forward(const torch::Tensor& x) {
  // MONAI pads each spatial axis at its end up to a multiple of the patch size.
  const auto pad = [&](int64_t n) { return (patch_size - n % patch_size) % patch_size; };
  const int64_t pd = pad(x.size(2)), ph = pad(x.size(3)), pw = pad(x.size(4));
  if (pd || ph || pw) return proj(at::constant_pad_nd(x, {0, pw, 0, ph, 0, pd}, 0));
  return proj(x);
}

}  // namespace swinsmt
