#include <swinsmt/checkpoint/load.hpp>
#include <swinsmt/error.hpp>

#include <ATen/ATen.h>
#include <ATen/Context.h>
#include <torch/csrc/autograd/grad_mode.h>

#include <nlohmann/json.hpp>

namespace swinsmt {
namespace {

/// What `convert` records in the "config" metadata that the tensors cannot show: the merging version
/// and normalize. Anything unreadable there is left to the defaults (the card, when there is one,
/// is checked strictly instead).
ConfigOverrides metadata_overrides(const Metadata& metadata) {
  ConfigOverrides o;
  const auto it = metadata.find("config");
  if (it == metadata.end()) return o;
  const auto j = nlohmann::json::parse(it->second, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return o;
  if (const auto d = j.find("downsample"); d != j.end() && d->is_string())
    if (d->get<std::string>() == "merging" || d->get<std::string>() == "mergingv2")
      o.downsample = parse_merging(d->get<std::string>());
  if (const auto n = j.find("normalize"); n != j.end() && n->is_boolean()) o.normalize = n->get<bool>();
  return o;
}

/// `base` with every field `over` sets replaced.
ConfigOverrides merged(ConfigOverrides base, const ConfigOverrides& over) {
  const auto take = [](auto& target, const auto& value) {
    if (value) target = value;
  };
  take(base.downsample, over.downsample);
  take(base.normalize, over.normalize);
  take(base.in_channels, over.in_channels);
  take(base.out_channels, over.out_channels);
  take(base.feature_size, over.feature_size);
  take(base.num_experts, over.num_experts);
  take(base.use_v2, over.use_v2);
  take(base.use_moe, over.use_moe);
  take(base.img_size, over.img_size);
  return base;
}

}  // namespace

LoadedModel load(const std::string& path, const LoadOptions& options) {
  auto ckpt = read_checkpoint(path);
  // The card given wins over the one in the file; either is checked against the tensors first, so
  // a mismatch names the card and the tensor rather than failing somewhere in the network.
  std::optional<ModelCard> card = options.card;
  std::string card_source = options.card_source;
  if (!card) {
    card = model_card_from_metadata(ckpt.info.metadata, path);
    card_source = path + " (its model card)";
  }
  ConfigOverrides overrides = metadata_overrides(ckpt.info.metadata);
  if (card) {
    check_model_card(*card, ckpt.state, card_source, path);
    overrides = card_overrides(*card);
  }
  auto config = infer_options(ckpt.state, merged(overrides, options.config), path);
  SwinSMT model(config);
  auto report = load_state_dict(*model, ckpt.state, options.strict, path);
  ckpt.state.clear();
  if (options.device.is_cpu() && options.dtype == c10::kBFloat16) {
    // LibTorch 1.13 has no bfloat16 3-D convolutions worth running on the CPU (transposed ones
    // fail): there bfloat16 means float32 parameters with the Soft MoE products in bfloat16
    // (set_bf16_products says clearly when this CPU or build cannot).
    model->set_bf16_products(true);
    move_module(*model, options.device, c10::kFloat);
  } else {
    move_module(*model, options.device, options.dtype);
  }
  // The 3-D convolutions always see the same few shapes (one window size): let cuDNN pick the
  // fastest algorithm once per shape.
  if (options.device.is_cuda()) at::globalContext().setBenchmarkCuDNN(true);
  model->eval();
  return {model, config, std::move(ckpt.info), std::move(report), std::move(card)};
}

void move_module(torch::nn::Module& module, c10::Device device, c10::ScalarType dtype) {
  // Module::to(device, dtype) would also cast the int64 relative_position_index buffers.
  module.to(device);
  torch::NoGradGuard no_grad;
  for (auto& p : module.parameters())
    if (p.is_floating_point() && p.scalar_type() != dtype) p.set_data(p.to(dtype));
  for (auto& b : module.buffers())
    if (b.is_floating_point() && b.scalar_type() != dtype) b.set_data(b.to(dtype));
}

c10::Device parse_device(const std::string& name) {
  c10::Device device(c10::kCPU);
  try {
    device = c10::Device(name);
  } catch (const c10::Error&) {
    throw Error("unknown device \"" + name + "\" (expected cpu, cuda or cuda:N)");
  }
  if (device.is_cuda()) {
    if (!at::hasCUDA())
      throw Error("device \"" + name + "\" requested, but this LibTorch build or machine has no CUDA device");
  } else if (!device.is_cpu()) {
    throw Error("unsupported device \"" + name + "\" (expected cpu, cuda or cuda:N)");
  }
  return device;
}

c10::ScalarType parse_dtype(const std::string& name) {
  if (name == "float32" || name == "fp32" || name == "float") return c10::kFloat;
  if (name == "float16" || name == "fp16" || name == "half") return c10::kHalf;
  if (name == "bfloat16" || name == "bf16") return c10::kBFloat16;
  throw Error("unknown dtype \"" + name + "\" (expected float32, float16 or bfloat16)");
}

}  // namespace swinsmt
