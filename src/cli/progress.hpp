#pragma once
// A one-line progress bar on stderr, drawn only when stderr is a terminal.

#include <chrono>
#include <string>

namespace swinsmt::cli {

class ProgressBar {
 public:
  /// Draws nothing when `enabled` is false or stderr is not a terminal (logs, pipes, CI).
  explicit ProgressBar(bool enabled);
  /// Starts a new bar with a label ("case 1/3"); the elapsed time counts from here.
  void start(const std::string& label);
  /// Redraws: `done` of `total` windows.
  void update(long long done, long long total);
  /// Ends the line (if one was drawn).
  void finish();
  bool active() const { return enabled_; }

 private:
  bool enabled_;
  bool drawn_ = false;
  std::string label_;
  std::chrono::steady_clock::time_point started_;
};

/// Peak resident memory of this process so far, in bytes (getrusage ru_maxrss).
long long peak_rss_bytes();

/// "812 MiB", "1.4 GiB".
std::string format_bytes(long long bytes);

}  // namespace swinsmt::cli
