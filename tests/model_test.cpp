// Whole-model parity and state-dict layout against the official implementation.
#include "fixtures.hpp"

#include <swinsmt/checkpoint/config_inference.hpp>
#include <swinsmt/checkpoint/state_dict.hpp>
#include <swinsmt/error.hpp>

#include <c10/core/InferenceMode.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>

using namespace swinsmt;

namespace {
const std::vector<std::string> kModels = {"smt_f12_v2_e4", "swinunetr_f12_b2", "smt_f12_mergingv2_e3"};
}

class FixtureModel : public ::testing::TestWithParam<std::string> {};

TEST_P(FixtureModel, KeysShapesAndDtypesEqualOfficialStateDict) {
  std::ifstream in(test::data_path(GetParam() + ".keys.json"));
  const auto listing = nlohmann::json::parse(in);
  SwinSMT model(test::options_from_config_json(listing.at("config").dump()));
  const auto ours = module_state_dict(*model);
  std::map<std::string, std::pair<std::string, std::vector<int64_t>>> official;
  for (const auto& entry : listing.at("keys"))
    official[entry[0].get<std::string>()] = {entry[1].get<std::string>(), entry[2].get<std::vector<int64_t>>()};
  EXPECT_EQ(ours.size(), official.size());
  for (const auto& item : ours) {
    const auto it = official.find(item.key());
    if (it == official.end()) {
      ADD_FAILURE() << "key not in the official state dict: " << item.key();
      continue;
    }
    EXPECT_EQ(item.value().sizes().vec(), it->second.second) << item.key();
    const bool is_long = item.value().scalar_type() == at::kLong;
    EXPECT_EQ(is_long ? "I64" : "F32", it->second.first) << item.key();
    EXPECT_TRUE(is_long || item.value().scalar_type() == at::kFloat) << item.key();
  }
  for (const auto& [key, _] : official) EXPECT_TRUE(ours.contains(key)) << "missing official key " << key;
}

TEST_P(FixtureModel, ConfigInferredFromWeightsEqualsOfficialConfig) {
  test::Fixture io(GetParam() + ".io.safetensors");
  const auto official = test::options_from_config_json(io.metadata().at("config"));
  ConfigOverrides known;
  known.downsample = official.downsample();
  known.normalize = official.normalize();
  const auto inferred = infer_options(test::fixture_weights(GetParam()), known);
  EXPECT_EQ(describe(inferred), describe(official));
}

TEST_P(FixtureModel, OutputAndHiddenStatesMatchOfficial) {
  c10::InferenceMode guard;
  test::Fixture io(GetParam() + ".io.safetensors");
  auto model = test::fixture_model(GetParam());
  const auto result = model->forward_with_hidden(io.at("input"));
  test::expect_close(GetParam() + " output", result.logits, io.at("output"));
  ASSERT_EQ(result.hidden.size(), 5u);
  for (int i = 0; i < 5; ++i) {
    const auto name = "hidden." + std::to_string(i);
    test::expect_close(GetParam() + " " + name, result.hidden[i], io.at(name));
  }
}

// What segment() runs on the CPU: the decoder's map, then the output block piece by piece.
TEST_P(FixtureModel, OutputBlockPieceByPieceAfterDecodeMatchesOfficial) {
  c10::InferenceMode guard;
  test::Fixture io(GetParam() + ".io.safetensors");
  auto model = test::fixture_model(GetParam());
  const auto features = model->decode(io.at("input"));
  ASSERT_EQ(features.size(1), model->options.feature_size());
  std::vector<at::Tensor> pieces;
  for (int64_t d = 0; d < features.size(2); d += 24)
    pieces.push_back(model->out(features.narrow(2, d, std::min<int64_t>(24, features.size(2) - d)).contiguous()));
  const auto logits = at::cat(pieces, 2);
  test::expect_close(GetParam() + " output", logits, io.at("output"));
  EXPECT_TRUE(logits.equal(model->forward(io.at("input"))));
}

INSTANTIATE_TEST_SUITE_P(Official, FixtureModel, ::testing::ValuesIn(kModels));

// The official op sequence of the Soft MoE (quadratic memory) on the models that have one.
class FixtureMoeModel : public ::testing::TestWithParam<std::string> {};

TEST_P(FixtureMoeModel, ReferenceMoeKernelGivesSameOutput) {
  test::Fixture io(GetParam() + ".io.safetensors");
  auto model = test::fixture_model(GetParam());
  ASSERT_TRUE(model->options.use_moe());
  c10::InferenceMode guard;
  model->set_moe_kernel(MoeKernel::reference);
  test::expect_close(GetParam() + " output (reference MoE)", model->forward(io.at("input")), io.at("output"));
}

INSTANTIATE_TEST_SUITE_P(Official, FixtureMoeModel, ::testing::Values("smt_f12_v2_e4", "smt_f12_mergingv2_e3"));

TEST(LoadStateDict, ReportsEveryProblemTogether) {
  SwinSMT model(SwinSMTOptions(1, 3).feature_size(12).img_size({64, 64, 64}));
  auto state = module_state_dict(*model);
  StateDict broken;
  for (const auto& item : state) {
    if (item.key() == "encoder1.layer.conv1.conv.weight") continue;  // missing
    if (item.key() == "out.conv.conv.weight")
      broken.insert(item.key(), at::zeros({4, 12, 1, 1, 1}));  // wrong shape
    else
      broken.insert(item.key(), item.value());
  }
  broken.insert("extra.weight", at::zeros({2}));  // unexpected
  try {
    load_state_dict(*model, broken, true, "ckpt.pth");
    FAIL() << "strict load accepted a broken state dict";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("ckpt.pth"), std::string::npos) << msg;
    EXPECT_NE(msg.find("encoder1.layer.conv1.conv.weight"), std::string::npos) << msg;
    EXPECT_NE(msg.find("extra.weight"), std::string::npos) << msg;
    EXPECT_NE(msg.find("out.conv.conv.weight: expected [3, 12, 1, 1, 1] Float, got [4, 12, 1, 1, 1] Float"),
              std::string::npos)
        << msg;
  }
  const auto report = load_state_dict(*model, broken, false);
  EXPECT_EQ(report.missing.size(), 1u);
  EXPECT_EQ(report.unexpected.size(), 1u);
  EXPECT_EQ(report.mismatched.size(), 1u);
}
