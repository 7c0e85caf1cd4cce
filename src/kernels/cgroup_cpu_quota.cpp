#include "kernels/cgroup_cpu_quota.hpp"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

namespace swinsmt::detail {
namespace {

namespace fs = std::filesystem;

bool read_words(const fs::path& file, std::vector<std::string>& words) {
  std::ifstream in(file);
  if (!in) return false;
  words.clear();
  std::string w;
  while (in >> w) words.push_back(w);
  return !words.empty();
}

/// CPUs allowed by quota/period, 0 for none or nonsense.
int cpus_of(double quota, double period) {
  if (!(quota > 0) || !(period > 0) || !std::isfinite(quota) || !std::isfinite(period)) return 0;
  return static_cast<int>(std::ceil(quota / period - 1e-9));
}

int min_limit(int a, int b) { return a == 0 ? b : (b == 0 ? a : std::min(a, b)); }

double number(const std::string& s) {
  try {
    size_t used = 0;
    const double v = std::stod(s, &used);
    return used == s.size() ? v : -1;
  } catch (...) {
    return -1;
  }
}

/// The limit along `group` and its parents below `mount`, read by `limit_in(folder)`.
template <typename Limit>
int along_parents(const fs::path& mount, const std::string& group, Limit limit_in) {
  int limit = 0;
  fs::path relative = fs::path(group).relative_path();
  while (true) {
    limit = min_limit(limit, limit_in(mount / relative));
    if (relative.empty()) break;
    relative = relative.parent_path();
  }
  return limit;
}

}  // namespace

int cgroup_cpu_quota(const std::string& proc_cgroup, const std::string& cgroup_root) {
  const fs::path root(cgroup_root);
  int limit = 0;
  std::istringstream lines(proc_cgroup);
  std::string line;
  while (std::getline(lines, line)) {
    // hierarchy-ID:controller-list:cgroup-path
    const auto first = line.find(':'), second = line.find(':', first == std::string::npos ? 0 : first + 1);
    if (first == std::string::npos || second == std::string::npos) continue;
    const std::string controllers = line.substr(first + 1, second - first - 1);
    const std::string group = line.substr(second + 1);
    if (line.compare(0, first, "0") == 0 && controllers.empty()) {  // cgroup v2
      limit = min_limit(limit, along_parents(root, group, [](const fs::path& folder) {
                          std::vector<std::string> w;
                          if (!read_words(folder / "cpu.max", w) || w[0] == "max") return 0;
                          return cpus_of(number(w[0]), w.size() > 1 ? number(w[1]) : 100000.0);
                        }));
      continue;
    }
    std::stringstream list(controllers);
    std::string c;
    bool has_cpu = false;
    while (std::getline(list, c, ',')) has_cpu = has_cpu || c == "cpu";
    if (!has_cpu) continue;
    const auto v1 = [](const fs::path& folder) {
      std::vector<std::string> quota, period;
      if (!read_words(folder / "cpu.cfs_quota_us", quota) || !read_words(folder / "cpu.cfs_period_us", period))
        return 0;
      return cpus_of(number(quota[0]), number(period[0]));
    };
    for (const fs::path& mount : {root / controllers, root / "cpu"}) {
      std::error_code ec;
      if (fs::is_directory(mount, ec)) {
        limit = min_limit(limit, along_parents(mount, group, v1));
        break;
      }
    }
  }
  return limit;
}

int cgroup_cpu_quota() {
  std::ifstream in("/proc/self/cgroup");
  if (!in) return 0;
  std::stringstream text;
  text << in.rdbuf();
  return cgroup_cpu_quota(text.str(), "/sys/fs/cgroup");
}

}  // namespace swinsmt::detail
