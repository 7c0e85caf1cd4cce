#include <swinsmt/swinsmt_model.hpp>

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

namespace swinsmt {

SwinSMTImpl::SwinSMTImpl(SwinSMTOptions options_) : options(std::move(options_)) { reset(); }

void SwinSMTImpl::reset() {
  validate(options);
  const int64_t f = options.feature_size(), in = options.in_channels();
  swinViT = register_module("swinViT", SwinTransformer(options));
  encoder1 = register_module("encoder1", UnetrBasicBlock(in, f));
  encoder2 = register_module("encoder2", UnetrBasicBlock(f, f));
  encoder3 = register_module("encoder3", UnetrBasicBlock(2 * f, 2 * f));
  encoder4 = register_module("encoder4", UnetrBasicBlock(4 * f, 4 * f));
  encoder10 = register_module("encoder10", UnetrBasicBlock(16 * f, 16 * f));
  decoder5 = register_module("decoder5", UnetrUpBlock(16 * f, 8 * f));
  decoder4 = register_module("decoder4", UnetrUpBlock(8 * f, 4 * f));
  decoder3 = register_module("decoder3", UnetrUpBlock(4 * f, 2 * f));
  decoder2 = register_module("decoder2", UnetrUpBlock(2 * f, f));
  decoder1 = register_module("decoder1", UnetrUpBlock(f, f));
  out = register_module("out", UnetOutBlock(f, options.out_channels()));
}

void SwinSMTImpl::set_moe_kernel(MoeKernel kernel) {
  for (auto& module : modules(/*include_self=*/false)) {
    if (auto* moe = module->as<SoftMoE>()) moe->options.kernel(kernel);
  }
}

ForwardResult SwinSMTImpl::run(const torch::Tensor& x, bool keep_hidden) {
  validate_input_shape(options, x.sizes().vec());
  // Inference needs no autograd records; training mode keeps them so the model stays trainable.
  c10::InferenceMode inference(!is_training());
  auto hidden = swinViT(x, options.normalize());
  // Skips are moved into the decoders that consume them, so each map is freed right after use.
  auto enc0 = encoder1(x);
  auto enc1 = encoder2(hidden[0]);
  auto enc2 = encoder3(hidden[1]);
  auto enc3 = encoder4(hidden[2]);
  auto dec = encoder10(hidden[4]);
  dec = decoder5(std::move(dec), hidden[3]);
  dec = decoder4(std::move(dec), std::move(enc3));
  dec = decoder3(std::move(dec), std::move(enc2));
  if (!keep_hidden) hidden.clear();
  dec = decoder2(std::move(dec), std::move(enc1));
  dec = decoder1(std::move(dec), std::move(enc0));
  return {out(dec), std::move(hidden)};
}

torch::Tensor SwinSMTImpl::forward(const torch::Tensor& x) { return run(x, false).logits; }

ForwardResult SwinSMTImpl::forward_with_hidden(const torch::Tensor& x) { return run(x, true); }

int64_t parameter_count(const torch::nn::Module& module) {
  int64_t total = 0;
  for (const auto& p : module.parameters()) total += p.numel();
  return total;
}

}  // namespace swinsmt
