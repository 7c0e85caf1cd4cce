#include "zip_archive.hpp"

#include <swinsmt/error.hpp>

#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <cstring>

namespace swinsmt::ckpt {
namespace {

constexpr uint32_t kLocalSig = 0x04034b50;
constexpr uint32_t kCentralSig = 0x02014b50;
constexpr uint32_t kEndSig = 0x06054b50;
constexpr uint32_t kZip64EndSig = 0x06064b50;
constexpr uint32_t kZip64LocatorSig = 0x07064b50;
constexpr uint64_t kEndSize = 22, kLocatorSize = 20, kZip64EndSize = 56, kCentralSize = 46, kLocalSize = 30;
constexpr uint64_t kMaxComment = 0xFFFF;
// zlib's deflate cannot compress better than about 1032:1; a larger declared size is a lie.
constexpr uint64_t kMaxDeflateRatio = 1032;

uint16_t u16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }
uint32_t u32(const uint8_t* p) { return static_cast<uint32_t>(u16(p)) | (static_cast<uint32_t>(u16(p + 2)) << 16); }
uint64_t u64(const uint8_t* p) { return static_cast<uint64_t>(u32(p)) | (static_cast<uint64_t>(u32(p + 4)) << 32); }

std::string hex32(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08x", v);
  return buf;
}

}  // namespace

bool looks_like_zip(const uint8_t* data, uint64_t size) {
  return size >= 4 && (u32(data) == kLocalSig || u32(data) == kEndSig);
}

