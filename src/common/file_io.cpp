#include "common/file_io.hpp"

#include <swinsmt/error.hpp>

#include <unistd.h>
#include <cerrno>
#include <cstring>
#include <filesystem>

namespace swinsmt {
namespace {
std::string system_error() { return std::strerror(errno); }
}  // namespace

std::vector<uint8_t> read_file_bytes(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) throw Error("cannot open " + path + ": " + system_error());
  std::vector<uint8_t> bytes;
  uint8_t buffer[1 << 16];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, f)) > 0) bytes.insert(bytes.end(), buffer, buffer + n);
  const bool failed = std::ferror(f) != 0;
  std::fclose(f);
  if (failed) throw Error("cannot read " + path + ": " + system_error());
  return bytes;
}

AtomicFile::AtomicFile(std::string path) : path_(std::move(path)) {
  temp_path_ = path_ + ".tmp" + std::to_string(::getpid());
  file_ = std::fopen(temp_path_.c_str(), "wb");
  if (!file_) throw Error("cannot create " + temp_path_ + " (to write " + path_ + "): " + system_error());
}

AtomicFile::~AtomicFile() {
  if (file_) {
    std::fclose(file_);
    std::remove(temp_path_.c_str());
  }
}

void AtomicFile::write(const void* data, size_t size) {
  if (!file_) throw Error("cannot write " + path_ + ": file already committed");
  if (size && std::fwrite(data, 1, size, file_) != size)
    throw Error("cannot write " + temp_path_ + ": " + system_error());
}

void AtomicFile::commit() {
  if (!file_) throw Error("cannot write " + path_ + ": file already committed");
  const bool flushed = std::fflush(file_) == 0 && ::fsync(::fileno(file_)) == 0;
  const bool closed = std::fclose(file_) == 0;
  file_ = nullptr;
  if (!flushed || !closed || std::rename(temp_path_.c_str(), path_.c_str()) != 0) {
    const std::string why = system_error();
    std::remove(temp_path_.c_str());
    throw Error("cannot write " + path_ + ": " + why);
  }
}

void write_file_atomically(const std::string& path, const void* data, size_t size) {
  AtomicFile file(path);
  file.write(data, size);
  file.commit();
}

void check_writable_output(const std::string& path, bool overwrite) {
  std::error_code ec;
  if (std::filesystem::exists(path, ec) && !overwrite)
    throw Error(path + " already exists; pass --overwrite to replace it");
}

}  // namespace swinsmt
