#pragma once
// Wall-clock seconds since a point in time, for the per-step times segment reports.

#include <chrono>

namespace swinsmt::detail {

inline double seconds_since(std::chrono::steady_clock::time_point started) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
}

}  // namespace swinsmt::detail
