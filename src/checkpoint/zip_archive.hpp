#pragma once
// A read-only ZIP reader over bytes in memory, enough for torch.save archives and anything that
// rewrote them: central directory, ZIP64 records and extra fields, stored and deflated entries,
// CRC-32 checks. Every offset and size is checked against the data before it is used, so a
// truncated or corrupt archive gives swinsmt::Error, never a read outside the buffer.

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace swinsmt::ckpt {

struct ZipEntry {
  std::string name;
  uint64_t local_header = 0;  ///< offset of the local file header
  uint64_t data = 0;          ///< offset of the (compressed) data, after the local header
  uint64_t compressed_size = 0;
  uint64_t size = 0;  ///< uncompressed size
  uint32_t crc32 = 0;
  uint16_t method = 0;  ///< 0 stored, 8 deflate
  bool encrypted = false;
};

/// The bytes of one entry: a view into the archive (stored) or an inflated copy (deflate).
struct ZipData {
  const uint8_t* data = nullptr;
  uint64_t size = 0;
  std::shared_ptr<std::vector<uint8_t>> owned;
};

class ZipArchive {
 public:
  /// Parses the central directory. Throws swinsmt::Error naming `source` if it is not a consistent
  /// ZIP archive. `data` must outlive the archive.
  ZipArchive(const uint8_t* data, uint64_t size, std::string source);

  const std::vector<ZipEntry>& entries() const { return entries_; }
  /// The entry with this exact name, or nullptr.
  const ZipEntry* find(const std::string& name) const;
  /// The entry's bytes, after checking its local header, bounds and CRC-32. Throws swinsmt::Error.
  ZipData read(const ZipEntry& entry) const;
  const std::string& source() const { return source_; }

 private:
  const uint8_t* data_;
  uint64_t size_;
  std::string source_;
  std::vector<ZipEntry> entries_;
  std::unordered_map<std::string, size_t> by_name_;
};

/// True if the bytes start with a ZIP local file header (or are an empty archive).
bool looks_like_zip(const uint8_t* data, uint64_t size);

}  // namespace swinsmt::ckpt
