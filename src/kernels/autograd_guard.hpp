#pragma once
// swinsmt is inference-only (docs/architecture.md, "Inference only"). Two helpers say where
// autograd would record:
// - records_gradient: the fused CPU kernels write through raw pointers, where autograd cannot
//   follow; ConvLayer, whose ATen path differentiates correctly, falls back to it there.
// - require_no_gradient: the modules whose forward cannot be differentiated correctly (in-place
//   residuals and norms, out= softmax, fused Soft MoE and attention kernels) refuse with a clear
//   error instead of failing inside backward() or silently dropping a gradient.

#include <swinsmt/error.hpp>

#include <ATen/core/Tensor.h>
#include <c10/core/GradMode.h>

#include <initializer_list>
#include <string>

namespace swinsmt::detail {

inline bool records_gradient(at::TensorList tensors) {
  if (!c10::GradMode::is_enabled()) return false;
  for (const auto& t : tensors)
    if (t.defined() && t.requires_grad()) return true;
  return false;
}

inline bool records_gradient(std::initializer_list<at::Tensor> tensors) {
  return records_gradient(at::TensorList(tensors.begin(), tensors.size()));
}

inline void require_no_gradient(const char* what, std::initializer_list<at::Tensor> tensors) {
  if (records_gradient(tensors))
    throw Error(std::string("swinsmt is inference-only: ") + what +
                " cannot record gradients (autograd is enabled and its input or weights require grad). Call "
                "eval() on the SwinSMT model, or run under torch::NoGradGuard or c10::InferenceMode");
}

}  // namespace swinsmt::detail
