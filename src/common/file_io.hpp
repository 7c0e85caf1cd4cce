#pragma once
// Small file helpers shared by the readers and writers of every layer (internal, not installed).

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace swinsmt {

/// Reads a whole file. Throws swinsmt::Error naming the path when it cannot be opened or read.
std::vector<uint8_t> read_file_bytes(const std::string& path);

/// A file written under a temporary name in the destination folder and renamed over the destination
/// by commit(), so an interrupted or failed write never leaves a file that looks complete.
/// Destroying an uncommitted AtomicFile removes the temporary file.
class AtomicFile {
 public:
  /// Creates the temporary file beside `path`. Throws swinsmt::Error when it cannot be created.
  explicit AtomicFile(std::string path);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  /// Appends `size` bytes. Throws swinsmt::Error on a write error or after commit().
  void write(const void* data, size_t size);
  /// Flushes, closes and renames into place. Throws swinsmt::Error on failure.
  void commit();
  const std::string& path() const { return path_; }
  const std::string& temporary_path() const { return temp_path_; }

 private:
  std::string path_, temp_path_;
  std::FILE* file_ = nullptr;
};

/// Refuses to replace an existing file or folder unless `overwrite` (nothing the user gave is
/// overwritten without being asked). Throws swinsmt::Error.
void check_writable_output(const std::string& path, bool overwrite);

/// Writes bytes to `path` through an AtomicFile.
void write_file_atomically(const std::string& path, const void* data, size_t size);

}  // namespace swinsmt
