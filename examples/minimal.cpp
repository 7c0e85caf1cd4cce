// Minimal use of the library: build Swin SMT with the official README configuration, print its
// parameter count and run one forward pass on a 64^3 volume.
//
//   ./swinsmt_example_minimal
#include <swinsmt/swinsmt.hpp>

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <chrono>
#include <iostream>

int main() {
  // The configuration of the official README: 1 input channel, 118 classes (background + 117
  // TotalSegmentator-v2 structures), 128^3 training windows, feature size 48, SwinUNETR-v2 conv
  // blocks, Soft MoE with 4 experts in the last 3 stages.
  auto options = swinsmt::SwinSMTOptions(/*in_channels=*/1, /*out_channels=*/118)
                     .img_size({128, 128, 128})
                     .feature_size(48)
                     .use_v2(true)
                     .use_moe(true)
                     .num_experts(4)
                     .num_layers_with_moe(3);
  swinsmt::SwinSMT model(options);
  model->eval();
  std::cout << "Swin SMT (" << swinsmt::describe(options) << ")\n"
            << "parameters: " << swinsmt::parameter_count(*model) << "\n";

  c10::InferenceMode no_autograd;  // inference only: no autograd graph, no saved activations
  const auto input = at::rand({1, 1, 64, 64, 64});
  const auto start = std::chrono::steady_clock::now();
  const auto logits = model->forward(input);
  const std::chrono::duration<double> seconds = std::chrono::steady_clock::now() - start;
  std::cout << "forward " << input.sizes() << " -> " << logits.sizes() << " in " << seconds.count() << " s\n";
  return logits.size(1) == 118 ? 0 : 1;
}
