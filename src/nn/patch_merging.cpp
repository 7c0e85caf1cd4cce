#include <swinsmt/nn/patch_merging.hpp>

#include "nn/registration.hpp"

#include <ATen/ATen.h>

#include <array>

namespace swinsmt {

PatchMergingImpl::PatchMergingImpl(PatchMergingOptions options_) : options(options_) { reset(); }

void PatchMergingImpl::reset() {
  const int64_t dim = options.dim();
  reduction = detail::register_or_replace(*this, "reduction",
                                          torch::nn::Linear(torch::nn::LinearOptions(8 * dim, 2 * dim).bias(false)));
  norm = detail::register_or_replace(*this, "norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({8 * dim})));
}

void PatchMergingImpl::pretty_print(std::ostream& stream) const {
  stream << "swinsmt::PatchMerging(dim=" << options.dim() << ", version=" << merging_name(options.version()) << ")";
}

torch::Tensor PatchMergingImpl::forward(const torch::Tensor& x_in) {
  using Offset = std::array<int64_t, 3>;  // (d, h, w) start of the stride-2 slice
  // MONAI's legacy PatchMerging (v0.9.0): x5 repeats x2 and x6 repeats x3. Kept: checkpoints depend on it.
  static constexpr std::array<Offset, 8> kLegacyOrder{
      {{0, 0, 0}, {1, 0, 0}, {0, 1, 0}, {0, 0, 1}, {1, 0, 1}, {0, 1, 0}, {0, 0, 1}, {1, 1, 1}}};
  // PatchMergingV2: itertools.product(range(2), range(2), range(2)).
  static constexpr std::array<Offset, 8> kProductOrder{
      {{0, 0, 0}, {0, 0, 1}, {0, 1, 0}, {0, 1, 1}, {1, 0, 0}, {1, 0, 1}, {1, 1, 0}, {1, 1, 1}}};

  auto x = x_in;
  const int64_t d = x.size(1), h = x.size(2), w = x.size(3);
  if (d % 2 || h % 2 || w % 2) x = at::constant_pad_nd(x, {0, 0, 0, w % 2, 0, h % 2, 0, d % 2}, 0);
  const auto& order = options.version() == Merging::v1 ? kLegacyOrder : kProductOrder;
  std::vector<at::Tensor> parts;
  parts.reserve(order.size());
  for (const auto& o : order)
    parts.push_back(x.slice(1, o[0], c10::nullopt, 2).slice(2, o[1], c10::nullopt, 2).slice(3, o[2], c10::nullopt, 2));
  return reduction(norm(at::cat(parts, -1)));
}

}  // namespace swinsmt
