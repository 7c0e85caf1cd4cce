#include <swinsmt/swin_transformer.hpp>

#include <ATen/ATen.h>

namespace swinsmt {

torch::Tensor channel_layer_norm(const torch::Tensor& x) {
  const int64_t c = x.size(1);
  return at::layer_norm(x.permute({0, 2, 3, 4, 1}), {c}).permute({0, 4, 1, 2, 3});
}

BasicLayerImpl::BasicLayerImpl(int64_t dim, int64_t depth, int64_t num_heads, const SwinSMTOptions& model,
                               bool use_moe) {
  const Size3 shift{window[0] / 2, window[1] / 2, window[2] / 2};
  blocks = register_module("blocks", torch::nn::ModuleList());
  for (int64_t i = 0; i < depth; ++i) {
    blocks->push_back(SwinBlock(SwinBlockOptions(dim, num_heads)
                                    .window(window)
                                    .shift(i % 2 == 0 ? Size3{0, 0, 0} : shift)
                                    .use_moe(use_moe)
                                    .num_experts(model.num_experts())));
  }
  downsample = register_module("downsample", PatchMerging(dim, model.downsample()));
}

torch::Tensor BasicLayerImpl::forward(const torch::Tensor& x_in) {
  const int64_t b = x_in.size(0), d = x_in.size(2), h = x_in.size(3), w = x_in.size(4);
  const auto mask = stage_shift_mask({d, h, w}, window, x_in.device());
  auto x = x_in.permute({0, 2, 3, 4, 1});
  for (const auto& block : *blocks) x = block->as<SwinBlock>()->forward(x, mask);
  x = downsample(x.reshape({b, d, h, w, -1}));
  return x.permute({0, 4, 1, 2, 3});
}

SwinTransformerImpl::SwinTransformerImpl(const SwinSMTOptions& o) {
  patch_embed = register_module("patch_embed", PatchEmbed(o.in_channels(), o.feature_size(), 2));
  for (int64_t i = 0; i < SwinSMTOptions::kNumStages; ++i) {
    const int64_t dim = o.feature_size() << i;
    layers[i] = register_module("layers" + std::to_string(i + 1), torch::nn::ModuleList());
    layers[i]->push_back(BasicLayer(dim, o.depths()[i], o.num_heads()[i], o, o.stage_uses_moe(i)));
  }
  if (o.use_v2()) {
    for (int64_t i = 0; i < SwinSMTOptions::kNumStages; ++i) {
      const int64_t dim = o.feature_size() << i;
      layers_c[i] = register_module("layers" + std::to_string(i + 1) + "c", torch::nn::ModuleList());
      layers_c[i]->push_back(UnetrBasicBlock(dim, dim));
    }
  }
}

std::vector<torch::Tensor> SwinTransformerImpl::forward(const torch::Tensor& x_in, bool normalize) {
  const auto proj_out = [normalize](const at::Tensor& t) { return normalize ? channel_layer_norm(t) : t; };
  std::vector<torch::Tensor> hidden;
  hidden.reserve(5);
  auto x = patch_embed(x_in);
  hidden.push_back(proj_out(x));
  for (int64_t i = 0; i < SwinSMTOptions::kNumStages; ++i) {
    if (layers_c[i]) x = layers_c[i]->ptr(0)->as<UnetrBasicBlock>()->forward(x.contiguous());
    x = layers[i]->ptr(0)->as<BasicLayer>()->forward(x.contiguous());
    hidden.push_back(proj_out(x));
  }
  return hidden;
}

}  // namespace swinsmt
