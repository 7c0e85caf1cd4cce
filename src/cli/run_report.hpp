#pragma once
// The run report of `swinsmt segment` (--report FILE.jsonl): one JSON line per case (input, outputs,
// status done / skipped / failed, error, windows, seconds, peak memory, version, checkpoint SHA-256,
// shard, host). Several processes (the shards of a cluster job) may append to one file: each line
// goes out in one write() on a descriptor opened with O_APPEND, which a local file system keeps
// whole and in order. On NFS, O_APPEND is not atomic across machines: give each shard its own file.

#include <nlohmann/json.hpp>

#include <string>

namespace swinsmt::cli {

class RunReport {
 public:
  /// The report at `path`; it is opened for appending (created with its folder when missing) by the
  /// first add(), so a run that stops before its first case leaves no file.
  explicit RunReport(std::string path) : path_(std::move(path)) {}
  ~RunReport();
  RunReport(const RunReport&) = delete;
  RunReport& operator=(const RunReport&) = delete;

  /// Appends `line` and a newline in one write(). Throws swinsmt::Error naming the path when it cannot.
  void add(const nlohmann::json& line);
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  int fd_ = -1;
};

}  // namespace swinsmt::cli
