#pragma once
// A state dict is an ordered name -> tensor map, as Python's `module.state_dict()`.
// Loading one into a module follows torch's `load_state_dict` contract: in strict mode every
// missing key, unexpected key and shape/dtype mismatch is reported together, then nothing is copied.

#include <torch/nn/module.h>
#include <torch/ordered_dict.h>

#include <string>
#include <vector>

namespace swinsmt {

using StateDict = torch::OrderedDict<std::string, at::Tensor>;

/// What load_state_dict found. `mismatched` entries read "key: expected [..] float, got [..] half".
struct LoadReport {
  std::vector<std::string> missing;
  std::vector<std::string> unexpected;
  std::vector<std::string> mismatched;
  bool ok() const { return missing.empty() && unexpected.empty() && mismatched.empty(); }
  /// One line per problem, at most `limit` lines per kind.
  std::string describe(size_t limit = 20) const;
};

/// The module's parameters and buffers under their registered (= official) names.
StateDict module_state_dict(const torch::nn::Module& module);

/// Copies `state` into the module's parameters and buffers, converted to their device and dtype
/// (like torch's load_state_dict, floating-point values may change precision; an integer tensor
/// where a float one is expected, or the reverse, is a mismatch).
/// strict: any missing/unexpected/mismatched key throws swinsmt::Error naming `source` and every problem,
/// before anything is copied. Non-strict: copies the keys whose shapes match and returns the report.
LoadReport load_state_dict(torch::nn::Module& module, const StateDict& state, bool strict = true,
                           const std::string& source = "state dict");

}  // namespace swinsmt
