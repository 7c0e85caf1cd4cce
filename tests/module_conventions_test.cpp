// The PyTorch C++ frontend's module conventions: every module is built from an options struct,
// clone() gives an independent deep copy, reset() can run again, and modules print themselves.
// Parity here is against the official reference outputs, not against our own model.
#include "fixtures.hpp"

#include <swinsmt/checkpoint/state_dict.hpp>
#include <swinsmt/error.hpp>
#include <swinsmt/nn/swinsmt_model.hpp>

#include <c10/core/InferenceMode.h>
#include <gtest/gtest.h>

#include <sstream>

using namespace swinsmt;

namespace {

const char* const kModel = "smt_f12_v2_e4";  // v2 + Soft MoE: every module type is in it

std::vector<std::pair<std::string, std::vector<int64_t>>> layout(const torch::nn::Module& module) {
  std::vector<std::pair<std::string, std::vector<int64_t>>> out;
  for (const auto& item : module_state_dict(module)) out.emplace_back(item.key(), item.value().sizes().vec());
  return out;
}

}  // namespace

TEST(ModuleConventions, CloneIsADeepCopyThatMatchesOfficial) {
  test::Fixture io(std::string(kModel) + ".io.safetensors");
  auto model = test::fixture_model(kModel);
  auto copy = std::dynamic_pointer_cast<SwinSMTImpl>(model->clone());
  ASSERT_NE(copy, nullptr);
  EXPECT_EQ(layout(*copy), layout(*model));
  // Every parameter and buffer has its own storage.
  const auto original = model->named_parameters();
  for (const auto& item : copy->named_parameters())
    EXPECT_NE(item.value().data_ptr(), original[item.key()].data_ptr()) << item.key();
  // The copy's submodule holders point at the copy's own children, not the original's.
  EXPECT_NE(copy->swinViT.get(), model->swinViT.get());
  EXPECT_NE(copy->decoder1->conv_block->conv1.get(), model->decoder1->conv_block->conv1.get());
  EXPECT_EQ(copy->decoder1->conv_block->conv1->conv->weight.data_ptr(),
            copy->named_parameters()["decoder1.conv_block.conv1.conv.weight"].data_ptr());

  copy->eval();
  {
    c10::InferenceMode guard;
    test::expect_close("clone output", copy->forward(io.at("input")), io.at("output"));
  }
  // Changing the copy leaves the original as it was: it still reproduces the official output.
  {
    at::NoGradGuard no_grad;
    for (auto& p : copy->parameters()) p.zero_();
  }
  c10::InferenceMode guard;
  test::expect_close("original after the clone was zeroed", model->forward(io.at("input")), io.at("output"));
}

TEST(ModuleConventions, ResetTwiceKeepsTheLayoutAndLoadsOfficialWeights) {
  test::Fixture io(std::string(kModel) + ".io.safetensors");
  auto model = test::fixture_model(kModel);
  const auto before = layout(*model);
  model->reset();
  model->reset();
  EXPECT_EQ(layout(*model), before);  // same names, shapes and order
  // Fresh parameters after reset(): loading the official weights again reproduces the official output.
  const auto report = load_state_dict(*model, test::fixture_weights(kModel));
  EXPECT_TRUE(report.missing.empty());
  EXPECT_TRUE(report.unexpected.empty());
  model->eval();
  c10::InferenceMode guard;
  test::expect_close("output after reset() twice and reloading", model->forward(io.at("input")), io.at("output"));
}

TEST(ModuleConventions, EverySubmoduleResetsAgain) {
  auto model = test::fixture_model(kModel);
  const auto before = layout(*model);
  // Each submodule's own reset(), innermost first, through the Cloneable interface.
  auto modules = model->modules(/*include_self=*/false);
  int swinsmt_modules = 0;
  for (auto it = modules.rbegin(); it != modules.rend(); ++it) {
    std::ostringstream name;
    (*it)->pretty_print(name);
    if (name.str().rfind("swinsmt::", 0) != 0) continue;  // LibTorch's own Linear, LayerNorm, ...
    ++swinsmt_modules;
    if (auto* block = (*it)->as<SwinBlock>()) block->reset();
    if (auto* attention = (*it)->as<WindowAttention>()) attention->reset();
    if (auto* moe = (*it)->as<SoftMoE>()) moe->reset();
    if (auto* merging = (*it)->as<PatchMerging>()) merging->reset();
    if (auto* embed = (*it)->as<PatchEmbed>()) embed->reset();
    if (auto* conv = (*it)->as<ConvLayer>()) conv->reset();
    if (auto* res = (*it)->as<UnetResBlock>()) res->reset();
    if (auto* layer = (*it)->as<BasicLayer>()) layer->reset();
  }
  EXPECT_GT(swinsmt_modules, 100);
  EXPECT_EQ(layout(*model), before);
}

