#include "common/strings.hpp"

#include <swinsmt/error.hpp>
#include <swinsmt/nn/options.hpp>

#include <sstream>

namespace swinsmt {
namespace {

std::string join(const std::vector<int64_t>& values) { return "[" + detail::join(values, ", ") + "]"; }

void require(bool ok, const std::string& message) {
  if (!ok) throw Error(message);
}

void require_rate(double rate, const char* name) {
  std::ostringstream msg;
  msg << "SwinSMTOptions: " << name << " must lie in [0, 1], got " << rate;
  require(rate >= 0.0 && rate <= 1.0, msg.str());
}

void require_spatial_size(const std::vector<int64_t>& sizes, const std::string& what) {
  for (int64_t s : sizes) {
    require(s >= 64 && s % 32 == 0,
            what + " must be at least 64 and divisible by 32 in every dimension (five stride-2 stages), got " +
                join(sizes));
  }
}

}  // namespace

Merging parse_merging(const std::string& name) {
  if (name == "merging") return Merging::v1;
  if (name == "mergingv2") return Merging::v2;
  throw Error("downsample must be \"merging\" or \"mergingv2\", got \"" + name + "\"");
}

const char* merging_name(Merging merging) { return merging == Merging::v1 ? "merging" : "mergingv2"; }

void validate(const SwinSMTOptions& o) {
  require(o.spatial_dims() == 3,
          "SwinSMTOptions: spatial_dims must be 3 (the official SwinSMT builds 3-D blocks), got " +
              std::to_string(o.spatial_dims()));
  require(o.img_size().size() == 3, "SwinSMTOptions: img_size must have 3 values (D, H, W), got " + join(o.img_size()));
  require_spatial_size(o.img_size(), "SwinSMTOptions: img_size");
  require(o.in_channels() >= 1, "SwinSMTOptions: in_channels must be >= 1, got " + std::to_string(o.in_channels()));
  require(o.out_channels() >= 1, "SwinSMTOptions: out_channels must be >= 1, got " + std::to_string(o.out_channels()));
  require(o.feature_size() > 0 && o.feature_size() % 12 == 0,
          "SwinSMTOptions: feature_size must be a positive multiple of 12, got " + std::to_string(o.feature_size()));
  require(o.depths().size() == SwinSMTOptions::kNumStages,
          "SwinSMTOptions: depths must have 4 values (one per Swin stage), got " + join(o.depths()));
  require(o.num_heads().size() == SwinSMTOptions::kNumStages,
          "SwinSMTOptions: num_heads must have 4 values (one per Swin stage), got " + join(o.num_heads()));
  for (int64_t i = 0; i < SwinSMTOptions::kNumStages; ++i) {
    require(o.depths()[i] >= 1, "SwinSMTOptions: depths must be >= 1, got " + join(o.depths()));
    const int64_t dim = o.feature_size() << i;
    const int64_t heads = o.num_heads()[i];
    require(heads >= 1 && dim % heads == 0, "SwinSMTOptions: num_heads[" + std::to_string(i) +
                                                "] = " + std::to_string(heads) + " must divide the stage's " +
                                                std::to_string(dim) + " channels");
  }
  require(o.norm_name() == "instance",
          "SwinSMTOptions: norm_name must be \"instance\" (the only norm the official model is trained with), got \"" +
              o.norm_name() + "\"");
  require_rate(o.drop_rate(), "drop_rate");
  require_rate(o.attn_drop_rate(), "attn_drop_rate");
  require_rate(o.dropout_path_rate(), "dropout_path_rate");
  if (o.use_moe()) {
    require(o.num_experts() >= 1, "SwinSMTOptions: num_experts must be >= 1, got " + std::to_string(o.num_experts()));
    require(o.num_layers_with_moe() >= 0 && o.num_layers_with_moe() <= SwinSMTOptions::kNumStages,
            "SwinSMTOptions: num_layers_with_moe must lie in [0, 4], got " + std::to_string(o.num_layers_with_moe()));
  }
}

void validate_input_shape(const SwinSMTOptions& o, const std::vector<int64_t>& shape) {
  require(shape.size() == 5, "SwinSMT input must be 5-D (B, C, D, H, W), got shape " + join(shape));
  require(shape[1] == o.in_channels(), "SwinSMT input must have " + std::to_string(o.in_channels()) +
                                           " channel(s) (in_channels), got shape " + join(shape));
  require(shape[0] >= 1, "SwinSMT input has an empty batch: shape " + join(shape));
  require_spatial_size({shape[2], shape[3], shape[4]}, "SwinSMT input spatial size (D, H, W)");
}

std::string describe(const SwinSMTOptions& o) {
  std::ostringstream out;
  out << "in " << o.in_channels() << ", out " << o.out_channels() << ", feature " << o.feature_size() << ", depths "
      << join(o.depths()) << ", heads " << join(o.num_heads()) << ", v2 " << (o.use_v2() ? "yes" : "no") << ", moe ";
  if (o.use_moe())
    out << o.num_experts() << " experts in the last " << o.num_layers_with_moe() << " stage(s)";
  else
    out << "no";
  out << ", downsample " << merging_name(o.downsample()) << ", normalize " << (o.normalize() ? "yes" : "no");
  return out.str();
}

}  // namespace swinsmt
