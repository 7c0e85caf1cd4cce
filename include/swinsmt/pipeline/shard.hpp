#pragma once
// Splitting a batch of CTs across the tasks of a cluster job: task I of N takes every N-th case of
// the sorted case list, starting at I, so N tasks together take every case exactly once. The task
// comes from `--shard I/N`, or from what the scheduler sets: a Slurm job array
// (SLURM_ARRAY_TASK_ID with SLURM_ARRAY_TASK_COUNT or SLURM_ARRAY_TASK_MIN/MAX) or a Kubernetes
// Indexed Job (JOB_COMPLETION_INDEX, with the count given as --shard-count).

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace swinsmt {

struct Shard {
  int64_t index = 0;   ///< 0 .. count - 1
  int64_t count = 1;   ///< >= 1
  std::string source;  ///< where it came from: "--shard", "SLURM_ARRAY_TASK_ID", "JOB_COMPLETION_INDEX"
};

/// Parses "I/N" (0 <= I < N). Throws swinsmt::Error naming the flag and the text.
Shard parse_shard(const std::string& text);

/// Reads a variable of the environment; nullptr when it is not set.
using EnvironmentReader = std::function<const char*(const char*)>;

/// The shard the scheduler assigned, or nullopt outside a job array / indexed job:
/// - Slurm: SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN of SLURM_ARRAY_TASK_COUNT tasks (MIN taken as
///   0 when unset; COUNT as MAX - MIN + 1 when unset). Arrays with gaps or steps (--array=1,5,9 or
///   0-9:2) are refused: their task ids are not 0..N-1.
/// - Kubernetes Indexed Job: JOB_COMPLETION_INDEX of `shard_count` (the Job's completions; needed,
///   since the pod does not see it).
/// Throws swinsmt::Error naming the variable when a value is malformed or out of range.
std::optional<Shard> shard_from_environment(std::optional<int64_t> shard_count, const EnvironmentReader& getenv);

/// The positions (ascending) of the cases shard `shard` takes out of `cases`: every shard.count-th,
/// starting at shard.index.
std::vector<size_t> shard_cases(size_t cases, const Shard& shard);

}  // namespace swinsmt
