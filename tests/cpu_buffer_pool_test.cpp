// The reusing CPU allocator: buffers come back, the cache never holds more than the program needed
// at its busiest, and the whole model still matches the official tensors on reused (poisoned) memory.
#include "fixtures.hpp"

#include <swinsmt/kernels/cpu_buffer_pool.hpp>

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

TEST(CpuBufferPool, AssemblesRequestsFromTheFrontOrTheWholeOfCachedBuffers) {
  use_cpu_buffer_pool();
  release_cpu_buffer_pool_cache();
  {
    auto big = bytes(64 * kMiB);
    big.fill_(1);
  }
  // Much smaller than the cached 64 MiB buffer: served by moving its front, not by fresh memory;
  // the back (60 MiB) stays cached.
  const auto before_cut = cpu_buffer_pool_stats();
  auto cut = at::empty({4 * kMiB / 4}, at::kFloat);
  EXPECT_EQ(cpu_buffer_pool_stats().mapped_bytes, before_cut.mapped_bytes);
  EXPECT_EQ(cpu_buffer_pool_stats().assembled, before_cut.assembled + 1);
  EXPECT_EQ(cpu_buffer_pool_stats().cached_bytes, static_cast<std::size_t>(60 * kMiB));
  cut.fill_(2.5);
  EXPECT_EQ(cut.sum().item<double>(), 2.5 * static_cast<double>(cut.numel()));
  cut.reset();
  // Larger than everything cached (60 + 4 MiB): both move in, only the last 32 MiB are fresh.
  const auto before_grow = cpu_buffer_pool_stats();
  auto grown = at::empty({96 * kMiB / 4}, at::kFloat);
  const auto after_grow = cpu_buffer_pool_stats();
  EXPECT_EQ(after_grow.assembled, before_grow.assembled + 1);
  EXPECT_EQ(after_grow.mapped_bytes - before_grow.mapped_bytes, static_cast<std::size_t>(32 * kMiB));
  EXPECT_EQ(after_grow.cached_bytes, 0u);
  grown.fill_(-1);
  EXPECT_EQ(grown.sum().item<double>(), -static_cast<double>(grown.numel()));
  expect_within_high_water(cpu_buffer_pool_stats());
}

TEST(CpuBufferPool, RepeatingAnAllocationPatternNeedsNoFreshMemory) {
  // What a second sliding window does: the same requests in the same order. Sizes are far enough
  // apart that none is served by another's buffer as it is, so each must be assembled from pieces
  // of others, and pieces of pieces, after the first pass.
  use_cpu_buffer_pool();
  release_cpu_buffer_pool_cache();
  const int64_t sizes[] = {24, 4, 60, 10, 24, 36, 4, 10};
  auto pass = [&](uint8_t mark) {
    std::vector<at::Tensor> live;
    for (std::size_t step = 0; step < std::size(sizes); ++step) {
      live.push_back(bytes(sizes[step] * kMiB + 123));
      live.back().fill_(mark);
      if (step % 3 == 2) live.erase(live.begin());  // free the oldest now and then
    }
    int64_t sum = 0, expected = 0;
    for (const auto& t : live) sum += t.sum(at::kLong).item<int64_t>(), expected += t.numel() * mark;
    EXPECT_EQ(sum, expected);
  };
  pass(1);
  const auto first = cpu_buffer_pool_stats();
  pass(2);
  pass(3);
  const auto third = cpu_buffer_pool_stats();
  EXPECT_EQ(third.mapped_bytes, first.mapped_bytes);
  EXPECT_GT(third.assembled, first.assembled);
  EXPECT_EQ(third.high_water_bytes, first.high_water_bytes);
  expect_within_high_water(third);
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
