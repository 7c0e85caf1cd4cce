#include "mapped_file.hpp"

#include "common/file_io.hpp"

#include <swinsmt/error.hpp>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cerrno>
#include <cstring>

namespace swinsmt::ckpt {

MappedFile::MappedFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Error("cannot open " + path + ": " + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
    void* p = ::mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ, MAP_PRIVATE, fd, 0);
    if (p != MAP_FAILED) {
      mapping_ = p;
      data_ = static_cast<const uint8_t*>(p);
      size_ = static_cast<uint64_t>(st.st_size);
    }
  }
  ::close(fd);
  if (!mapping_) {
    if (S_ISDIR(st.st_mode)) throw Error("cannot read " + path + ": it is a directory");
    buffer_ = read_file_bytes(path);
    data_ = buffer_.data();
    size_ = buffer_.size();
  }
}

MappedFile::~MappedFile() {
  if (mapping_) ::munmap(mapping_, static_cast<size_t>(size_));
}

}  // namespace swinsmt::ckpt
