#include <swinsmt/checkpoint/config_inference.hpp>
#include <swinsmt/error.hpp>

#include <ATen/ATen.h>

namespace swinsmt {
namespace {

const at::Tensor& require_key(const StateDict& state, const std::string& key, int64_t dims, const std::string& source) {
  const auto* t = state.find(key);
  if (!t)
    throw Error(source + " has no tensor \"" + key +
                "\": not a SwinSMT / Swin UNETR state dict (or a prefix was not stripped)");
  if (t->dim() != dims)
    throw Error(source + ": \"" + key + "\" must have " + std::to_string(dims) + " dimensions, got shape " +
                c10::str(t->sizes()));
  return *t;
}

bool has_key(const StateDict& state, const std::string& key) { return state.find(key) != nullptr; }

template <typename T>
void apply(const std::optional<T>& wanted, T inferred, const char* name, const std::string& source, T& target) {
  target = inferred;
  if (wanted && *wanted != inferred)
    throw Error("option " + std::string(name) + " contradicts the weights in " + source + ": requested " +
                c10::str(*wanted) + ", the tensors say " + c10::str(inferred));
}

}  // namespace

SwinSMTOptions infer_options(const StateDict& state, const ConfigOverrides& ov, const std::string& source) {
  const auto& embed = require_key(state, "swinViT.patch_embed.proj.weight", 5, source);
  const auto& head = require_key(state, "out.conv.conv.weight", 5, source);
  int64_t in = 0, out = 0, feature = 0;
  apply(ov.in_channels, embed.size(1), "in_channels", source, in);
  apply(ov.out_channels, head.size(0), "out_channels", source, out);
  apply(ov.feature_size, embed.size(0), "feature_size", source, feature);
  SwinSMTOptions o(in, out);
  o.feature_size(feature);

  std::vector<int64_t> depths, heads;
  int64_t moe_stages = 0, experts = 0;
  for (int64_t stage = 0; stage < SwinSMTOptions::kNumStages; ++stage) {
    const std::string prefix = "swinViT.layers" + std::to_string(stage + 1) + ".0.blocks.";
    int64_t depth = 0;
    while (has_key(state, prefix + std::to_string(depth) + ".norm1.weight")) ++depth;
    if (depth == 0)
      throw Error(source + " has no tensor \"" + prefix + "0.norm1.weight\": stage " + std::to_string(stage + 1) +
                  " of the Swin encoder is missing");
    depths.push_back(depth);
    heads.push_back(require_key(state, prefix + "0.attn.relative_position_bias_table", 2, source).size(1));
    const std::string slot_key = prefix + "0.mlp.to_slot_embeds.0.weight";
    if (has_key(state, slot_key)) {
      const int64_t dim = feature << stage;
      const int64_t e = require_key(state, slot_key, 2, source).size(0) / dim;
      if (moe_stages > 0 && e != experts)
        throw Error(source + ": Soft MoE stages disagree on the expert count (" + std::to_string(experts) + " vs " +
                    std::to_string(e) + " in \"" + slot_key + "\")");
      experts = e;
      ++moe_stages;
    } else if (moe_stages > 0) {
      throw Error(source + ": stage " + std::to_string(stage + 1) +
                  " has no Soft MoE after a stage that has one; SwinSMT puts the MoE in the last stages only");
    }
  }
  o.depths(depths).num_heads(heads);

  bool v2 = false, moe = false;
  apply(ov.use_v2, has_key(state, "swinViT.layers1c.0.layer.conv1.conv.weight"), "use_v2", source, v2);
  apply(ov.use_moe, moe_stages > 0, "use_moe", source, moe);
  o.use_v2(v2).use_moe(moe);
  if (moe) {
    int64_t e = 0;
    apply(ov.num_experts, experts, "num_experts", source, e);
    o.num_experts(e).num_layers_with_moe(moe_stages);
  } else if (ov.num_experts) {
    o.num_experts(*ov.num_experts);
  }
  if (ov.downsample) o.downsample(*ov.downsample);
  if (ov.normalize) o.normalize(*ov.normalize);
  if (ov.img_size) o.img_size(*ov.img_size);
  validate(o);
  return o;
}

}  // namespace swinsmt
