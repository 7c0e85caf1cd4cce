// The CPU quota of a control group, read from fake cgroup trees (v2 and v1) in a scratch folder:
// the real /sys/fs/cgroup of a test machine has whatever quota its host set.
#include "kernels/cgroup_cpu_quota.hpp"
#include "test_support.hpp"

#include <swinsmt/kernels/runtime_info.hpp>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <thread>

namespace fs = std::filesystem;
using swinsmt::detail::cgroup_cpu_quota;

namespace {
void write(const fs::path& file, const std::string& text) {
  fs::create_directories(file.parent_path());
  std::ofstream(file) << text;
}
}  // namespace

TEST(CgroupCpuQuota, Version2QuotaRoundsUpAndParentsCount) {
  swinsmt::test::ScratchDir root("cgroup_v2");
  const std::string self = "0::/kubepods/pod1/container\n";
  EXPECT_EQ(cgroup_cpu_quota(self, root.path()), 0);  // no files: no quota
  write(root / "kubepods/pod1/container/cpu.max", "max 100000\n");
  EXPECT_EQ(cgroup_cpu_quota(self, root.path()), 0);
  write(root / "kubepods/pod1/container/cpu.max", "150000 100000\n");
  EXPECT_EQ(cgroup_cpu_quota(self, root.path()), 2);  // 1.5 CPUs: two threads, not one
  write(root / "kubepods/cpu.max", "100000 100000\n");
  EXPECT_EQ(cgroup_cpu_quota(self, root.path()), 1);  // a parent's smaller quota holds
  write(root / "kubepods/cpu.max", "garbage\n");
  EXPECT_EQ(cgroup_cpu_quota(self, root.path()), 2);
}

TEST(CgroupCpuQuota, Version1CpuController) {
  swinsmt::test::ScratchDir root("cgroup_v1");
  const std::string self = "4:memory:/job_7\n3:cpu,cpuacct:/slurm/job_7\n0::/\n";
  write(root / "cpu,cpuacct/slurm/job_7/cpu.cfs_quota_us", "-1\n");
  write(root / "cpu,cpuacct/slurm/job_7/cpu.cfs_period_us", "100000\n");
  EXPECT_EQ(cgroup_cpu_quota(self, root.path()), 0);
  write(root / "cpu,cpuacct/slurm/job_7/cpu.cfs_quota_us", "300000\n");
  EXPECT_EQ(cgroup_cpu_quota(self, root.path()), 3);
  // The controller mounted on its own ("1:cpu:/path" -> ROOT/cpu/path).
  swinsmt::test::ScratchDir alone("cgroup_v1_cpu");
  write(alone / "cpu/job/cpu.cfs_quota_us", "50000\n");
  write(alone / "cpu/job/cpu.cfs_period_us", "100000\n");
  EXPECT_EQ(cgroup_cpu_quota("1:cpu:/job\n", alone.path()), 1);
}

TEST(CgroupCpuQuota, AvailableCpusNeverExceedTheAffinityMaskOrTheQuota) {
  const int cpus = swinsmt::available_cpus();
  EXPECT_GE(cpus, 1);
  EXPECT_LE(cpus, static_cast<int>(std::thread::hardware_concurrency()));
  const int quota = cgroup_cpu_quota();
  if (quota > 0) EXPECT_LE(cpus, quota);
}