TEST(ModuleConventions, ModulesPrintTheirOptions) {
  auto model = test::fixture_model(kModel);
  std::ostringstream text;
  text << *model;
  const std::string printed = text.str();
  for (const char* expected :
       {"swinsmt::SwinSMT(", "(swinViT): swinsmt::SwinTransformer",
        "swinsmt::WindowAttention(dim=12, num_heads=3, window=[7, 7, 7], qkv_bias=true, fused_cpu=true)",
        "swinsmt::SwinBlock(dim=12, num_heads=3, window=[7, 7, 7], shift=[3, 3, 3]",
        "swinsmt::SoftMoE(dim=24, num_experts=4", "swinsmt::PatchMerging(dim=12, version=merging)",
        "swinsmt::PatchEmbed(in_channels=1, embed_dim=12, patch_size=2)", "swinsmt::UnetrUpBlock(24, 12)",
        "swinsmt::ConvLayer(24, 12, kernel_size=2, stride=2, bias=false, transposed=true)",
        "swinsmt::UnetOutBlock(12, "})
    EXPECT_NE(printed.find(expected), std::string::npos) << "missing \"" << expected << "\" in\n" << printed;
}

TEST(ModuleConventions, OptionsDecideTheRegisteredChildren) {
  WindowAttention no_bias(WindowAttentionOptions(12, 3).qkv_bias(false).window({2, 2, 2}));
  EXPECT_FALSE(no_bias->qkv->bias.defined());
  EXPECT_EQ(no_bias->relative_position_bias_table.sizes(), at::IntArrayRef({27, 3}));
  EXPECT_DOUBLE_EQ(no_bias->scale, 0.5);  // head_dim 4
  EXPECT_THROW(WindowAttention(WindowAttentionOptions(12, 5)), Error);

  UnetResBlock projecting(UnetResBlockOptions(4, 8));
  EXPECT_TRUE(projecting->conv3);
  UnetResBlock same(UnetResBlockOptions(8, 8));
  EXPECT_FALSE(same->conv3);
  EXPECT_FALSE(same->named_children().contains("conv3"));
  same->options.in_channels(4);  // options changed, then reset(): the projection appears
  same->reset();
  EXPECT_TRUE(same->conv3);
  EXPECT_TRUE(same->named_children().contains("conv3"));

  SwinBlock dense(SwinBlockOptions(12, 3));
  EXPECT_TRUE(dense->mlp);
  EXPECT_FALSE(dense->moe);
  dense->options.use_moe(true);
  dense->reset();
  EXPECT_FALSE(dense->mlp);
  EXPECT_TRUE(dense->moe);
  EXPECT_TRUE(dense->named_parameters().contains("mlp.to_slot_embeds.0.weight"));

  BasicLayer stage(BasicLayerOptions(12, 2, 3).downsample(Merging::v2));
  EXPECT_EQ(stage->blocks->size(), 2u);
  EXPECT_EQ(stage->downsample->options.version(), Merging::v2);
  EXPECT_EQ(stage->blocks->ptr(1)->as<SwinBlock>()->options.shift(), (Size3{3, 3, 3}));
  EXPECT_FALSE(SwinBlock(SwinBlockOptions(12, 3).fused_cpu_attention(false))->attn->options.fused_cpu());

  EXPECT_EQ(MLPBlock(MLPBlockOptions(12, 48))->linear1->weight.sizes(), at::IntArrayRef({48, 12}));
  EXPECT_EQ(PatchEmbed(PatchEmbedOptions(1, 12).patch_size(4))->proj->weight.sizes(),
            at::IntArrayRef({12, 1, 4, 4, 4}));
}
