#pragma once
// Finding the model's state dict inside what torch.save wrapped around it, and describing the
// rest in one line per entry for `swinsmt inspect`.

#include "pickle.hpp"
#include "torch_objects.hpp"

#include <string>
#include <utility>
#include <vector>

namespace swinsmt::ckpt {

/// Where the state dict sits: checked in this order, the first that is a flat name -> tensor map
/// wins: the top level, then these keys, then the same keys one level further down.
inline constexpr const char* kStateDictKeys[] = {"state_dict", "model", "model_state_dict", "module", "net", "network"};
/// Wrapper prefixes removed (repeatedly) when every key has them.
inline constexpr const char* kWrapperPrefixes[] = {"module.", "model.", "_orig_mod.", "net."};

struct FoundStateDict {
  const Value* dict = nullptr;  ///< a dict (or an opaque dict subclass) with the tensors
  std::string location;         ///< "" for the top level, else "model" or "model.state_dict"
};

/// Throws swinsmt::Error naming `source` and what the top level holds when there is none.
FoundStateDict find_state_dict(const Value* root, const TorchObjects& objects, const std::string& source);

/// Removes the wrapper prefixes every name has, in place; returns them concatenated ("" if none).
std::string strip_wrapper_prefixes(std::vector<std::string>& names);

/// One line per top-level entry other than the state dict ("step" -> "int 1200").
std::vector<std::pair<std::string, std::string>> describe_entries(const Value* root, const FoundStateDict& found,
                                                                  const TorchObjects& objects);

/// One line for a value: "int 1200", "dict (2 keys: state, param_groups)", "numpy.float64 (opaque)".
std::string describe_value(const Value& v, const TorchObjects& objects);

}  // namespace swinsmt::ckpt
