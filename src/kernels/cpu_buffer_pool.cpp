#include <swinsmt/kernels/cpu_buffer_pool.hpp>

#include <c10/core/Allocator.h>
#include <c10/core/CPUAllocator.h>
#include <c10/core/impl/alloc_cpu.h>
#include <c10/util/Exception.h>
#include <sys/mman.h>

#if defined(__SANITIZE_ADDRESS__)
#define SWINSMT_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SWINSMT_ASAN 1
#endif
#endif
#if defined(SWINSMT_ASAN)
#include <sanitizer/asan_interface.h>
#endif

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <vector>

namespace swinsmt {
namespace {

// Under AddressSanitizer the pool marks what nobody owns (cached buffers, the slack past a request)
// as poisoned, so a use after free or an overflow into the slack is still reported; every range is
// unpoisoned again before it is unmapped, since a later mapping may reuse its addresses.
void mark_for_asan(void* data, std::size_t bytes, bool poisoned) {
#if defined(SWINSMT_ASAN)
  if (poisoned) {
    ASAN_POISON_MEMORY_REGION(data, bytes);
  } else {
    ASAN_UNPOISON_MEMORY_REGION(data, bytes);
  }
#else
  (void)data, (void)bytes, (void)poisoned;
#endif
}

void poison(void* data, std::size_t bytes) { mark_for_asan(data, bytes, true); }
void unpoison(void* data, std::size_t bytes) { mark_for_asan(data, bytes, false); }

void unmap(void* data, std::size_t bytes) {
  unpoison(data, bytes);
  munmap(data, bytes);
}

// Pooled buffers are whole, aligned 2 MiB huge pages (MADV_HUGEPAGE): a fresh buffer then costs
// one fault per 2 MiB instead of one per 4 KiB.
constexpr std::size_t kHugePageBytes = std::size_t{2} << 20;

std::uintptr_t round_to_huge_pages(std::uintptr_t n) {
  return (n + kHugePageBytes - 1) / kHugePageBytes * kHugePageBytes;
}

// A cached buffer is reused as it is for a request up to 1/8 smaller: the activations of one stage
// differ by a few rows of padding, and the slack is charged to the high-water mark like live memory.
bool fits(std::size_t buffer_bytes, std::size_t request_bytes) {
  return buffer_bytes >= request_bytes && buffer_bytes - request_bytes <= request_bytes / 8;
}

// `bytes` of fresh read-write memory at a huge-page-aligned address, or nullptr.
void* map_aligned(std::size_t bytes) {
  const std::size_t span = bytes + kHugePageBytes;
  void* raw = mmap(nullptr, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) return nullptr;
  const auto begin = reinterpret_cast<std::uintptr_t>(raw);
  const auto aligned = round_to_huge_pages(begin);
  if (aligned > begin) munmap(raw, aligned - begin);
  if (begin + span > aligned + bytes) munmap(reinterpret_cast<void*>(aligned + bytes), begin + span - aligned - bytes);
  auto* data = reinterpret_cast<void*>(aligned);
  madvise(data, bytes, MADV_HUGEPAGE);  // advisory: without THP the buffer simply has small pages
  return data;
}

// A range of pooled memory. It is made of segments, each of which was mapped or moved in one piece
// and so lies within one kernel mapping: mremap moves a segment (or its front) as a unit, while a
// range spanning several mappings cannot be moved in one call on every kernel.
struct Buffer {
  char* data = nullptr;
  std::size_t bytes = 0;
  std::vector<std::size_t> segments;  // lengths, front to back; they add up to `bytes`
};

class BufferPool {
 public:
  void* acquire(std::size_t n) {
    const std::size_t bytes = round_to_huge_pages(n);
    std::lock_guard<std::mutex> lock(mutex_);
    if (auto buffer = take_fitting(bytes)) {
      ++stats_.reused;
      return hand_out(std::move(*buffer), n);
    }
    // Nothing of about the right size: move the pages of cached buffers into one new range rather
    // than map fresh memory. Their pages are already faulted in; fresh ones must be zeroed by the
    // kernel, and on a VM that hands freed memory back to its host, also backed again (~1 s/GB).
    // Only what the cache cannot cover is fresh, so live + cached never exceeds the larger of the
    // high-water mark and the live bytes including this request.
    auto* target = static_cast<char*>(map_aligned(bytes));
    if (target == nullptr) {  // out of address space or memory: give the cache back and try once more
      while (!cached_.empty()) evict_oldest();
      target = static_cast<char*>(map_aligned(bytes));
    }
    const int error = errno;
    TORCH_CHECK(target != nullptr, "swinsmt CPU buffer pool: not enough memory: tried to allocate ", n, " bytes (",
                stats_.live_bytes, " bytes in use): ", std::strerror(error));
    Buffer buffer{target, bytes, {}};
    std::size_t filled = 0;
    while (filled < bytes && !cached_.empty()) filled += move_cached_pages(bytes - filled, target + filled, buffer);
    if (filled > 0) ++stats_.assembled;
    if (filled < bytes) {
      buffer.segments.push_back(bytes - filled);
      ++stats_.mapped;
      stats_.mapped_bytes += bytes - filled;
    }
    return hand_out(std::move(buffer), n);
  }

