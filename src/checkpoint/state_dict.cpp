#include <swinsmt/checkpoint/state_dict.hpp>
#include <swinsmt/error.hpp>

#include <ATen/ATen.h>
#include <torch/csrc/autograd/grad_mode.h>

#include <sstream>

namespace swinsmt {
namespace {

std::string shape_and_type(const at::Tensor& t) {
  return c10::str(t.sizes()) + " " + std::string(c10::toString(t.scalar_type()));
}

void append_lines(std::ostringstream& out, const char* title, const std::vector<std::string>& lines, size_t limit) {
  if (lines.empty()) return;
  out << "\n  " << title << " (" << lines.size() << "):";
  for (size_t i = 0; i < lines.size() && i < limit; ++i) out << "\n    " << lines[i];
  if (lines.size() > limit) out << "\n    ... and " << lines.size() - limit << " more";
}

}  // namespace

std::string LoadReport::describe(size_t limit) const {
  std::ostringstream out;
  append_lines(out, "missing keys", missing, limit);
  append_lines(out, "unexpected keys", unexpected, limit);
  append_lines(out, "shape/dtype mismatches", mismatched, limit);
  return out.str();
}

StateDict module_state_dict(const torch::nn::Module& module) {
  StateDict result;
  for (const auto& p : module.named_parameters(true)) result.insert(p.key(), p.value());
  for (const auto& b : module.named_buffers(true)) result.insert(b.key(), b.value());
  return result;
}

LoadReport load_state_dict(torch::nn::Module& module, const StateDict& state, bool strict, const std::string& source) {
  auto own = module_state_dict(module);
  LoadReport report;
  for (const auto& item : own) {
    const auto* found = state.find(item.key());
    if (!found) {
      report.missing.push_back(item.key() + " " + shape_and_type(item.value()));
      continue;
    }
    const bool same_shape = found->sizes() == item.value().sizes();
    const bool same_type = found->scalar_type() == item.value().scalar_type();
    const bool convertible = found->is_floating_point() && item.value().is_floating_point();
    if (!same_shape || (!same_type && !convertible))
      report.mismatched.push_back(item.key() + ": expected " + shape_and_type(item.value()) + ", got " +
                                  shape_and_type(*found));
  }
  for (const auto& item : state)
    if (!own.contains(item.key())) report.unexpected.push_back(item.key() + " " + shape_and_type(item.value()));

  if (strict && !report.ok())
    throw Error(source + " does not match the model:" + report.describe() +
                "\n  (a different configuration? check `swinsmt inspect`)");

  torch::NoGradGuard no_grad;
  for (const auto& item : own) {
    const auto* found = state.find(item.key());
    if (!found || found->sizes() != item.value().sizes()) continue;
    if (found->scalar_type() != item.value().scalar_type() &&
        !(found->is_floating_point() && item.value().is_floating_point()))
      continue;
    item.value().copy_(*found);
  }
  return report;
}

}  // namespace swinsmt
