#include <swinsmt/nn/patch_embed.hpp>

#include "nn/registration.hpp"

#include <ATen/ATen.h>

namespace swinsmt {

PatchEmbedImpl::PatchEmbedImpl(PatchEmbedOptions options_) : options(options_) { reset(); }

void PatchEmbedImpl::reset() {
  const auto& o = options;
  proj = detail::register_or_replace(
      *this, "proj",
      torch::nn::Conv3d(
          torch::nn::Conv3dOptions(o.in_channels(), o.embed_dim(), o.patch_size()).stride(o.patch_size())));
}

void PatchEmbedImpl::pretty_print(std::ostream& stream) const {
  stream << "swinsmt::PatchEmbed(in_channels=" << options.in_channels() << ", embed_dim=" << options.embed_dim()
         << ", patch_size=" << options.patch_size() << ")";
}

torch::Tensor PatchEmbedImpl::forward(const torch::Tensor& x) {
  // MONAI pads each spatial axis at its end up to a multiple of the patch size.
  const int64_t p = options.patch_size();
  const auto pad = [p](int64_t n) { return (p - n % p) % p; };
  const int64_t pd = pad(x.size(2)), ph = pad(x.size(3)), pw = pad(x.size(4));
  if (pd || ph || pw) return proj(at::constant_pad_nd(x, {0, pw, 0, ph, 0, pd}, 0));
  return proj(x);
}

}  // namespace swinsmt