  // Returns false when `data` is not a pooled buffer.
  bool give_back(void* data) {
    std::lock_guard<std::mutex> lock(mutex_);
    const auto it = live_.find(data);
    if (it == live_.end()) return false;
    Buffer buffer = std::move(it->second);
    live_.erase(it);
    if (poison_) {
      unpoison(buffer.data, buffer.bytes);           // the slack past the request is poisoned for ASan
      std::memset(buffer.data, 0xff, buffer.bytes);  // all-ones bytes read as float NaN
    }
    poison(buffer.data, buffer.bytes);
    stats_.live_bytes -= buffer.bytes;
    cache(std::move(buffer));
    return true;
  }

  void release_cache() {
    std::lock_guard<std::mutex> lock(mutex_);
    while (!cached_.empty()) evict_oldest();
  }

  void set_poison(bool on) {
    std::lock_guard<std::mutex> lock(mutex_);
    poison_ = on;
  }

  CpuBufferPoolStats stats() {
    std::lock_guard<std::mutex> lock(mutex_);
    return stats_;
  }

 private:
  Buffer take(std::size_t index) {
    Buffer buffer = std::move(cached_[index]);
    cached_.erase(cached_.begin() + static_cast<std::ptrdiff_t>(index));
    stats_.cached_bytes -= buffer.bytes;
    return buffer;
  }

  void cache(Buffer buffer) {
    stats_.cached_bytes += buffer.bytes;
    cached_.push_back(std::move(buffer));
  }

  // The smallest cached buffer that fits as it is.
  std::optional<Buffer> take_fitting(std::size_t bytes) {
    std::optional<std::size_t> best;
    for (std::size_t i = 0; i < cached_.size(); ++i) {
      if (fits(cached_[i].bytes, bytes) && (!best || cached_[i].bytes < cached_[*best].bytes)) best = i;
    }
    if (!best) return std::nullopt;
    return take(*best);
  }

