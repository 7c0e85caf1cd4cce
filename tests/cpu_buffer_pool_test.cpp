// The reusing CPU allocator: buffers come back, the cache never holds more than the program needed
// at its busiest, and the whole model still matches the official tensors on reused (poisoned) memory.
#include "fixtures.hpp"

#include <swinsmt/cpu_buffer_pool.hpp>

#include <ATen/ATen.h>
#include <c10/core/CPUAllocator.h>
#include <c10/core/InferenceMode.h>
#include <gtest/gtest.h>

#include <random>

using namespace swinsmt;

namespace {

constexpr int64_t kMiB = int64_t{1} << 20;

at::Tensor bytes(int64_t n) { return at::empty({n}, at::kByte); }

void expect_within_high_water(const CpuBufferPoolStats& stats) {
  EXPECT_LE(stats.live_bytes + stats.cached_bytes, stats.high_water_bytes)
      << "live " << stats.live_bytes << " cached " << stats.cached_bytes;
}

}  // namespace

TEST(CpuBufferPool, ReusesFreedBuffersAndPassesSmallOnesThrough) {
  use_cpu_buffer_pool();
  ASSERT_TRUE(cpu_buffer_pool_in_use());
  release_cpu_buffer_pool_cache();
  auto first = bytes(8 * kMiB);
  void* address = first.data_ptr();
  first.fill_(7);
  first.reset();
  const auto before = cpu_buffer_pool_stats();
  EXPECT_GE(before.cached_bytes, static_cast<std::size_t>(8 * kMiB));
  auto second = bytes(8 * kMiB - 4096);  // within the slack of the cached buffer: reused as it is
  EXPECT_EQ(second.data_ptr(), address);
  EXPECT_EQ(cpu_buffer_pool_stats().reused, before.reused + 1);
  second.reset();
  // Small buffers are not pooled.
  const auto pooled = cpu_buffer_pool_stats();
  auto small = bytes(64 * 1024);
  small.fill_(1);
  EXPECT_EQ(cpu_buffer_pool_stats().live_bytes, pooled.live_bytes);
  EXPECT_EQ(small.sum().item<int64_t>(), 64 * 1024);
}

TEST(CpuBufferPool, CutsAndGrowsCachedBuffersKeepingTheirContentUsable) {
  use_cpu_buffer_pool();
  release_cpu_buffer_pool_cache();
  {
    auto big = bytes(64 * kMiB);
    big.fill_(1);
  }
  // Much smaller than the cached 64 MiB buffer: served by cutting it, not by fresh memory.
  const auto mapped = cpu_buffer_pool_stats().mapped;
  auto cut = at::empty({4 * kMiB / 4}, at::kFloat);
  EXPECT_EQ(cpu_buffer_pool_stats().mapped, mapped);
  cut.fill_(2.5);
  EXPECT_EQ(cut.sum().item<double>(), 2.5 * static_cast<double>(cut.numel()));
  cut.reset();
  // Larger than anything cached: the cached buffer grows (its pages move, the tail is new).
  const auto resized = cpu_buffer_pool_stats().resized;
  auto grown = at::empty({96 * kMiB / 4}, at::kFloat);
  EXPECT_EQ(cpu_buffer_pool_stats().resized, resized + 1);
  EXPECT_EQ(cpu_buffer_pool_stats().mapped, mapped);
  grown.fill_(-1);
  EXPECT_EQ(grown.sum().item<double>(), -static_cast<double>(grown.numel()));
  expect_within_high_water(cpu_buffer_pool_stats());
}

TEST(CpuBufferPool, NeverHoldsMoreThanTheHighWaterMark) {
  use_cpu_buffer_pool();
  release_cpu_buffer_pool_cache();
  std::mt19937 random(5);
  std::vector<at::Tensor> live;
  for (int step = 0; step < 400; ++step) {
    if (!live.empty() && random() % 3 == 0) {
      live.erase(live.begin() + static_cast<std::ptrdiff_t>(random() % live.size()));
    } else if (live.size() < 12) {
      auto t = bytes(static_cast<int64_t>(1 + random() % 48) * kMiB + static_cast<int64_t>(random() % 4096));
      t.data_ptr<uint8_t>()[t.numel() - 1] = 1;  // touch the last byte: the whole buffer is usable
      live.push_back(t);
    }
    expect_within_high_water(cpu_buffer_pool_stats());
  }
  live.clear();
  release_cpu_buffer_pool_cache();
  EXPECT_EQ(cpu_buffer_pool_stats().cached_bytes, 0u);
}

TEST(CpuBufferPool, TensorsFromTheDefaultAllocatorAreFreedByTheirOwnDeleter) {
  auto before = bytes(4 * kMiB);  // may come from LibTorch's allocator when this test runs first
  use_cpu_buffer_pool();
  // ideep releases its buffers through the current allocator's raw deleter, whatever allocated them.
  void* raw = c10::GetCPUAllocator()->raw_allocate(3 * kMiB);
  ASSERT_NE(raw, nullptr);
  static_cast<char*>(raw)[3 * kMiB - 1] = 1;
  c10::GetCPUAllocator()->raw_deallocate(raw);
  before.fill_(3);
  before.reset();
}

TEST(CpuBufferPool, PoisonedBuffersReadAsNaN) {
  use_cpu_buffer_pool();
  release_cpu_buffer_pool_cache();
  poison_freed_cpu_buffers(true);
  at::empty({kMiB}, at::kFloat).fill_(0);
  const auto reused = at::empty({kMiB}, at::kFloat);
  poison_freed_cpu_buffers(false);
  EXPECT_TRUE(reused.isnan().all().item<bool>());
}

TEST(CpuBufferPool, WholeModelMatchesOfficialOnReusedPoisonedMemory) {
  use_cpu_buffer_pool();
  poison_freed_cpu_buffers(true);
  c10::InferenceMode guard;
  test::Fixture io("smt_f12_v2_e4.io.safetensors");
  auto model = test::fixture_model("smt_f12_v2_e4");
  // The second forward runs entirely on buffers the first one freed (and that were poisoned).
  for (int run = 0; run < 2; ++run)
    test::expect_close("smt_f12_v2_e4 output, run " + std::to_string(run), model->forward(io.at("input")),
                       io.at("output"));
  EXPECT_GT(cpu_buffer_pool_stats().reused, 0u);
  poison_freed_cpu_buffers(false);
}
