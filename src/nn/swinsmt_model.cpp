#include <swinsmt/nn/swinsmt_model.hpp>

#include "kernels/autograd_guard.hpp"
#include "kernels/cpu_matmul.hpp"
#include "nn/registration.hpp"

#include <swinsmt/error.hpp>

#include <ATen/ATen.h>
#include <ATen/record_function.h>
#include <c10/core/GradMode.h>

namespace swinsmt {

SwinSMTImpl::SwinSMTImpl(SwinSMTOptions options_) : options(std::move(options_)) { reset(); }

void SwinSMTImpl::reset() {
  validate(options);
  const int64_t f = options.feature_size(), in = options.in_channels();
  const auto basic = [this](const char* name, int64_t in_channels, int64_t out_channels) {
    return detail::register_or_replace(*this, name, UnetrBasicBlock(UnetrBasicBlockOptions(in_channels, out_channels)));
  };
  const auto up = [this](const char* name, int64_t in_channels, int64_t out_channels) {
    return detail::register_or_replace(*this, name, UnetrUpBlock(UnetrUpBlockOptions(in_channels, out_channels)));
  };
  swinViT = detail::register_or_replace(*this, "swinViT", SwinTransformer(options));
  encoder1 = basic("encoder1", in, f);
  encoder2 = basic("encoder2", f, f);
  encoder3 = basic("encoder3", 2 * f, 2 * f);
  encoder4 = basic("encoder4", 4 * f, 4 * f);
  encoder10 = basic("encoder10", 16 * f, 16 * f);
  decoder5 = up("decoder5", 16 * f, 8 * f);
  decoder4 = up("decoder4", 8 * f, 4 * f);
  decoder3 = up("decoder3", 4 * f, 2 * f);
  decoder2 = up("decoder2", 2 * f, f);
  decoder1 = up("decoder1", f, f);
  out = detail::register_or_replace(*this, "out", UnetOutBlock(UnetOutBlockOptions(f, options.out_channels())));
}

void SwinSMTImpl::pretty_print(std::ostream& stream) const {
  stream << "swinsmt::SwinSMT(" << describe(options) << ")";
}

void SwinSMTImpl::set_moe_kernel(MoeKernel kernel) {
  for (auto& module : modules(/*include_self=*/false)) {
    if (auto* moe = module->as<SoftMoE>()) moe->options.kernel(kernel);
  }
}

void SwinSMTImpl::set_bf16_products(bool enabled) {
  if (enabled && !detail::has_bf16_products())
    throw Error(std::string("bfloat16 on the CPU needs a CPU with AVX512-BF16 and swinsmt built with oneDNN "
                            "(libdnnl-dev); this one has ") +
                (detail::has_onednn_sgemm() ? "oneDNN but no AVX512-BF16" : "no oneDNN") +
                ": use --dtype float32 (swinsmt doctor shows what is available)");
  for (auto& module : modules(/*include_self=*/false)) {
    if (auto* moe = module->as<SoftMoE>()) moe->options.bf16_products(enabled);
  }
}

ForwardResult SwinSMTImpl::run(const torch::Tensor& x, bool keep_hidden, bool head) {
  validate_input_shape(options, x.sizes().vec());
  if (is_training()) {
    if (options.drop_rate() > 0 || options.attn_drop_rate() > 0 || options.dropout_path_rate() > 0)
      throw Error(
          "swinsmt is inference-only: SwinSMT in train() mode with a dropout rate set would need dropout, "
          "which is not implemented; call eval()");
    std::vector<at::Tensor> recorded{x};
    for (const auto& p : parameters()) recorded.push_back(p);
    if (detail::records_gradient(recorded))
      throw Error(
          "swinsmt is inference-only: SwinSMT in train() mode cannot record gradients (autograd is enabled "
          "and its input or parameters require grad). Call eval(), or run under torch::NoGradGuard or "
          "c10::InferenceMode");
  }
  // No autograd records; a no-grad guard rather than inference mode, so the caller gets ordinary
  // tensors it may change in place.
  c10::NoGradGuard no_grad;
  // Each child runs in a profiler range named after it (what `swinsmt_bench model --profile` traces
  // show per stage; free while no profiler is on).
  const auto child = [](const char* name, auto&& run_child) {
    RECORD_USER_SCOPE(name);
    return run_child();
  };
  auto hidden = child("swinsmt::swinViT", [&] { return swinViT(x, options.normalize()); });
  // Skips are moved into the decoders that consume them, so each map is freed right after use.
  auto enc0 = child("swinsmt::encoder1", [&] { return encoder1(x); });
  auto enc1 = child("swinsmt::encoder2", [&] { return encoder2(hidden[0]); });
  auto enc2 = child("swinsmt::encoder3", [&] { return encoder3(hidden[1]); });
  auto enc3 = child("swinsmt::encoder4", [&] { return encoder4(hidden[2]); });
  auto dec = child("swinsmt::encoder10", [&] { return encoder10(hidden[4]); });
  dec = child("swinsmt::decoder5", [&] { return decoder5(std::move(dec), hidden[3]); });
  dec = child("swinsmt::decoder4", [&] { return decoder4(std::move(dec), std::move(enc3)); });
  dec = child("swinsmt::decoder3", [&] { return decoder3(std::move(dec), std::move(enc2)); });
  if (!keep_hidden) hidden.clear();
  dec = child("swinsmt::decoder2", [&] { return decoder2(std::move(dec), std::move(enc1)); });
  dec = child("swinsmt::decoder1", [&] { return decoder1(std::move(dec), std::move(enc0)); });
  if (!head) return {std::move(dec), std::move(hidden)};
  auto logits = child("swinsmt::out", [&] { return out(dec); });
  return {std::move(logits), std::move(hidden)};
}

torch::Tensor SwinSMTImpl::forward(const torch::Tensor& x) { return run(x, false).logits; }

ForwardResult SwinSMTImpl::forward_with_hidden(const torch::Tensor& x) { return run(x, true); }

torch::Tensor SwinSMTImpl::decode(const torch::Tensor& x) { return run(x, false, false).logits; }

int64_t parameter_count(const torch::nn::Module& module) {
  int64_t total = 0;
  for (const auto& p : module.parameters()) total += p.numel();
  return total;
}

}  // namespace swinsmt
