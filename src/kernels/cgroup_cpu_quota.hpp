#pragma once
// The CPU quota of the process's control group (a container's `--cpus`, Kubernetes' CPU limit,
// Slurm's cgroup plugin): the affinity mask may list every CPU of the node while the quota allows
// only a few, and threads beyond the quota are throttled like oversubscribed ones. Internal.

#include <string>

namespace swinsmt::detail {

/// CPUs the quota allows, rounded up (quota / period), the smallest over the group and its parents;
/// 0 when no quota is set or none can be read. `proc_cgroup` is /proc/self/cgroup's text,
/// `cgroup_root` where the hierarchies are mounted: cgroup v2 ("0::/path" -> ROOT/path/cpu.max,
/// "max" meaning none) and v1 (a "cpu" controller -> ROOT/<controllers>/path or ROOT/cpu/path,
/// cpu.cfs_quota_us, -1 meaning none, over cpu.cfs_period_us).
int cgroup_cpu_quota(const std::string& proc_cgroup, const std::string& cgroup_root);

/// cgroup_cpu_quota of this process (/proc/self/cgroup, /sys/fs/cgroup).
int cgroup_cpu_quota();

}  // namespace swinsmt::detail
