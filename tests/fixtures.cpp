#include "fixtures.hpp"

#include "test_paths.hpp"

#include <swinsmt/checkpoint/checkpoint.hpp>
#include <swinsmt/checkpoint/state_dict.hpp>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <iostream>

namespace swinsmt::test {

std::string data_path(const std::string& relative) { return std::string(SWINSMT_TEST_DATA_DIR) + "/" + relative; }

Fixture::Fixture(const std::string& relative) : path_(data_path(relative)), content_(read_safetensors(path_)) {
  const auto it = content_.metadata.find("aliases");
  if (it != content_.metadata.end()) {
    const auto aliases = nlohmann::json::parse(it->second);
    for (auto entry = aliases.begin(); entry != aliases.end(); ++entry)
      aliases_[entry.key()] = entry.value().get<std::string>();
  }
}

bool Fixture::has(const std::string& name) const { return content_.tensors.contains(name) || aliases_.count(name) > 0; }

const at::Tensor& Fixture::at(const std::string& name) const {
  const auto alias = aliases_.find(name);
  const std::string& key = alias == aliases_.end() ? name : alias->second;
  const auto* t = content_.tensors.find(key);
  if (!t) throw std::runtime_error(path_ + " has no reference tensor \"" + name + "\"");
  return *t;
}

SwinSMTOptions options_from_config_json(const std::string& json_text) {
  const auto c = nlohmann::json::parse(json_text);
  SwinSMTOptions o(c.at("in_channels").get<int64_t>(), c.at("out_channels").get<int64_t>());
  o.img_size(c.at("img_size").get<std::vector<int64_t>>()).feature_size(c.at("feature_size").get<int64_t>());
  o.use_v2(c.value("use_v2", false)).use_moe(c.value("use_moe", false));
  o.num_experts(c.value("num_experts", int64_t{4})).num_layers_with_moe(c.value("num_layers_with_moe", int64_t{2}));
  o.downsample(parse_merging(c.value("downsample", std::string("merging")))).normalize(c.value("normalize", true));
  return o;
}

StateDict fixture_weights(const std::string& model) {
  if (model == "smt_f12_v2_e4") return read_state_dict(data_path("checkpoints/smt_f12_v2_e4.fabric.pth"));
  auto weights = read_safetensors(data_path(model + ".weights.safetensors"));
  SwinSMT reference(options_from_config_json(weights.metadata.at("config")));
  for (const auto& item : reference->named_buffers())
    if (!weights.tensors.contains(item.key())) weights.tensors.insert(item.key(), item.value());
  return std::move(weights.tensors);
}

SwinSMT fixture_model(const std::string& model) {
  Fixture io(model + ".io.safetensors");
  SwinSMT net(options_from_config_json(io.metadata().at("config")));
  load_state_dict(*net, fixture_weights(model), /*strict=*/true, model);
  net->eval();
  return net;
}

double max_abs_error(const at::Tensor& actual, const at::Tensor& expected) {
  EXPECT_EQ(actual.sizes(), expected.sizes());
  if (actual.sizes() != expected.sizes()) return std::numeric_limits<double>::infinity();
  return (actual.to(at::kDouble) - expected.to(at::kDouble)).abs().max().item<double>();
}

void expect_close(const std::string& what, const at::Tensor& actual, const at::Tensor& expected, double tolerance) {
  const double err = max_abs_error(actual, expected);
  std::cout << "[ parity   ] " << what << ": max abs error " << err << " (tolerance " << tolerance << ")\n";
  EXPECT_LE(err, tolerance) << what;
  EXPECT_FALSE(actual.isnan().any().item<bool>()) << what << " has NaN";
}

}  // namespace swinsmt::test
