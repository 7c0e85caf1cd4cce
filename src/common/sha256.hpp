#pragma once
// SHA-256 (FIPS 180-4) of files, for the provenance swinsmt records (which checkpoint made an
// output). Internal, not installed: no cryptographic library is a dependency for this one digest.

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

namespace swinsmt {

class Sha256 {
 public:
  Sha256();
  void update(const void* data, size_t size);
  /// The digest as 64 lowercase hex digits; the object is spent afterwards.
  std::string hex_digest();

 private:
  void block(const uint8_t* chunk);
  std::array<uint32_t, 8> state_;
  std::array<uint8_t, 64> buffer_{};
  size_t buffered_ = 0;
  uint64_t length_ = 0;  // bytes
};

/// SHA-256 of a whole file, read in pieces. Throws swinsmt::Error naming the path when it cannot be
/// read.
std::string sha256_of_file(const std::string& path);

}  // namespace swinsmt
