#include <swinsmt/checkpoint/load.hpp>
#include <swinsmt/error.hpp>

#include <ATen/ATen.h>
#include <ATen/Context.h>
#include <torch/csrc/autograd/grad_mode.h>

namespace swinsmt {

LoadedModel load(const std::string& path, const LoadOptions& options) {
  auto ckpt = read_checkpoint(path);
  auto config = infer_options(ckpt.state, options.config, path);
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
  return {model, config, std::move(ckpt.info), std::move(report)};
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
