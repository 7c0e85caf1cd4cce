// The model's forward opens a profiler range per child (named as the checkpoint's modules), per
// Swin stage, and around the Soft MoE, window attention and Winograd kernels, so a chrome trace of a
// window (`swinsmt_bench model --profile`) says where its time goes, not only ATen's share of it.
#include "kernels/cpu_matmul.hpp"
#include "test_support.hpp"

#include <swinsmt/swinsmt.hpp>

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <gtest/gtest.h>
#include <torch/csrc/autograd/profiler_legacy.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

using namespace swinsmt;

TEST(ProfilerRanges, ATraceOfAForwardNamesEveryStageAndKernel) {
  // v2 blocks and Soft MoE in the last stages, as the official configuration; 64^3, the smallest input
  // the model takes, keeps encoder1's and decoder1's maps large enough for the Winograd kernel.
  SwinSMT model(SwinSMTOptions(1, 3)
                    .feature_size(12)
                    .img_size({64, 64, 64})
                    .use_v2(true)
                    .use_moe(true)
                    .num_experts(4)
                    .num_layers_with_moe(2));
  model->eval();
  c10::InferenceMode guard;
  const auto x = at::rand({1, 1, 64, 64, 64});
  test::ScratchDir dir("profiler_ranges");
  const auto trace = dir / "trace.json";
  {
    torch::autograd::profiler::RecordProfile profile(trace);
    model->forward(x);
  }
  std::ifstream in(trace);
  std::stringstream text;
  text << in.rdbuf();
  std::vector<std::string> expected{"swinsmt::swinViT",          "swinsmt::encoder1",        "swinsmt::encoder2",
                                    "swinsmt::encoder3",         "swinsmt::encoder4",        "swinsmt::encoder10",
                                    "swinsmt::decoder5",         "swinsmt::decoder4",        "swinsmt::decoder3",
                                    "swinsmt::decoder2",         "swinsmt::decoder1",        "swinsmt::out",
                                    "swinsmt::swinViT.layers1c", "swinsmt::swinViT.layers1", "swinsmt::swinViT.layers4",
                                    "swinsmt::swinViT.layers4c", "swinsmt::WindowAttention", "swinsmt::SoftMoE"};
  // Where oneDNN's sgemm is built in (Debian's LibTorch) the 64^3 convolutions take the Winograd kernel.
  if (swinsmt::detail::has_onednn_sgemm()) expected.push_back("swinsmt::winograd_conv3d");
  for (const auto& name : expected)
    EXPECT_NE(text.str().find("\"" + name + "\""), std::string::npos) << name << " is not in the trace";
}
