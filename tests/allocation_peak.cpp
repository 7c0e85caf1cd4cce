#include "allocation_peak.hpp"

#include <c10/core/Allocator.h>
#include <c10/core/CPUAllocator.h>
#include <c10/core/impl/alloc_cpu.h>

#include <atomic>
#include <mutex>
#include <unordered_map>

namespace swinsmt::test {

namespace {

struct Counts {
  std::mutex mutex;
  std::unordered_map<void*, int64_t> sizes;  ///< buffers allocated while counting, not yet freed
  std::atomic<int64_t> live{0}, peak{0};
};

Counts& counts() {
  static auto* instance = new Counts();  // never destroyed: buffers may outlive the test
  return *instance;
}

void counted_free(void* data) {
  Counts& c = counts();
  int64_t bytes = 0;
  {
    const std::lock_guard<std::mutex> lock(c.mutex);
    const auto found = c.sizes.find(data);
    if (found != c.sizes.end()) {
      bytes = found->second;
      c.sizes.erase(found);
    }
  }
  c.live -= bytes;
  c10::free_cpu(data);
}

// data == context, so raw_allocate works too.
struct CountingAllocator final : c10::Allocator {
  c10::DataPtr allocate(size_t n) const override {
    void* data = n > 0 ? c10::alloc_cpu(n) : nullptr;
    if (data) {
      Counts& c = counts();
      {
        const std::lock_guard<std::mutex> lock(c.mutex);
        c.sizes[data] = static_cast<int64_t>(n);
      }
      const int64_t live = c.live += static_cast<int64_t>(n);
      int64_t peak = c.peak.load();
      while (live > peak && !c.peak.compare_exchange_weak(peak, live)) {
      }
    }
    return {data, data, &counted_free, c10::Device(c10::DeviceType::CPU)};
  }
  c10::DeleterFnPtr raw_deleter() const override { return &counted_free; }
};

CountingAllocator& counting_allocator() {
  static auto* instance = new CountingAllocator();
  return *instance;
}

// Priority 1: the buffer pool's (cpu_buffer_pool.cpp), so either can be installed after the other.
constexpr uint8_t kPriority = 1;

}  // namespace

AllocationPeak::AllocationPeak() : previous_(c10::GetCPUAllocator()) {
  Counts& c = counts();
  {
    // Buffers of an earlier scope still alive are no longer counted when they are freed.
    const std::lock_guard<std::mutex> lock(c.mutex);
    c.sizes.clear();
  }
  c.live = 0;
  c.peak = 0;
  c10::SetCPUAllocator(&counting_allocator(), kPriority);
}

AllocationPeak::~AllocationPeak() { c10::SetCPUAllocator(previous_, kPriority); }

int64_t AllocationPeak::live_bytes() const { return counts().live; }
int64_t AllocationPeak::peak_bytes() const { return counts().peak; }

}  // namespace swinsmt::test
