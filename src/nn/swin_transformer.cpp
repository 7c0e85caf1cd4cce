#include <swinsmt/nn/swin_transformer.hpp>

#include "nn/registration.hpp"

#include <ATen/ATen.h>
#include <ATen/record_function.h>

#include <iterator>

namespace swinsmt {

torch::Tensor channel_layer_norm(const torch::Tensor& x) {
  const int64_t c = x.size(1);
  return at::layer_norm(x.permute({0, 2, 3, 4, 1}), {c}).permute({0, 4, 1, 2, 3});
}

BasicLayerImpl::BasicLayerImpl(BasicLayerOptions options_) : options(options_) { reset(); }

void BasicLayerImpl::reset() {
  const auto& o = options;
  const Size3 shift{o.window()[0] / 2, o.window()[1] / 2, o.window()[2] / 2};
  blocks = detail::register_or_replace(*this, "blocks", torch::nn::ModuleList());
  for (int64_t i = 0; i < o.depth(); ++i) {
    blocks->push_back(SwinBlock(SwinBlockOptions(o.dim(), o.num_heads())
                                    .window(o.window())
                                    .shift(i % 2 == 0 ? Size3{0, 0, 0} : shift)
                                    .use_moe(o.use_moe())
                                    .num_experts(o.num_experts())));
  }
  downsample = detail::register_or_replace(*this, "downsample",
                                           PatchMerging(PatchMergingOptions(o.dim()).version(o.downsample())));
}

void BasicLayerImpl::pretty_print(std::ostream& stream) const {
  stream << "swinsmt::BasicLayer(dim=" << options.dim() << ", depth=" << options.depth()
         << ", num_heads=" << options.num_heads() << ", use_moe=" << (options.use_moe() ? "true" : "false") << ")";
}

torch::Tensor BasicLayerImpl::forward(const torch::Tensor& x_in) {
  const int64_t b = x_in.size(0), d = x_in.size(2), h = x_in.size(3), w = x_in.size(4);
  const auto mask = stage_shift_mask({d, h, w}, options.window(), x_in.device());
  auto x = x_in.permute({0, 2, 3, 4, 1});
  for (const auto& block : *blocks) x = block->as<SwinBlock>()->forward(x, mask);
  x = downsample(x.reshape({b, d, h, w, -1}));
  return x.permute({0, 4, 1, 2, 3});
}

SwinTransformerImpl::SwinTransformerImpl(SwinSMTOptions options_) : options(std::move(options_)) { reset(); }

void SwinTransformerImpl::reset() {
  const auto& o = options;
  patch_embed = detail::register_or_replace(*this, "patch_embed",
                                            PatchEmbed(PatchEmbedOptions(o.in_channels(), o.feature_size())));
  for (int64_t i = 0; i < SwinSMTOptions::kNumStages; ++i) {
    const int64_t dim = o.feature_size() << i;
    layers[i] = detail::register_or_replace(*this, "layers" + std::to_string(i + 1), torch::nn::ModuleList());
    layers[i]->push_back(BasicLayer(BasicLayerOptions(dim, o.depths()[i], o.num_heads()[i])
                                        .use_moe(o.stage_uses_moe(i))
                                        .num_experts(o.num_experts())
                                        .downsample(o.downsample())));
  }
  for (int64_t i = 0; i < SwinSMTOptions::kNumStages; ++i) {
    const std::string name = "layers" + std::to_string(i + 1) + "c";
    if (!o.use_v2()) {
      layers_c[i] = nullptr;
      detail::unregister_if_present(*this, name);
      continue;
    }
    const int64_t dim = o.feature_size() << i;
    layers_c[i] = detail::register_or_replace(*this, name, torch::nn::ModuleList());
    layers_c[i]->push_back(UnetrBasicBlock(UnetrBasicBlockOptions(dim, dim)));
  }
}

void SwinTransformerImpl::pretty_print(std::ostream& stream) const { stream << "swinsmt::SwinTransformer"; }

std::vector<torch::Tensor> SwinTransformerImpl::forward(const torch::Tensor& x_in, bool normalize) {
  const auto proj_out = [normalize](const at::Tensor& t) { return normalize ? channel_layer_norm(t) : t; };
  std::vector<torch::Tensor> hidden;
  hidden.reserve(5);
  auto x = patch_embed(x_in);
  hidden.push_back(proj_out(x));
  // Profiler ranges per stage, named as the checkpoint's modules (see SwinSMTImpl::run).
  static constexpr const char* kConvNames[] = {"swinsmt::swinViT.layers1c", "swinsmt::swinViT.layers2c",
                                               "swinsmt::swinViT.layers3c", "swinsmt::swinViT.layers4c"};
  static constexpr const char* kLayerNames[] = {"swinsmt::swinViT.layers1", "swinsmt::swinViT.layers2",
                                                "swinsmt::swinViT.layers3", "swinsmt::swinViT.layers4"};
  static_assert(std::size(kLayerNames) == SwinSMTOptions::kNumStages);
  for (int64_t i = 0; i < SwinSMTOptions::kNumStages; ++i) {
    if (layers_c[i]) {
      RECORD_USER_SCOPE(kConvNames[i]);
      x = layers_c[i]->ptr(0)->as<UnetrBasicBlock>()->forward(x.contiguous());
    }
    {
      RECORD_USER_SCOPE(kLayerNames[i]);
      x = layers[i]->ptr(0)->as<BasicLayer>()->forward(x.contiguous());
    }
    hidden.push_back(proj_out(x));
  }
  return hidden;
}

}  // namespace swinsmt
