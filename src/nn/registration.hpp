#pragma once
// Registration that a module's reset() can repeat. torch::nn::Module::register_* refuse a name
// that is already taken, so a second reset() would throw; these replace the earlier entry under the
// same name and position instead (Cloneable::clone() calls reset() on a copy whose registrations it
// has cleared, so both paths end with the same names in the same order).

#include <swinsmt/error.hpp>

#include <torch/nn/module.h>

#include <string>

namespace swinsmt::detail {

template <typename ModuleType>
std::shared_ptr<ModuleType> register_or_replace(torch::nn::Module& self, const std::string& name,
                                                torch::nn::ModuleHolder<ModuleType> module) {
  if (self.named_children().contains(name)) return self.replace_module(name, std::move(module));
  return self.register_module(name, std::move(module));
}

/// Removes child `name` if registered (a child that the current options no longer create).
inline void unregister_if_present(torch::nn::Module& self, const std::string& name) {
  if (self.named_children().contains(name)) self.unregister_module(name);
}

/// A parameter (or, with `buffer`, a buffer) registered under `name`; on a repeated reset() the
/// registered tensor takes `value`'s data, so references to it stay valid.
inline at::Tensor register_or_replace_tensor(torch::nn::Module& self, const std::string& name, at::Tensor value,
                                             bool buffer = false) {
  auto existing = buffer ? self.named_buffers(/*recurse=*/false) : self.named_parameters(/*recurse=*/false);
  if (auto* tensor = existing.find(name)) {
    tensor->set_data(value);
    return *tensor;
  }
  return buffer ? self.register_buffer(name, std::move(value)) : self.register_parameter(name, std::move(value));
}

}  // namespace swinsmt::detail
