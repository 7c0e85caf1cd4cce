// Reads a checkpoint: recognise the container, run its pickle (torch files), find the state dict,
// strip wrapper prefixes, materialise the tensors. The pieces live in src/checkpoint/.
#include "checkpoint/mapped_file.hpp"
#include "checkpoint/reader.hpp"
#include "checkpoint/state_dict_discovery.hpp"
#include "checkpoint/torch_file.hpp"
#include "checkpoint/zip_archive.hpp"

#include <swinsmt/checkpoint/checkpoint.hpp>
#include <swinsmt/error.hpp>

#include <ATen/ATen.h>

#include <cstdio>
#include <cstring>

namespace swinsmt {

const char* container_name(ContainerKind kind) {
  switch (kind) {
    case ContainerKind::torch_zip:
      return "torch.save zip";
    case ContainerKind::torch_legacy:
      return "torch.save legacy (pre-1.6)";
    case ContainerKind::safetensors:
      return "safetensors";
  }
  return "unknown";
}

namespace ckpt {
namespace {

std::string first_bytes(const uint8_t* data, uint64_t size) {
  std::string s;
  for (uint64_t i = 0; i < size && i < 8; ++i) {
    char buf[4];
    std::snprintf(buf, sizeof buf, "%02x", data[i]);
    s += (i ? " " : "") + std::string(buf);
  }
  return s;
}

bool looks_like_tar(const uint8_t* data, uint64_t size) {
  return size >= 262 && std::memcmp(data + 257, "ustar", 5) == 0;
}

Checkpoint read_torch(std::unique_ptr<TorchFile> file, ContainerKind kind) {
  Checkpoint ckpt;
  ckpt.info.path = file->source;
  ckpt.info.container = kind;
  const FoundStateDict found = find_state_dict(file->root, file->objects, file->source);
  ckpt.info.location = found.location;
  std::vector<std::string> names;
  std::vector<const Value*> tensors;
  for (const auto& [k, v] : found.dict->entries) {
    if (!file->objects.is_tensor(v)) continue;
    names.push_back(k->text);
    tensors.push_back(v);
  }
  const std::vector<std::string> saved_names = names;
  ckpt.info.stripped_prefix = strip_wrapper_prefixes(names);
  for (size_t i = 0; i < names.size(); ++i) ckpt.state.insert(names[i], file->materialize(*tensors[i], saved_names[i]));
  file->objects.release_storages();
  ckpt.info.entries = describe_entries(file->root, found, file->objects);
  return ckpt;
}

}  // namespace

Checkpoint parse_checkpoint(const uint8_t* data, uint64_t size, const std::string& source) {
  if (size == 0) throw Error(source + " is empty");
  if (looks_like_zip(data, size)) return read_torch(read_torch_zip(data, size, source), ContainerKind::torch_zip);
  if (looks_like_safetensors(data, static_cast<size_t>(size))) {
    auto content = parse_safetensors(data, static_cast<size_t>(size), source);
    Checkpoint ckpt;
    ckpt.info.path = source;
    ckpt.info.container = ContainerKind::safetensors;
    ckpt.info.metadata = std::move(content.metadata);
    std::vector<std::string> names;
    for (const auto& item : content.tensors) names.push_back(item.key());
    ckpt.info.stripped_prefix = strip_wrapper_prefixes(names);
    size_t i = 0;
    for (auto& item : content.tensors) ckpt.state.insert(names[i++], std::move(item.value()));
    return ckpt;
  }
  if (data[0] == 0x80) return read_torch(read_torch_legacy(data, size, source), ContainerKind::torch_legacy);
  if (looks_like_tar(data, size))
    throw Error(source +
                " is a tar archive: the torch.save format of PyTorch < 0.4, which is not supported "
                "(load and re-save it with a newer PyTorch)");
  throw Error(source +
              " is not a checkpoint this reader knows: expected a torch.save ZIP archive (\"PK\"), a legacy "
              "torch.save pickle (0x80) or safetensors, but it starts with " +
              first_bytes(data, size));
}

}  // namespace ckpt

Checkpoint read_checkpoint(const std::string& path) {
  const ckpt::MappedFile file(path);
  return ckpt::parse_checkpoint(file.data(), file.size(), path);
}

StateDict read_state_dict(const std::string& path) { return read_checkpoint(path).state; }

}  // namespace swinsmt
