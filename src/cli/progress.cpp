#include "progress.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>

namespace swinsmt::cli {
namespace {

std::string format_duration(double seconds) {
  char text[32];
  const long s = std::lround(seconds);
  std::snprintf(text, sizeof text, "%02ld:%02ld", s / 60, s % 60);
  return text;
}

}  // namespace

ProgressBar::ProgressBar(bool enabled) : enabled_(enabled && ::isatty(STDERR_FILENO)) {}

void ProgressBar::start(const std::string& label) {
  label_ = label;
  started_ = std::chrono::steady_clock::now();
  drawn_ = false;
}

void ProgressBar::update(long long done, long long total) {
  if (!enabled_ || total <= 0) return;
  const int width = 30;
  const int filled = static_cast<int>(width * done / total);
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  const double left = done > 0 ? elapsed * static_cast<double>(total - done) / static_cast<double>(done) : 0;
  std::string bar(filled, '#');
  bar.append(width - filled, '-');
  std::fprintf(stderr, "\r%s [%s] %lld/%lld windows, %s elapsed, %s left ", label_.c_str(), bar.c_str(), done, total,
               format_duration(elapsed).c_str(), format_duration(left).c_str());
  std::fflush(stderr);
  drawn_ = true;
}

void ProgressBar::finish() {
  if (drawn_) std::fprintf(stderr, "\n");
  drawn_ = false;
}

long long peak_rss_bytes() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<long long>(usage.ru_maxrss) * 1024;  // Linux reports KiB
}

std::string format_bytes(long long bytes) {
  char text[32];
  if (bytes >= (1LL << 30))
    std::snprintf(text, sizeof text, "%.1f GiB", static_cast<double>(bytes) / (1LL << 30));
  else
    std::snprintf(text, sizeof text, "%lld MiB", bytes >> 20);
  return text;
}

}  // namespace swinsmt::cli
