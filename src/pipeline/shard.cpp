#include <swinsmt/error.hpp>
#include <swinsmt/pipeline/shard.hpp>

#include <cerrno>
#include <cstdlib>

namespace swinsmt {
namespace {

/// A whole number >= 0 written in decimal, or nullopt.
std::optional<int64_t> whole_number(const std::string& text) {
  if (text.empty() || text.size() > 18 || text.find_first_not_of("0123456789") != std::string::npos)
    return std::nullopt;
  return std::stoll(text);
}

int64_t variable(const EnvironmentReader& getenv, const char* name) {
  const char* value = getenv(name);
  const auto number = whole_number(value ? value : "");
  if (!number) throw Error(std::string(name) + " must be a whole number >= 0, got \"" + (value ? value : "") + "\"");
  return *number;
}

void check(const Shard& shard, const std::string& what) {
  if (shard.count < 1)
    throw Error(what + ": the number of shards must be at least 1, got " + std::to_string(shard.count));
  if (shard.index < 0 || shard.index >= shard.count)
    throw Error(what + ": shard " + std::to_string(shard.index) + " does not exist among " +
                std::to_string(shard.count) + " shards (expected 0 to " + std::to_string(shard.count - 1) + ")");
}

}  // namespace

Shard parse_shard(const std::string& text) {
  const auto slash = text.find('/');
  const auto index = slash == std::string::npos ? std::nullopt : whole_number(text.substr(0, slash));
  const auto count = slash == std::string::npos ? std::nullopt : whole_number(text.substr(slash + 1));
  if (!index || !count) throw Error("--shard takes I/N (shard I of N, counting from 0), got \"" + text + "\"");
  Shard shard{*index, *count, "--shard"};
  check(shard, "--shard " + text);
  return shard;
}

std::optional<Shard> shard_from_environment(std::optional<int64_t> shard_count, const EnvironmentReader& getenv) {
  if (getenv("SLURM_ARRAY_TASK_ID")) {
    const int64_t id = variable(getenv, "SLURM_ARRAY_TASK_ID");
    const int64_t min = getenv("SLURM_ARRAY_TASK_MIN") ? variable(getenv, "SLURM_ARRAY_TASK_MIN") : 0;
    int64_t count = 0;
    if (getenv("SLURM_ARRAY_TASK_COUNT")) {
      count = variable(getenv, "SLURM_ARRAY_TASK_COUNT");
    } else if (getenv("SLURM_ARRAY_TASK_MAX")) {
      count = variable(getenv, "SLURM_ARRAY_TASK_MAX") - min + 1;
    } else {
      throw Error(
          "SLURM_ARRAY_TASK_ID is set but neither SLURM_ARRAY_TASK_COUNT nor SLURM_ARRAY_TASK_MAX: "
          "cannot tell how many shards there are (give --shard I/N)");
    }
    if (getenv("SLURM_ARRAY_TASK_MAX") && variable(getenv, "SLURM_ARRAY_TASK_MAX") - min + 1 != count)
      throw Error("the Slurm array's task ids " + std::to_string(min) + ".." +
                  std::to_string(variable(getenv, "SLURM_ARRAY_TASK_MAX")) + " are not " + std::to_string(count) +
                  " consecutive numbers (SLURM_ARRAY_TASK_COUNT " + std::to_string(count) +
                  "): submit the array as --array=0-N, or give --shard I/N");
    Shard shard{id - min, count, "SLURM_ARRAY_TASK_ID"};
    check(shard, "SLURM_ARRAY_TASK_ID " + std::to_string(id) + " (minimum " + std::to_string(min) + ")");
    return shard;
  }
  if (getenv("JOB_COMPLETION_INDEX")) {
    const int64_t index = variable(getenv, "JOB_COMPLETION_INDEX");
    if (!shard_count)
      throw Error(
          "JOB_COMPLETION_INDEX is set (a Kubernetes Indexed Job): give the Job's completions as "
          "--shard-count N");
    Shard shard{index, *shard_count, "JOB_COMPLETION_INDEX"};
    check(shard,
          "JOB_COMPLETION_INDEX " + std::to_string(index) + " with --shard-count " + std::to_string(*shard_count));
    return shard;
  }
  return std::nullopt;
}

std::vector<size_t> shard_cases(size_t cases, const Shard& shard) {
  std::vector<size_t> taken;
  for (auto i = static_cast<size_t>(shard.index); i < cases; i += static_cast<size_t>(shard.count)) taken.push_back(i);
  return taken;
}

}  // namespace swinsmt