ZipArchive::ZipArchive(const uint8_t* data, uint64_t size, std::string source)
    : data_(data), size_(size), source_(std::move(source)) {
  const std::string& src = source_;
  if (size < kEndSize)
    throw Error(src + ": not a complete ZIP archive (" + std::to_string(size) +
                " bytes; its end record alone needs 22)");

  // The end record sits in the last 22 + 65535 bytes (it may be followed by a comment).
  const uint64_t lowest = size > kEndSize + kMaxComment ? size - kEndSize - kMaxComment : 0;
  uint64_t eocd = UINT64_MAX;
  for (uint64_t pos = size - kEndSize + 1; pos-- > lowest;) {
    if (u32(data + pos) == kEndSig && pos + kEndSize + u16(data + pos + 20) <= size) {
      eocd = pos;
      break;
    }
  }
  if (eocd == UINT64_MAX)
    throw Error(src + ": no ZIP end-of-central-directory record in the last " + std::to_string(size - lowest) +
                " bytes (truncated file?)");
  const uint8_t* e = data + eocd;
  uint64_t disk = u16(e + 4), cd_disk = u16(e + 6), count = u16(e + 10), cd_size = u32(e + 12), cd_offset = u32(e + 16);
  uint64_t cd_limit = eocd;  // the central directory ends before the end records

  if (eocd >= kLocatorSize && u32(e - kLocatorSize) == kZip64LocatorSig) {
    const uint64_t locator = eocd - kLocatorSize;
    const uint64_t z64 = u64(data + locator + 8);
    if (z64 > locator || locator - z64 < kZip64EndSize)
      throw Error(src + ": ZIP64 end record offset " + std::to_string(z64) + " does not lie before its locator at " +
                  std::to_string(locator));
    const uint8_t* z = data + z64;
    if (u32(z) != kZip64EndSig)
      throw Error(src + ": no ZIP64 end record signature at offset " + std::to_string(z64) + " (found " +
                  hex32(u32(z)) + ")");
    disk = u32(z + 16);
    cd_disk = u32(z + 20);
    count = u64(z + 32);
    cd_size = u64(z + 40);
    cd_offset = u64(z + 48);
    cd_limit = z64;
  } else if (count == 0xFFFF || cd_size == 0xFFFFFFFF || cd_offset == 0xFFFFFFFF) {
    throw Error(src +
                ": the ZIP end record defers to a ZIP64 record, but there is no ZIP64 locator before it at offset " +
                std::to_string(eocd));
  }
  if (disk != 0 || cd_disk != 0)
    throw Error(src + ": multi-disk ZIP archives are not supported (disk " + std::to_string(disk) + ")");
  if (cd_offset > cd_limit || cd_size > cd_limit - cd_offset)
    throw Error(src + ": the ZIP central directory [" + std::to_string(cd_offset) + ", " +
                std::to_string(cd_offset + cd_size) + ") does not lie before its end record at offset " +
                std::to_string(cd_limit) + " (truncated or corrupt file)");
  if (count > cd_size / kCentralSize)
    throw Error(src + ": the ZIP end record declares " + std::to_string(count) +
                " entries, but the central directory of " + std::to_string(cd_size) + " bytes has room for at most " +
                std::to_string(cd_size / kCentralSize));

  entries_.reserve(static_cast<size_t>(count));
  uint64_t pos = cd_offset;
  const uint64_t cd_end = cd_offset + cd_size;
  for (uint64_t i = 0; i < count; ++i) {
    const std::string where =
        src + ": ZIP central directory entry " + std::to_string(i) + " at offset " + std::to_string(pos);
    if (cd_end - pos < kCentralSize) throw Error(where + " runs past the end of the central directory");
    const uint8_t* c = data + pos;
    if (u32(c) != kCentralSig)
      throw Error(where + " has signature " + hex32(u32(c)) + ", expected " + hex32(kCentralSig));
    const uint64_t name_len = u16(c + 28), extra_len = u16(c + 30), comment_len = u16(c + 32);
    if (cd_end - pos - kCentralSize < name_len + extra_len + comment_len)
      throw Error(where + ": its name, extra field and comment run past the end of the central directory");
    ZipEntry entry;
    entry.name.assign(reinterpret_cast<const char*>(c + kCentralSize), static_cast<size_t>(name_len));
    entry.encrypted = (u16(c + 8) & 1) != 0;
    entry.method = u16(c + 10);
    entry.crc32 = u32(c + 16);
    entry.compressed_size = u32(c + 20);
    entry.size = u32(c + 24);
    entry.local_header = u32(c + 42);
    const std::string name_where = src + ": ZIP entry \"" + entry.name + "\"";

    // ZIP64 extra field: 64-bit values for those that read 0xFFFFFFFF, in this order.
    const uint8_t* x = c + kCentralSize + name_len;
    for (uint64_t off = 0; off + 4 <= extra_len;) {
      const uint16_t id = u16(x + off), len = u16(x + off + 2);
      if (off + 4 + len > extra_len) throw Error(name_where + " has an extra field that runs past its end");
      if (id == 0x0001) {
        const uint8_t* f = x + off + 4;
        uint64_t used = 0;
        for (uint64_t* target : {&entry.size, &entry.compressed_size, &entry.local_header}) {
          if (*target != 0xFFFFFFFF) continue;
          if (used + 8 > len)
            throw Error(name_where + ": its ZIP64 extra field of " + std::to_string(len) + " bytes is too short");
          *target = u64(f + used);
          used += 8;
        }
      }
      off += 4 + len;
    }

    if (entry.local_header > size || size - entry.local_header < kLocalSize)
      throw Error(name_where + ": local header offset " + std::to_string(entry.local_header) +
                  " lies outside the archive of " + std::to_string(size) + " bytes");
    const uint8_t* l = data + entry.local_header;
    if (u32(l) != kLocalSig)
      throw Error(name_where + ": no local header signature at offset " + std::to_string(entry.local_header) +
                  " (found " + hex32(u32(l)) + ")");
    const uint64_t local_name = u16(l + 26), local_extra = u16(l + 28);
    entry.data = entry.local_header + kLocalSize + local_name + local_extra;
    if (entry.data > size)
      throw Error(name_where + ": its local header runs past the end of the archive (truncated file?)");
    if (local_name != name_len || std::memcmp(l + kLocalSize, entry.name.data(), static_cast<size_t>(name_len)) != 0)
      throw Error(name_where + ": the local header at offset " + std::to_string(entry.local_header) +
                  " names a different entry");
    if (entry.compressed_size > size - entry.data)
      throw Error(name_where + ": its " + std::to_string(entry.compressed_size) + " data bytes at offset " +
                  std::to_string(entry.data) + " run past the end of the archive of " + std::to_string(size) +
                  " bytes (truncated file?)");
    if (!by_name_.emplace(entry.name, entries_.size()).second)
      throw Error(name_where + " appears twice in the central directory");
    entries_.push_back(std::move(entry));
    pos += kCentralSize + name_len + extra_len + comment_len;
  }
}

