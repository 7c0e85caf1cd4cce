#pragma once
// A whole file, read-only, as bytes: memory-mapped when possible, so a multi-gigabyte training
// checkpoint does not have to be read into memory just to take its model weights.

#include <cstdint>
#include <string>
#include <vector>

namespace swinsmt::ckpt {

class MappedFile {
 public:
  /// Throws swinsmt::Error naming the path when it cannot be opened or read.
  explicit MappedFile(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return data_; }
  uint64_t size() const { return size_; }

 private:
  const uint8_t* data_ = nullptr;
  uint64_t size_ = 0;
  void* mapping_ = nullptr;      // when mapped
  std::vector<uint8_t> buffer_;  // when read (pipes, special files)
};

}  // namespace swinsmt::ckpt
