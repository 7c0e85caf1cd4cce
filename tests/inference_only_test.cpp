// swinsmt is inference-only (docs/architecture.md): eval() hands the caller ordinary tensors, and
// every module whose gradient would be wrong refuses to record one with a clear error.
#include "fixtures.hpp"
#include "test_support.hpp"

#include <swinsmt/error.hpp>
#include <swinsmt/nn/swinsmt_model.hpp>

#include <gtest/gtest.h>

using namespace swinsmt;

namespace {

SwinSMTOptions small() {
  return SwinSMTOptions(1, 3).feature_size(12).img_size({64, 64, 64}).use_v2(true).use_moe(true).num_layers_with_moe(1);
}

bool says_inference_only(const std::string& message) {
  return message.find("swinsmt is inference-only") != std::string::npos;
}

}  // namespace

TEST(InferenceOnly, EvalReturnsTensorsTheCallerMayChangeInPlace) {
  SwinSMT model(small());
  model->eval();
  auto logits = model->forward(at::rand({1, 1, 64, 64, 64}));  // the README snippet, autograd enabled
  EXPECT_FALSE(logits.is_inference());
  EXPECT_FALSE(logits.requires_grad());
  EXPECT_NO_THROW(logits.add_(1));
  auto result = model->forward_with_hidden(at::rand({1, 1, 64, 64, 64}));
  EXPECT_NO_THROW(result.hidden[4].mul_(2));
}

TEST(InferenceOnly, OfficialOutputInEvalModeWithAutogradEnabled) {
  test::Fixture io("smt_f12_v2_e4.io.safetensors");
  auto model = test::fixture_model("smt_f12_v2_e4");  // eval mode; no inference guard here
  test::expect_close("eval() output with autograd enabled", model->forward(io.at("input")), io.at("output"));
}

TEST(InferenceOnly, TrainModeRefusesToRecordGradients) {
  SwinSMT model(small());
  model->train();
  const auto message = test::error_of([&] { model->forward(at::rand({1, 1, 64, 64, 64})); });
  EXPECT_TRUE(says_inference_only(message)) << message;
  EXPECT_NE(message.find("eval()"), std::string::npos) << message;
}

TEST(InferenceOnly, TrainModeWithoutAutogradComputesWhatEvalComputes) {
  SwinSMT model(small());
  const auto x = at::rand({1, 1, 64, 64, 64});
  model->eval();
  const auto expected = model->forward(x);
  model->train();
  at::NoGradGuard no_grad;
  EXPECT_LE(test::max_abs_error(model->forward(x), expected), 1e-6);
}

TEST(InferenceOnly, TrainModeWithDropoutRefuses) {
  SwinSMT model(small().drop_rate(0.1));
  model->train();
  at::NoGradGuard no_grad;
  const auto message = test::error_of([&] { model->forward(at::rand({1, 1, 64, 64, 64})); });
  EXPECT_TRUE(says_inference_only(message)) << message;
}

TEST(InferenceOnly, SubmodulesWhoseGradientWouldBeWrongRefuse) {
  // Autograd enabled, parameters that require grad (the default): each refuses before computing.
  SoftMoE moe(SoftMoEOptions(12, 4));
  EXPECT_TRUE(says_inference_only(test::error_of([&] { moe(at::rand({1, 64, 12})); })));
  WindowAttention attention(WindowAttentionOptions(12, 3));
  EXPECT_TRUE(says_inference_only(test::error_of([&] { attention(at::rand({2, 8, 12}), std::nullopt); })));
  SwinBlock block(SwinBlockOptions(12, 3));
  EXPECT_TRUE(says_inference_only(test::error_of([&] { block(at::rand({1, 4, 4, 4, 12}), std::nullopt); })));
  UnetResBlock res(UnetResBlockOptions(2, 4));
  EXPECT_TRUE(says_inference_only(test::error_of([&] { res(at::rand({1, 2, 8, 8, 8})); })));
  // The same modules run where no gradient is recorded.
  at::NoGradGuard no_grad;
  EXPECT_EQ(moe(at::rand({1, 64, 12})).sizes(), at::IntArrayRef({1, 64, 12}));
  EXPECT_EQ(res(at::rand({1, 2, 8, 8, 8})).sizes(), at::IntArrayRef({1, 4, 8, 8, 8}));
}
