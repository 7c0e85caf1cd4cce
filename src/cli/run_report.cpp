#include "run_report.hpp"

#include <swinsmt/error.hpp>

#include <fcntl.h>
#include <unistd.h>
#include <cerrno>
#include <cstring>
#include <filesystem>

namespace swinsmt::cli {

RunReport::~RunReport() {
  if (fd_ >= 0) ::close(fd_);
}

void RunReport::add(const nlohmann::json& line) {
  if (fd_ < 0) {
    const std::filesystem::path file(path_);
    std::error_code ec;
    if (file.has_parent_path()) std::filesystem::create_directories(file.parent_path(), ec);
    fd_ = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0) throw Error("cannot open the run report " + path_ + " (--report): " + std::strerror(errno));
  }
  const std::string text = line.dump() + "\n";
  ssize_t written = 0;
  do {
    written = ::write(fd_, text.data(), text.size());
  } while (written < 0 && errno == EINTR);
  if (written != static_cast<ssize_t>(text.size()))
    throw Error("cannot append to the run report " + path_ + ": " +
                (written < 0 ? std::string(std::strerror(errno)) : "short write"));
}

}  // namespace swinsmt::cli
