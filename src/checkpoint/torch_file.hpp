#pragma once
// A torch.save file after its pickle ran: the value tree, the storages and tensors it declared,
// and where each storage's bytes are. Two containers write it: the ZIP archive of PyTorch >= 1.6
// and the legacy stream of pickles followed by raw storages.

#include "pickle.hpp"
#include "torch_objects.hpp"

#include <memory>
#include <string>

namespace swinsmt::ckpt {

class TorchFile {
 public:
  explicit TorchFile(const std::string& source) : source(source), objects(source) {}
  virtual ~TorchFile() = default;
  TorchFile(const TorchFile&) = delete;
  TorchFile& operator=(const TorchFile&) = delete;

  /// The bytes of a (root) storage. Throws swinsmt::Error if the file does not have them.
  virtual StorageBytes storage_bytes(const StorageRef& storage) = 0;

  /// The tensor value as a contiguous CPU tensor (see TorchObjects::materialize).
  at::Tensor materialize(const Value& tensor, const std::string& name) {
    return objects.materialize(
        tensor, name, [this](const StorageRef& s) { return storage_bytes(s); }, swap_bytes);
  }

  std::string source;
  TorchObjects objects;
  std::unique_ptr<Unpickler> unpickler;  ///< owns every value of the tree
  Value* root = nullptr;
  bool swap_bytes = false;  ///< the file's byte order is not this machine's
};

/// True when this machine stores numbers big-endian.
constexpr bool host_is_big_endian() {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  return true;
#else
  return false;
#endif
}

/// A torch.save ZIP archive (PyTorch >= 1.6). `data` must outlive the result.
std::unique_ptr<TorchFile> read_torch_zip(const uint8_t* data, uint64_t size, const std::string& source);

/// A legacy torch.save file (PyTorch < 1.6, or _use_new_zipfile_serialization=False).
std::unique_ptr<TorchFile> read_torch_legacy(const uint8_t* data, uint64_t size, const std::string& source);

}  // namespace swinsmt::ckpt
