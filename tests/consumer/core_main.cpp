// Built against the installed swinsmt::core alone (LibTorch, no image I/O libraries): constructs a
// small model, saves its weights as safetensors, loads them back with swinsmt::load and checks
// that both give the same logits.
#include <swinsmt/core.hpp>
#include <swinsmt/version.hpp>

#include <ATen/ATen.h>

#include <cstdio>
#include <iostream>
#include <string>

int main(int argc, char** argv) {
  const std::string path = argc > 1 ? argv[1] : "core_consumer.safetensors";
  const auto options = swinsmt::SwinSMTOptions(1, 4).feature_size(12).img_size({64, 64, 64}).use_v2(true);
  swinsmt::SwinSMT model(options);
  model->eval();
  swinsmt::write_safetensors(path, swinsmt::module_state_dict(*model), {});
  auto loaded = swinsmt::load(path);
  std::remove(path.c_str());
  const auto x = at::rand({1, 1, 64, 64, 64});
  const auto a = model->forward(x), b = loaded.model->forward(x);
  const double diff = (a - b).abs().max().item<double>();
  std::cout << "swinsmt " << SWINSMT_VERSION << " core consumer: logits " << a.sizes() << ", reloaded max diff " << diff
            << "\n";
  return a.sizes() == at::IntArrayRef({1, 4, 64, 64, 64}) && diff == 0.0 ? 0 : 1;
}
