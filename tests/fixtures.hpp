#pragma once
// Access to the official reference tensors in tests/data (copied from ../shared/fixtures by
// tools/make_test_data.py) and the comparison every parity test uses.

#include <swinsmt/checkpoint/safetensors.hpp>
#include <swinsmt/nn/swinsmt_model.hpp>

#include <map>
#include <string>

namespace swinsmt::test {

/// Absolute path of a file under tests/data.
std::string data_path(const std::string& relative);

/// A reference safetensors file whose duplicate tensors were stored once ("aliases" metadata).
class Fixture {
 public:
  explicit Fixture(const std::string& relative);
  bool has(const std::string& name) const;
  /// The tensor `name` (following aliases); fails the test if absent.
  const at::Tensor& at(const std::string& name) const;
  const Metadata& metadata() const { return content_.metadata; }

 private:
  std::string path_;
  SafetensorsContent content_;
  std::map<std::string, std::string> aliases_;
};

/// The official weights of a fixture model with every key of the official state dict. For
/// smt_f12_v2_e4 they come from its Fabric checkpoint; the other copies lack the derived
/// relative_position_index buffers, which are taken from a model built with the same config
/// (test ModelTest.RelativePositionIndexMatchesOfficial checks those against the official ones).
StateDict fixture_weights(const std::string& model);

/// A model built from the fixture's official config ("config" metadata of NAME.io.safetensors),
/// loaded strictly with fixture_weights(model), in eval mode.
SwinSMT fixture_model(const std::string& model);

/// Options from the "config" JSON the fixtures carry (constructor arguments of the official model).
SwinSMTOptions options_from_config_json(const std::string& json_text);

/// Largest absolute difference; fails if shapes differ.
double max_abs_error(const at::Tensor& actual, const at::Tensor& expected);

/// Asserts shape equality and max |actual - expected| <= tolerance, printing the error either way.
void expect_close(const std::string& what, const at::Tensor& actual, const at::Tensor& expected,
                  double tolerance = 1e-4);

}  // namespace swinsmt::test
