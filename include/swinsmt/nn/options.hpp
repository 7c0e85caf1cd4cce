#pragma once
// SwinSMTOptions mirrors the constructor of the official `SwinSMT` (MI2DataLab/SwinSMT,
// src/models/swin_smt.py). Defaults are the official defaults.

#include <torch/arg.h>

#include <cstdint>
#include <string>
#include <vector>

namespace swinsmt {

/// Which patch-merging layer sits at the end of each Swin stage.
/// `v1` is the official default "merging" (MONAI's legacy PatchMerging with its quirky slice order),
/// `v2` is "mergingv2". Both have identical parameter shapes, so a checkpoint cannot tell them apart.
enum class Merging { v1, v2 };

/// Parses "merging" / "mergingv2" (the official strings); throws swinsmt::Error otherwise.
Merging parse_merging(const std::string& name);
/// The official string of a merging mode.
const char* merging_name(Merging merging);

struct SwinSMTOptions {
  SwinSMTOptions(int64_t in_channels, int64_t out_channels) : in_channels_(in_channels), out_channels_(out_channels) {}

  /// Number of Swin stages (always 4).
  static constexpr int64_t kNumStages = 4;
  /// True if stage `stage` (0-based) uses the Soft MoE instead of the MLP (official rule).
  bool stage_uses_moe(int64_t stage) const { return use_moe_ && (kNumStages - stage) <= num_layers_with_moe_; }

  // TORCH_ARG declares a public accessor pair and a private member: keep it last.

  /// Expected input size (D, H, W). Only validated, as in the official code; every dimension must be
  /// >= 64 and divisible by 32 (five stride-2 stages).
  TORCH_ARG(std::vector<int64_t>, img_size) = {128, 128, 128};
  TORCH_ARG(int64_t, in_channels);
  TORCH_ARG(int64_t, out_channels);
  /// Swin blocks per stage (exactly four stages).
  TORCH_ARG(std::vector<int64_t>, depths) = {2, 2, 2, 2};
  /// Attention heads per stage; stage i has feature_size * 2^i channels, which the heads must divide.
  TORCH_ARG(std::vector<int64_t>, num_heads) = {3, 6, 12, 24};
  /// Channels of the first stage; must be divisible by 12.
  TORCH_ARG(int64_t, feature_size) = 24;
  /// Only "instance" (MONAI InstanceNorm3d without affine) is supported.
  TORCH_ARG(std::string, norm_name) = "instance";
  /// Dropout rates: validated to lie in [0, 1]; inference ignores them (identity), as eval() does.
  TORCH_ARG(double, drop_rate) = 0.0;
  TORCH_ARG(double, attn_drop_rate) = 0.0;
  TORCH_ARG(double, dropout_path_rate) = 0.0;
  /// Layer-normalise (without affine) each stage's output before it is used as a skip.
  TORCH_ARG(bool, normalize) = true;
  /// Only 3 is supported (the official SwinSMT hard-codes 3-D conv blocks).
  TORCH_ARG(int64_t, spatial_dims) = 3;
  TORCH_ARG(Merging, downsample) = Merging::v1;
  /// SwinUNETR-v2: a residual conv block (UnetrBasicBlock) before each Swin stage.
  TORCH_ARG(bool, use_v2) = false;
  /// Replace the MLP of the last `num_layers_with_moe` stages by a Soft MoE (DynamicSlotsSoftMoE).
  TORCH_ARG(bool, use_moe) = false;
  TORCH_ARG(int64_t, num_layers_with_moe) = 2;
  TORCH_ARG(int64_t, num_experts) = 4;
};

/// Checks every option like the official constructor does, and more (sizes, heads, lengths).
/// Throws swinsmt::Error naming the argument and its value.
void validate(const SwinSMTOptions& options);

/// Checks that a network input of shape (B, C, D, H, W) fits the model: 5-D, C == in_channels, and
/// every spatial size >= 64 and divisible by 32. Throws swinsmt::Error naming the shape.
void validate_input_shape(const SwinSMTOptions& options, const std::vector<int64_t>& shape);

/// Human-readable one-line summary ("in 1, out 118, feature 48, depths [2,2,2,2], ...").
std::string describe(const SwinSMTOptions& options);

}  // namespace swinsmt