const ZipEntry* ZipArchive::find(const std::string& name) const {
  const auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : &entries_[it->second];
}

ZipData ZipArchive::read(const ZipEntry& entry) const {
  const std::string where = source_ + ": ZIP entry \"" + entry.name + "\"";
  if (entry.encrypted) throw Error(where + " is encrypted");
  ZipData out;
  if (entry.method == 0) {
    if (entry.compressed_size != entry.size)
      throw Error(where + " is stored uncompressed but declares " + std::to_string(entry.compressed_size) +
                  " stored and " + std::to_string(entry.size) + " uncompressed bytes");
    out.data = data_ + entry.data;
    out.size = entry.size;
  } else if (entry.method == 8) {
    if (entry.size > entry.compressed_size * kMaxDeflateRatio + 1024)
      throw Error(where + " declares " + std::to_string(entry.size) + " uncompressed bytes from " +
                  std::to_string(entry.compressed_size) + " deflated ones, more than deflate can produce");
    out.owned = std::make_shared<std::vector<uint8_t>>(static_cast<size_t>(entry.size));
    z_stream z{};
    if (inflateInit2(&z, -MAX_WBITS) != Z_OK) throw Error(where + ": cannot initialise zlib");
    uint64_t in_done = 0, out_done = 0;
    int rc = Z_OK;
    while (rc == Z_OK) {
      // zlib counts in 32-bit units: feed and drain in chunks.
      const uint64_t in_chunk = std::min<uint64_t>(entry.compressed_size - in_done, 1u << 30);
      const uint64_t out_chunk = std::min<uint64_t>(entry.size - out_done, 1u << 30);
      z.next_in = const_cast<Bytef*>(data_ + entry.data + in_done);
      z.avail_in = static_cast<uInt>(in_chunk);
      z.next_out = out.owned->data() + out_done;
      z.avail_out = static_cast<uInt>(out_chunk);
      rc = inflate(&z, Z_NO_FLUSH);
      in_done += in_chunk - z.avail_in;
      out_done += out_chunk - z.avail_out;
      if (rc == Z_OK && z.avail_in == in_chunk && z.avail_out == out_chunk) rc = Z_BUF_ERROR;  // no progress
    }
    inflateEnd(&z);
    if (rc != Z_STREAM_END || out_done != entry.size)
      throw Error(where + ": its deflate data is corrupt or does not decompress to the declared " +
                  std::to_string(entry.size) + " bytes (got " + std::to_string(out_done) + ")");
    out.data = out.owned->data();
    out.size = entry.size;
  } else {
    throw Error(where + " uses compression method " + std::to_string(entry.method) +
                " (only 0, stored, and 8, deflate, are supported)");
  }
  uLong crc = crc32_z(0L, Z_NULL, 0);
  crc = crc32_z(crc, out.data, static_cast<z_size_t>(out.size));
  if (static_cast<uint32_t>(crc) != entry.crc32)
    throw Error(where + " fails its CRC-32 check (stored " + hex32(entry.crc32) + ", computed " +
                hex32(static_cast<uint32_t>(crc)) + "): the file is corrupt");
  return out;
}

}  // namespace swinsmt::ckpt
