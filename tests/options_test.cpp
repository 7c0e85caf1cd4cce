#include <swinsmt/error.hpp>
#include <swinsmt/nn/swinsmt_model.hpp>

#include <gtest/gtest.h>

using namespace swinsmt;

namespace {
// Expects swinsmt::Error whose message contains every fragment.
template <typename F>
void expect_error(F&& f, std::initializer_list<const char*> fragments) {
  try {
    f();
    ADD_FAILURE() << "no error thrown";
  } catch (const Error& e) {
    for (const char* frag : fragments) EXPECT_NE(std::string(e.what()).find(frag), std::string::npos) << e.what();
  }
}
SwinSMTOptions small() { return SwinSMTOptions(1, 3).feature_size(12).img_size({64, 64, 64}); }
}  // namespace

TEST(OptionsTest, OfficialDefaultsAreValid) { EXPECT_NO_THROW(validate(SwinSMTOptions(1, 118))); }

TEST(OptionsTest, RejectsBadValuesNamingArgumentAndValue) {
  expect_error([] { validate(small().feature_size(16)); }, {"feature_size", "16"});
  expect_error([] { validate(small().img_size({64, 64, 48})); }, {"img_size", "48", "divisible by 32"});
  expect_error([] { validate(small().img_size({32, 64, 64})); }, {"img_size", "at least 64"});
  expect_error([] { validate(small().depths({2, 2, 2})); }, {"depths", "4 values"});
  expect_error([] { validate(small().num_heads({3, 6, 12, 25})); }, {"num_heads[3]", "25", "96"});
  expect_error([] { validate(small().drop_rate(1.5)); }, {"drop_rate", "1.5"});
  expect_error([] { validate(small().spatial_dims(2)); }, {"spatial_dims", "2"});
  expect_error([] { validate(small().norm_name("batch")); }, {"norm_name", "batch"});
  expect_error([] { validate(small().use_moe(true).num_experts(0)); }, {"num_experts", "0"});
  expect_error([] { parse_merging("merge"); }, {"merging", "merge"});
}

TEST(OptionsTest, ConstructorValidates) { EXPECT_THROW(SwinSMT(small().feature_size(18)), Error); }

TEST(OptionsTest, InputShapeIsChecked) {
  SwinSMT model(small());
  expect_error([&] { model->forward(at::zeros({1, 1, 64, 64, 48})); }, {"divisible by 32", "48"});
  expect_error([&] { model->forward(at::zeros({1, 1, 32, 64, 64})); }, {"at least 64", "32"});
  expect_error([&] { model->forward(at::zeros({1, 2, 64, 64, 64})); }, {"1 channel", "2"});
  expect_error([&] { model->forward(at::zeros({1, 64, 64, 64})); }, {"5-D"});
}

TEST(OptionsTest, MoeStagesFollowOfficialRule) {
  auto o = small().use_moe(true).num_layers_with_moe(3);
  EXPECT_FALSE(o.stage_uses_moe(0));
  EXPECT_TRUE(o.stage_uses_moe(1));
  EXPECT_TRUE(o.stage_uses_moe(3));
  EXPECT_FALSE(small().use_moe(false).num_layers_with_moe(3).stage_uses_moe(3));
}

TEST(OptionsTest, OfficialReadmeConfigurationParameterCount) {
  // Official README configuration: 83,628,616 parameters (official count, not ours).
  SwinSMT model(
      SwinSMTOptions(1, 118).feature_size(48).use_v2(true).use_moe(true).num_experts(4).num_layers_with_moe(3));
  EXPECT_EQ(parameter_count(*model), 83628616);
}
