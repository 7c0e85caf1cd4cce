#pragma once
// The fused CPU kernels of ConvLayer (Winograd, the accumulated 1x1x1 products) and of window
// attention write their results through raw pointers, where autograd cannot follow. They run
// only where no gradient is being recorded (inference mode, no_grad, or no input or weight that
// requires one); elsewhere the ATen-op versions run, so a module trained or differentiated through
// stays correct instead of silently losing its gradient.

#include <ATen/core/Tensor.h>
#include <c10/core/GradMode.h>

#include <initializer_list>

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

}  // namespace swinsmt::detail
