// Submodule parity against the official implementation's recorded inputs and outputs.
#include "fixtures.hpp"

#include <swinsmt/nn/soft_moe.hpp>
#include <swinsmt/nn/swinsmt_model.hpp>

#include <c10/core/InferenceMode.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

using namespace swinsmt;
using test::expect_close;

namespace {

class SmtLayers : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    io_ = new test::Fixture("smt_f12_v2_e4.io.safetensors");
    model_ = new SwinSMT(test::fixture_model("smt_f12_v2_e4"));
  }
  static void TearDownTestSuite() {
    delete io_;
    delete model_;
  }
  template <typename ModuleImpl>
  static ModuleImpl& module(const std::string& path) {
    auto modules = (*model_)->named_modules();
    auto* found = modules.find(path);
    if (!found) throw std::runtime_error("model has no submodule " + path);
    auto* typed = (*found)->template as<ModuleImpl>();
    if (!typed) throw std::runtime_error("submodule " + path + " has another type");
    return *typed;
  }
  static const at::Tensor& in(const std::string& path, int i = 0) { return io_->at(path + ".in" + std::to_string(i)); }
  static const at::Tensor& out(const std::string& path) { return io_->at(path + ".out"); }
  // The mask the block's stage hands to it (block input is (B, D, H, W, C)).
  static std::optional<ShiftMask> stage_mask(const at::Tensor& x) {
    return stage_shift_mask({x.size(1), x.size(2), x.size(3)}, {7, 7, 7}, x.device());
  }
  static test::Fixture* io_;
  static SwinSMT* model_;
  c10::InferenceMode guard_;
};
test::Fixture* SmtLayers::io_ = nullptr;
SwinSMT* SmtLayers::model_ = nullptr;

}  // namespace

TEST_F(SmtLayers, PatchEmbed) {
  const std::string p = "swinViT.patch_embed";
  expect_close(p, module<PatchEmbedImpl>(p).forward(in(p)), out(p));
}

TEST_F(SmtLayers, V2ResidualConvBlock) {
  const std::string p = "swinViT.layers1c.0";
  expect_close(p, module<UnetrBasicBlockImpl>(p).forward(in(p)), out(p));
}

TEST_F(SmtLayers, WindowAttention) {
  const std::string p = "swinViT.layers1.0.blocks.0.attn";
  auto& attention = module<WindowAttentionImpl>(p);
  for (bool fused : {true, false}) {  // the fused CPU kernel (where built) and the ATen op sequence
    attention.options.fused_cpu(fused);
    expect_close(p + (fused ? " (fused)" : " (ATen)"), attention.forward(in(p), std::nullopt), out(p));
  }
  attention.options.fused_cpu(true);
}

TEST_F(SmtLayers, SwinBlockUnshifted) {
  const std::string p = "swinViT.layers1.0.blocks.0";
  expect_close(p, module<SwinBlockImpl>(p).forward(in(p), stage_mask(in(p))), out(p));
}

TEST_F(SmtLayers, SwinBlockShifted) {
  const std::string p = "swinViT.layers1.0.blocks.1";
  auto& attention = module<WindowAttentionImpl>(p + ".attn");
  for (bool fused : {true, false}) {  // shift mask through both attention paths
    attention.options.fused_cpu(fused);
    expect_close(p + (fused ? " (fused)" : " (ATen)"), module<SwinBlockImpl>(p).forward(in(p), stage_mask(in(p))),
                 out(p));
  }
  attention.options.fused_cpu(true);
}

TEST_F(SmtLayers, SwinBlockShiftedWithSoftMoE) {
  const std::string p = "swinViT.layers2.0.blocks.1";
  expect_close(p, module<SwinBlockImpl>(p).forward(in(p), stage_mask(in(p))), out(p));
}

TEST_F(SmtLayers, PatchMergingLegacyOrder) {
  const std::string p = "swinViT.layers1.0.downsample";
  expect_close(p, module<PatchMergingImpl>(p).forward(in(p)), out(p));
}

TEST_F(SmtLayers, SoftMoEBothKernels) {
  const std::string p = "swinViT.layers2.0.blocks.0.mlp";
  auto& moe = module<SoftMoEImpl>(p);
  for (auto kernel : {MoeKernel::reference, MoeKernel::chunked, MoeKernel::chunked_aten}) {
    moe.options.kernel(kernel);
    expect_close(p + " (kernel " + std::to_string(static_cast<int>(kernel)) + ")", moe.forward(in(p)), out(p));
  }
  moe.options.kernel(MoeKernel::chunked);
}

TEST_F(SmtLayers, Encoders) {
  for (const std::string p : {"encoder2", "encoder10"})
    expect_close(p, module<UnetrBasicBlockImpl>(p).forward(in(p)), out(p));
}

TEST_F(SmtLayers, Decoders) {
  for (const std::string p : {"decoder5", "decoder3"})
    expect_close(p, module<UnetrUpBlockImpl>(p).forward(in(p, 0), in(p, 1)), out(p));
}

TEST(MergingV2Layers, PatchMergingV2) {
  c10::InferenceMode guard;
  test::Fixture io("smt_f12_mergingv2_e3.io.safetensors");
  auto model = test::fixture_model("smt_f12_mergingv2_e3");
  const std::string p = "swinViT.layers1.0.downsample";
  auto* merging = (*model->named_modules().find(p))->as<PatchMergingImpl>();
  ASSERT_NE(merging, nullptr);
  EXPECT_EQ(merging->options.version(), Merging::v2);
  expect_close(p, merging->forward(io.at(p + ".in0")), io.at(p + ".out"));
}

// The two DynamicSlotsSoftMoE layer cases: token padding (100 tokens, 3 experts) and a user mask.
class SoftMoECase : public ::testing::TestWithParam<std::string> {};

TEST_P(SoftMoECase, MatchesOfficialWithBothKernels) {
  c10::InferenceMode guard;
  test::Fixture fx(GetParam() + ".safetensors");
  const auto cfg = nlohmann::json::parse(fx.metadata().at("config"));
  for (auto kernel : {MoeKernel::reference, MoeKernel::chunked, MoeKernel::chunked_aten}) {
    for (int64_t chunk : {int64_t{1024}, int64_t{7}}) {
      SoftMoE moe(SoftMoEOptions(cfg.at("dim").get<int64_t>(), cfg.at("num_experts").get<int64_t>())
                      .expert_mult(cfg.at("expert_mult").get<double>())
                      .kernel(kernel)
                      .chunk_size(chunk)
                      .tile_size(chunk == 7 ? 16 : 0));  // small chunks: also several token tiles
      StateDict weights;
      for (const auto& item : moe->named_parameters()) weights.insert(item.key(), fx.at("weights." + item.key()));
      load_state_dict(*moe, weights, true, GetParam());
      std::optional<at::Tensor> mask;
      if (fx.has("mask")) mask = fx.at("mask");
      const auto label =
          GetParam() + " kernel " + std::to_string(static_cast<int>(kernel)) + " chunk " + std::to_string(chunk);
      expect_close(label, moe->forward(fx.at("input"), mask), fx.at("output"));
    }
  }
}
INSTANTIATE_TEST_SUITE_P(Official, SoftMoECase, ::testing::Values("softmoe_padded", "softmoe_masked"));
