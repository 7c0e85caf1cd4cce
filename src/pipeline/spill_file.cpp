#include "spill_file.hpp"

#include <swinsmt/error.hpp>

#include <ATen/ATen.h>

#include <unistd.h>
#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace swinsmt::detail {
namespace {

/// Calls `step(bytes done)` (a pread or pwrite of the rest) until `bytes` are moved; "" on success,
/// else what went wrong.
template <typename Step>
std::string transfer(Step step, int64_t bytes) {
  for (int64_t done = 0; done < bytes;) {
    const ssize_t n = step(done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return std::strerror(errno);
    if (n == 0) return "the device moved no bytes (disk full, or the file ends early)";
    done += n;
  }
  return "";
}

}  // namespace

std::string default_spill_folder() {
  const char* tmp = std::getenv("TMPDIR");
  return tmp && *tmp ? std::string(tmp) : std::string("/tmp");
}

SpillFile::SpillFile(std::string folder) : folder_(folder.empty() ? default_spill_folder() : std::move(folder)) {
  std::string pattern = folder_ + "/swinsmt_spill_XXXXXX";
  std::vector<char> name(pattern.begin(), pattern.end());
  name.push_back('\0');
  fd_ = ::mkstemp(name.data());
  if (fd_ < 0)
    throw Error("cannot create a scratch file in " + folder_ + " for the sliding-window accumulators: " +
                std::strerror(errno) + " (choose another folder with --temp-dir)");
  ::unlink(name.data());  // ours alone, gone when closed
}

SpillFile::~SpillFile() {
  if (fd_ >= 0) ::close(fd_);
}

int64_t SpillFile::store(const at::Tensor& tensor) {
  const at::Tensor cpu = tensor.to(at::kCPU).contiguous();
  const auto bytes = static_cast<int64_t>(cpu.nbytes());
  int64_t offset = end_;
  auto slots = free_slots_.find(bytes);
  if (slots != free_slots_.end() && !slots->second.empty()) {
    offset = slots->second.back();
    slots->second.pop_back();
  } else {
    end_ += bytes;
  }
  const std::string failure = transfer(
      [&](int64_t done) {
        return ::pwrite(fd_, static_cast<const char*>(cpu.data_ptr()) + done, static_cast<size_t>(bytes - done),
                        offset + done);
      },
      bytes);
  if (!failure.empty())
    throw Error("cannot write " + std::to_string(bytes) +
                " bytes of sliding-window accumulators to a scratch file in " + folder_ + ": " + failure +
                " (free disk space there, choose another folder with --temp-dir, or raise --accumulator-memory)");
  return offset;
}

at::Tensor SpillFile::take(int64_t offset, const std::vector<int64_t>& shape, const at::TensorOptions& options) {
  at::Tensor cpu = at::empty(shape, options.device(at::kCPU));
  const auto bytes = static_cast<int64_t>(cpu.nbytes());
  const std::string failure = transfer(
      [&](int64_t done) {
        return ::pread(fd_, static_cast<char*>(cpu.data_ptr()) + done, static_cast<size_t>(bytes - done),
                       offset + done);
      },
      bytes);
  if (!failure.empty())
    throw Error("cannot read back " + std::to_string(bytes) +
                " bytes of sliding-window accumulators from the scratch file in " + folder_ + ": " + failure);
  free_slots_[bytes].push_back(offset);
  return options.device() == cpu.device() ? cpu : cpu.to(options.device());
}

}  // namespace swinsmt::detail
