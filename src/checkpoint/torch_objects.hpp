#pragma once
// The torch part of unpickling: storages named by persistent ids, and tensors rebuilt by
// torch._utils._rebuild_tensor_v2 and friends. While the pickle runs, storages and tensors are only
// recorded (the legacy format stores the bytes after the pickle); a tensor is materialised later,
// by name, after its size, stride and offset were checked against its storage and the storage's
// bytes against the file, so a declared size never causes an allocation the file cannot back.

#include "pickle.hpp"

#include <ATen/core/Tensor.h>
#include <c10/core/ScalarType.h>

#include <functional>
#include <map>
#include <string>
#include <vector>

namespace swinsmt::ckpt {

/// A storage as its persistent id ('storage', type, key, location, numel[, view]) declares it.
struct StorageRef {
  std::string key;       ///< record "data/<key>" (zip) or key in the storage section (legacy)
  at::ScalarType dtype;  ///< element type of the storage (uint8 for untyped storages)
  uint64_t numel = 0;    ///< elements of the (root) storage
  std::string location;  ///< where it was saved ("cpu", "cuda:0"); everything loads to CPU
  // Pre-1.0 legacy files can name a view: elements [view_offset, view_offset + view_numel) of root.
  bool is_view = false;
  uint64_t view_offset = 0, view_numel = 0;
};

/// A tensor as _rebuild_tensor_v2 (storage, offset, size, stride, ...) declares it.
struct TensorSpec {
  size_t storage = 0;
  at::ScalarType dtype;  ///< the storage's, or _rebuild_tensor_v3's dtype argument
  int64_t offset = 0;
  std::vector<int64_t> sizes, strides;
};

/// Bytes of a storage record, viewed in the mapped file (or an inflated copy it keeps alive).
struct StorageBytes {
  const uint8_t* data = nullptr;
  uint64_t size = 0;
  std::shared_ptr<const void> keep_alive;
};

class TorchObjects : public Hooks {
 public:
  explicit TorchObjects(std::string source) : source_(std::move(source)) {}

  Value* persistent_load(Unpickler& u, Value* pid) override;
  Value* call(Unpickler& u, const Value& callable, Value* args) override;

  bool is_tensor(const Value* v) const { return v && v->is(Kind::external) && v->text == "tensor"; }
  bool is_storage(const Value* v) const { return v && v->is(Kind::external) && v->text == "storage"; }
  const TensorSpec& tensor(const Value& v) const { return tensors_.at(static_cast<size_t>(v.integer)); }
  const std::vector<StorageRef>& storages() const { return storages_; }
  /// "tensor float32 [3, 4]", "storage float16 (10 elements)".
  std::string describe(const Value& v) const;

  /// The root storage's bytes (the whole zip record, or the legacy section entry).
  using ByteSource = std::function<StorageBytes(const StorageRef&)>;
  /// Materialises `tensor` as a contiguous CPU tensor; `name` (its state-dict key) appears in errors.
  /// `swap_bytes`: the file's byte order differs from this machine's.
  at::Tensor materialize(const Value& value, const std::string& name, const ByteSource& bytes, bool swap_bytes);
  /// Drops the storages kept for views that share them.
  void release_storages() { cache_.clear(); }

 private:
  Value* rebuild_tensor(Unpickler& u, const std::string& function, Value* args);
  at::Tensor storage_tensor(size_t index, at::ScalarType dtype, const std::string& name, const ByteSource& bytes,
                            bool swap_bytes);

  std::string source_;
  std::vector<StorageRef> storages_;
  std::map<std::string, size_t> storage_index_;  ///< identity of a storage -> index in storages_
  std::vector<TensorSpec> tensors_;
  std::map<std::pair<size_t, int>, at::Tensor> cache_;  ///< (storage, dtype) -> its elements
  int rebuild_nesting_ = 0;
};

/// torch's name of a dtype: "float32", "bfloat16", "int64", "bool".
const char* dtype_name(at::ScalarType type);

}  // namespace swinsmt::ckpt
