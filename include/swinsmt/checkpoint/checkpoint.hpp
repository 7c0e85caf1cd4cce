#pragma once
// Reads checkpoint files as Python wrote them, without Python: torch.save zip archives, pre-1.6
// legacy torch.save files, and safetensors. The state dict is found inside the usual wrappers
// (Lightning Fabric {"model": ...}, DDP {"state_dict": {"module." + key}}, Lightning .ckpt with
// "model." keys, MONAI tutorial dicts, raw OrderedDicts) and returned with the wrapper prefix removed.

#include <swinsmt/checkpoint/safetensors.hpp>
#include <swinsmt/checkpoint/state_dict.hpp>

#include <string>
#include <utility>
#include <vector>

namespace swinsmt {

enum class ContainerKind { torch_zip, torch_legacy, safetensors };

/// "torch.save zip", "torch.save legacy (pre-1.6)", "safetensors".
const char* container_name(ContainerKind kind);

/// What was found in a checkpoint file besides the tensors.
struct CheckpointInfo {
  std::string path;
  ContainerKind container = ContainerKind::torch_zip;
  /// Where the state dict sat: "" for the top level, else the key path ("model", "state_dict", ...).
  std::string location;
  /// The wrapper prefix removed from every key ("module.", "model.", "_orig_mod.", "net." or "").
  std::string stripped_prefix;
  /// Other top-level entries, each with a one-line description ("step" -> "int 1200").
  std::vector<std::pair<std::string, std::string>> entries;
  /// safetensors `__metadata__` (empty for torch files).
  Metadata metadata;
};

struct Checkpoint {
  StateDict state;  ///< CPU tensors with their saved dtype, sizes and strides materialised contiguously
  CheckpointInfo info;
};

/// Reads any supported checkpoint file. Throws swinsmt::Error naming the file and what is wrong.
Checkpoint read_checkpoint(const std::string& path);

/// read_checkpoint(path).state
StateDict read_state_dict(const std::string& path);

}  // namespace swinsmt
