// The fused instance norm (+ leaky ReLU) of the UNETR conv blocks against float64 and against the
// ATen op the official InstanceNorm3d runs.
#include <swinsmt/nn/unetr_blocks.hpp>

#include "kernels/instance_norm_cpu.hpp"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <gtest/gtest.h>

namespace kernels = swinsmt::detail;

namespace {

at::Tensor exact_instance_norm(const at::Tensor& x) {  // float64, biased variance, eps 1e-5
  const auto d = x.to(at::kDouble);
  const auto flat = d.flatten(2);
  const auto mean = flat.mean(-1, true);
  const auto var = (flat - mean).pow(2).mean(-1, true);
  return ((flat - mean) / (var + 1e-5).sqrt()).view(x.sizes());
}

double max_abs_diff(const at::Tensor& a, const at::Tensor& b) {
  return (a.to(at::kDouble) - b.to(at::kDouble)).abs().max().item<double>();
}

}  // namespace

TEST(InstanceNormCpu, MatchesFloat64AndTheOfficialOpWithAndWithoutLeakyRelu) {
  c10::InferenceMode guard;
  at::manual_seed(3);
  // Planes large and small (grouped per thread), batch 2, an offset above the spread (the variance
  // is E[x^2] - mean^2: its cancellation must stay harmless), and a constant plane.
  std::vector<at::Tensor> inputs{at::randn({2, 5, 16, 12, 10}), at::randn({1, 3, 4, 4, 4}),
                                 at::randn({1, 8, 32, 32, 32}) * 0.5 + 3, at::randn({1, 2, 6, 6, 6})};
  inputs.back()[0][1].fill_(3.5);
  for (const auto& input : inputs) {
    SCOPED_TRACE(::testing::Message() << input.sizes());
    ASSERT_TRUE(kernels::instance_norm_cpu_applies(input));
    const auto exact = exact_instance_norm(input);
    const auto official = at::instance_norm(input, {}, {}, {}, {}, /*use_input_stats=*/true, 0.1, 1e-5, false);
    auto ours = input.clone();
    kernels::instance_norm_cpu_(ours, 1e-5, std::nullopt);
    EXPECT_LE(max_abs_diff(ours, exact), 2e-6);
    EXPECT_LE(max_abs_diff(ours, official), std::max(4e-6, 2 * max_abs_diff(official, exact)));
    auto activated = input.clone();
    kernels::instance_norm_cpu_(activated, 1e-5, 0.01);
    EXPECT_LE(max_abs_diff(activated, at::leaky_relu(exact, 0.01)), 2e-6);
  }
  // The constant plane normalises to exactly zero, as ATen's does.
  auto constant = inputs.back().clone();
  kernels::instance_norm_cpu_(constant, 1e-5, std::nullopt);
  EXPECT_EQ(constant[0][1].abs().max().item<float>(), 0.0f);
}

TEST(InstanceNormCpu, StepsAsideForOtherTensorsAndForAutograd) {
  EXPECT_FALSE(kernels::instance_norm_cpu_applies(at::randn({1, 2, 4, 4, 4}, at::kDouble)));
  EXPECT_FALSE(kernels::instance_norm_cpu_applies(at::randn({1, 4, 4, 4, 2}).permute({0, 4, 1, 2, 3})));
  EXPECT_FALSE(kernels::instance_norm_cpu_applies(at::empty({1, 2, 0, 4, 4})));
  // Where autograd records, the kernel's raw pointers would lose the graph: it steps aside.
  auto weight = at::ones({1}).requires_grad_();
  const auto recorded = at::randn({1, 2, 4, 4, 4}) * weight;
  EXPECT_FALSE(kernels::instance_norm_cpu_applies(recorded));
  {
    at::NoGradGuard no_grad;
    EXPECT_TRUE(kernels::instance_norm_cpu_applies(recorded));
  }
  // And the ATen path gives what the kernel gives.
  c10::InferenceMode guard;
  auto plain = at::randn({1, 3, 6, 4, 4}, at::kDouble);
  auto reference = plain.clone();
  swinsmt::instance_norm_(reference);
  EXPECT_LE(max_abs_diff(reference, exact_instance_norm(plain)), 1e-12);
}
