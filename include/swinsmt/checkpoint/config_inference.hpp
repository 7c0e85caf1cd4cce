#pragma once
// Recovers the SwinSMT configuration from a state dict's keys and shapes.
// Visible in the tensors: in/out channels, feature size, depths, heads (relative position bias
// tables), the v2 conv blocks, which stages have a Soft MoE and its expert count. Not visible:
// `downsample` (v1/v2 merging have identical weights) and `normalize` (no parameters): those come
// from the caller, with the official defaults.

#include <swinsmt/checkpoint/state_dict.hpp>
#include <swinsmt/nn/options.hpp>

#include <optional>

namespace swinsmt {

/// What the caller knows better than the weights. Unset fields keep the inferred or default value;
/// a set field that contradicts the weights is an error.
struct ConfigOverrides {
  std::optional<Merging> downsample;  ///< default Merging::v1 ("merging")
  std::optional<bool> normalize;      ///< default true
  std::optional<int64_t> in_channels, out_channels, feature_size, num_experts;
  std::optional<bool> use_v2, use_moe;
  std::optional<std::vector<int64_t>> img_size;
};

/// Infers the options from the state dict (already stripped of wrapper prefixes).
/// Throws swinsmt::Error naming the missing key or the conflicting value.
SwinSMTOptions infer_options(const StateDict& state, const ConfigOverrides& overrides = {},
                             const std::string& source = "state dict");

}  // namespace swinsmt
