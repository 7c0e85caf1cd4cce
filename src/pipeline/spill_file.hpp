#pragma once
// A scratch file for tensors that do not need to be in memory for a while (the sliding window's
// accumulators between the windows that touch them). Created in a folder with mkstemp and unlinked at
// once: nothing stays on disk after the process ends, however it ends, and no name the user owns is
// ever touched. Internal to pipeline/.

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace swinsmt::detail {

class SpillFile {
 public:
  /// Creates the unlinked file in `folder` ("" = $TMPDIR, else /tmp). Throws swinsmt::Error naming
  /// the folder when it cannot.
  explicit SpillFile(std::string folder);
  ~SpillFile();
  SpillFile(const SpillFile&) = delete;
  SpillFile& operator=(const SpillFile&) = delete;

  /// Stores a tensor's bytes (any device; copied to the CPU first) and returns the slot's offset.
  /// Freed slots of the same size are reused. Throws swinsmt::Error on a write error (disk full).
  int64_t store(const at::Tensor& tensor);
  /// Reads the slot back as a tensor of `shape` and `options` and frees the slot.
  at::Tensor take(int64_t offset, const std::vector<int64_t>& shape, const at::TensorOptions& options);

  const std::string& folder() const { return folder_; }
  /// Bytes the file spans now and at most so far (its disk use).
  int64_t size() const { return end_; }

 private:
  std::string folder_;
  int fd_ = -1;
  int64_t end_ = 0;
  std::map<int64_t, std::vector<int64_t>> free_slots_;  // bytes -> offsets
};

/// The folder SpillFile uses for "": $TMPDIR when set and not empty, else /tmp.
std::string default_spill_folder();

}  // namespace swinsmt::detail
