#pragma once
// One call from a checkpoint file to a ready model: read the file, infer the configuration from
// the tensors, build SwinSMT, load the weights strictly, move it to the device, eval mode.

#include <swinsmt/checkpoint/checkpoint.hpp>
#include <swinsmt/checkpoint/config_inference.hpp>
#include <swinsmt/checkpoint/model_card.hpp>
#include <swinsmt/nn/swinsmt_model.hpp>

#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

namespace swinsmt {

struct LoadOptions {
  /// Merging version, normalize, and checks. A set field wins over the model card's.
  ConfigOverrides config;
  /// A card for a file that carries none (or to replace the one it carries); checked against the
  /// tensors like an embedded one.
  std::optional<ModelCard> card;
  /// Names `card` in errors (its file).
  std::string card_source = "the model card";
  bool strict = true;  ///< every model key must be present with its shape
  c10::Device device = c10::Device(c10::kCPU);
  /// Parameter dtype (float32, float16, bfloat16). bfloat16 on the CPU keeps float32 parameters and
  /// runs the Soft MoE products in bfloat16 (SwinSMT::set_bf16_products); it needs
  /// cpu_bf16_products_available() and throws swinsmt::Error otherwise.
  c10::ScalarType dtype = c10::kFloat;
};

struct LoadedModel {
  SwinSMT model{nullptr};  ///< in eval mode on the requested device
  SwinSMTOptions config;   ///< the configuration used
  CheckpointInfo info;     ///< what the file held
  LoadReport report;       ///< keys skipped in non-strict mode
  /// LoadOptions::card, else the card embedded in the file (safetensors metadata "model_card"),
  /// else none. Its network fields were applied and checked against the tensors.
  std::optional<ModelCard> card;
};

/// Reads `path` (any format read_checkpoint accepts) into a ready model, configured by its model
/// card where it has one, else by the "config" metadata convert writes (merging, normalize), else by
/// the official defaults. Throws swinsmt::Error, also for a card that contradicts the tensors.
LoadedModel load(const std::string& path, const LoadOptions& options = {});

/// Moves a module to `device` and casts its floating-point parameters and buffers to `dtype`;
/// integer buffers (relative_position_index) keep their dtype.
void move_module(torch::nn::Module& module, c10::Device device, c10::ScalarType dtype);

/// Parses a device string ("cpu", "cuda", "cuda:1"); throws swinsmt::Error if it is malformed or
/// CUDA is not available in this build / on this machine.
c10::Device parse_device(const std::string& name);

/// Parses "float32" | "float16" | "bfloat16" (also "fp32", "fp16", "bf16").
c10::ScalarType parse_dtype(const std::string& name);

}  // namespace swinsmt