  // Moves up to `wanted` bytes of pages from one cached buffer to `to`, appending the moved
  // segments to `into`; returns the bytes moved. The source is the smallest buffer that covers
  // `wanted` (its unused back stays cached with its pages), else the largest one, used whole. A
  // segment the kernel refuses to move is unmapped; its part of `to` then stays fresh memory.
  std::size_t move_cached_pages(std::size_t wanted, char* to, Buffer& into) {
    std::size_t pick = 0;
    for (std::size_t i = 1; i < cached_.size(); ++i) {
      const std::size_t have = cached_[i].bytes, best = cached_[pick].bytes;
      const bool covers = have >= wanted, best_covers = best >= wanted;
      if (covers != best_covers ? covers : (covers ? have < best : have > best)) pick = i;
    }
    Buffer source = take(pick);
    unpoison(source.data, source.bytes);  // these addresses are unmapped or handed on below
    // `moved` bytes have left the front of the source, so the source's remainder starts there too.
    std::size_t moved = 0, segment = 0;
    for (; segment < source.segments.size() && moved < wanted; ++segment) {
      const std::size_t length = source.segments[segment];
      const std::size_t part = std::min(length, wanted - moved);
      char* from = source.data + moved;
      if (mremap(from, part, part, MREMAP_MAYMOVE | MREMAP_FIXED, to + moved) == MAP_FAILED) {
        unmap(from, source.bytes - moved);  // drop what is left of the source
        ++stats_.unmapped;
        return moved;
      }
      into.segments.push_back(part);
      moved += part;
      if (part < length) {  // the segment's back stays cached, at source.data + moved
        source.segments[segment] -= part;
        break;
      }
    }
    Buffer rest{source.data + moved, source.bytes - moved, {}};
    rest.segments.assign(source.segments.begin() + static_cast<std::ptrdiff_t>(segment), source.segments.end());
    if (rest.bytes > 0) {
      poison(rest.data, rest.bytes);
      cache(std::move(rest));
    }
    return moved;
  }

  void* hand_out(Buffer buffer, std::size_t requested) {
    char* data = buffer.data;
    unpoison(data, requested);
    if (requested < buffer.bytes) poison(data + requested, buffer.bytes - requested);
    stats_.live_bytes += buffer.bytes;
    stats_.high_water_bytes = std::max(stats_.high_water_bytes, stats_.live_bytes);
    live_.emplace(data, std::move(buffer));
    return data;
  }

  void evict_oldest() {
    const Buffer buffer = take(0);
    unmap(buffer.data, buffer.bytes);
    ++stats_.unmapped;
  }

  std::mutex mutex_;
  std::unordered_map<void*, Buffer> live_;
  std::vector<Buffer> cached_;  // oldest first
  CpuBufferPoolStats stats_;
  bool poison_ = false;
};

// Leaked on purpose: tensors may outlive every static destructor.
BufferPool& pool() {
  static auto* instance = new BufferPool();
  return *instance;
}

void release(void* data) {
  if (data == nullptr) return;
  if (!pool().give_back(data)) c10::free_cpu(data);
}

// c10::Allocator changed in LibTorch 2.3 (allocate lost its const, copy_data became pure virtual).
// Declaring both forms without `override` compiles against 1.13 and 2.x alike: whichever one the
// base class declares is the one overridden.
class PooledCpuAllocator final : public c10::Allocator {
 public:
  c10::DataPtr allocate(std::size_t n) const { return make(n); }
  c10::DataPtr allocate(std::size_t n) { return make(n); }
  void copy_data(void* dest, const void* src, std::size_t count) const {
    if (count > 0) std::memcpy(dest, src, count);
  }
  // Non-null so that raw_allocate/raw_deallocate work (ideep allocates its buffers through them).
  c10::DeleterFnPtr raw_deleter() const { return &release; }

 private:
  static c10::DataPtr make(std::size_t n) {
    void* data = nullptr;
    if (n >= kCpuBufferPoolMinBytes) {
      data = pool().acquire(n);
    } else if (n > 0) {
      data = c10::alloc_cpu(n);
    }
    return {data, data, &release, c10::Device(c10::DeviceType::CPU)};
  }
};

std::atomic<bool> installed{false};

}  // namespace

void use_cpu_buffer_pool() {
  static std::once_flag once;
  std::call_once(once, [] {
    static auto* allocator = new PooledCpuAllocator();
    c10::SetCPUAllocator(allocator, /*priority=*/1);
    installed = c10::GetCPUAllocator() == allocator;
  });
}

bool cpu_buffer_pool_in_use() { return installed; }

CpuBufferPoolStats cpu_buffer_pool_stats() { return installed ? pool().stats() : CpuBufferPoolStats{}; }

void poison_freed_cpu_buffers(bool on) { pool().set_poison(on); }

void release_cpu_buffer_pool_cache() {
  if (installed) pool().release_cache();
}

}  // namespace swinsmt
