#pragma once
// The string helpers every layer needs (file-name suffixes, lists of sizes in messages), in one place.

#include <sstream>
#include <string>
#include <vector>

namespace swinsmt::detail {

inline bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

/// "1, 2, 3" with separator ", "; "64 x 64 x 32" with " x ".
template <typename T>
std::string join(const std::vector<T>& values, const std::string& separator) {
  std::ostringstream out;
  for (size_t i = 0; i < values.size(); ++i) out << (i ? separator : "") << values[i];
  return out.str();
}

}  // namespace swinsmt::detail
