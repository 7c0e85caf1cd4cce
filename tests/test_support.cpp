#include "test_support.hpp"

#include "test_paths.hpp"

#include <swinsmt/error.hpp>

#include <sys/wait.h>
#include <unistd.h>
#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>

namespace swinsmt::test {

namespace fs = std::filesystem;

std::string source_path(const std::string& relative) { return std::string(SWINSMT_SOURCE_DIR) + "/" + relative; }

std::string example_weights() { return source_path("weights/swinsmt_f12_random.pth"); }

ScratchDir::ScratchDir(const std::string& tag) {
  static int counter = 0;
  path_ = (fs::temp_directory_path() /
           ("swinsmt_" + tag + "_" + std::to_string(::getpid()) + "_" + std::to_string(counter++)))
              .string();
  fs::remove_all(path_);
  fs::create_directories(path_);
}

ScratchDir::~ScratchDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

std::string ScratchDir::operator/(const std::string& name) const { return (fs::path(path_) / name).string(); }

std::string quoted(const std::string& s) { return "'" + s + "'"; }

std::string segment_args(const std::string& input, const std::string& output) {
  return "segment -i " + quoted(input) + " -o " + quoted(output) + " --weights " + quoted(example_weights());
}

std::string fast_segment_args(const std::string& input, const std::string& output) {
  return segment_args(input, output) + " --roi 64 --spacing 6";
}

CliRun run_swinsmt(const std::string& args) { return run_command(std::string(SWINSMT_CLI_PATH) + " " + args); }

CliRun run_command(const std::string& command) {
  static int counter = 0;
  const fs::path log = fs::temp_directory_path() /
                       ("swinsmt_run_" + std::to_string(::getpid()) + "_" + std::to_string(counter++) + ".log");
  const std::string cmd = command + " > " + log.string() + " 2>&1 < /dev/null";
  const int status = std::system(cmd.c_str());
  std::ifstream in(log);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  fs::remove(log);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, text};
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no swinsmt::Error thrown)";
}

std::vector<std::string> list_files(const std::string& folder) {
  std::vector<std::string> files;
  for (const auto& entry : fs::recursive_directory_iterator(folder))
    if (entry.is_regular_file()) files.push_back(fs::relative(entry.path(), folder).string());
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace swinsmt::test
