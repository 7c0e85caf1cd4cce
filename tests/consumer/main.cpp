// Built against the installed package: constructs a small model and runs a forward pass.
#include <swinsmt/swinsmt.hpp>
#include <swinsmt/version.hpp>

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <iostream>

int main() {
  swinsmt::SwinSMT model(swinsmt::SwinSMTOptions(1, 4).feature_size(12).img_size({64, 64, 64}));
  model->eval();
  c10::InferenceMode guard;
  const auto logits = model->forward(at::zeros({1, 1, 64, 64, 64}));
  std::cout << "swinsmt " << SWINSMT_VERSION << " consumer: logits " << logits.sizes() << "\n";
  return logits.sizes() == at::IntArrayRef({1, 4, 64, 64, 64}) ? 0 : 1;
}
