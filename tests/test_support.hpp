#pragma once
// Helpers shared by the tests: paths of the bundled example data and weights, scratch folders, and
// running the CLI.

#include <functional>
#include <string>
#include <vector>

namespace swinsmt::test {

/// Absolute path of a file in the source tree (e.g. "examples/data/example_ct.nii.gz").
std::string source_path(const std::string& relative);

/// The bundled example checkpoint weights/swinsmt_f12_random.pth.
std::string example_weights();

/// A fresh folder under the system temp folder, removed with everything in it on destruction.
class ScratchDir {
 public:
  explicit ScratchDir(const std::string& tag);
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  std::string operator/(const std::string& name) const;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

struct CliRun {
  int code;
  std::string output;  ///< stdout + stderr
};

/// `s` in single quotes, for a shell command line.
std::string quoted(const std::string& s);

/// "segment -i INPUT -o OUTPUT --weights <the bundled weights>", quoted for the shell.
std::string segment_args(const std::string& input, const std::string& output);

/// segment_args with the fast settings of the CLI tests: 6 mm spacing turns the 30-slice crop
/// (tests/data/example_ct_sm.nii.gz) into one padded 64^3 window.
std::string fast_segment_args(const std::string& input, const std::string& output);

/// Runs the swinsmt executable with `args` (a shell-quoted argument string).
CliRun run_swinsmt(const std::string& args);
/// Runs a shell command line, output (stdout + stderr) captured.
CliRun run_command(const std::string& command);

/// The message of the swinsmt::Error that `f` throws, or "(no swinsmt::Error thrown)".
std::string error_of(const std::function<void()>& f);

/// Files (regular, recursive) under `folder`, relative, sorted.
std::vector<std::string> list_files(const std::string& folder);

}  // namespace swinsmt::test
