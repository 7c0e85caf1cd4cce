// Placeholder until the torch.save readers land: safetensors only.
#include <swinsmt/checkpoint.hpp>
#include <swinsmt/error.hpp>
#include <swinsmt/file_io.hpp>

namespace swinsmt {

const char* container_name(ContainerKind kind) {
  switch (kind) {
    case ContainerKind::torch_zip: return "torch.save zip";
    case ContainerKind::torch_legacy: return "torch.save legacy (pre-1.6)";
    case ContainerKind::safetensors: return "safetensors";
  }
  return "unknown";
}

Checkpoint read_checkpoint(const std::string& path) {
  const auto bytes = read_file_bytes(path);
  if (!looks_like_safetensors(bytes.data(), bytes.size()))
    throw Error(path + ": only safetensors checkpoints can be read by this build");
  auto content = parse_safetensors(bytes.data(), bytes.size(), path);
  Checkpoint ckpt;
  ckpt.state = std::move(content.tensors);
  ckpt.info.path = path;
  ckpt.info.container = ContainerKind::safetensors;
  ckpt.info.metadata = std::move(content.metadata);
  return ckpt;
}

StateDict read_state_dict(const std::string& path) { return read_checkpoint(path).state; }

}  // namespace swinsmt
