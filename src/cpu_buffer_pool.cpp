#include "swinsmt/cpu_buffer_pool.hpp"

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

class BufferPool {
 public:
  void* acquire(std::size_t n) {
    const std::size_t bytes = round_to_huge_pages(n);
    std::lock_guard<std::mutex> lock(mutex_);
    if (auto buffer = take_fitting(bytes)) {
      hand_out(*buffer, n);
      ++stats_.reused;
      return buffer->data;
    }
    // No buffer of about the right size: reshape a cached one rather than map fresh memory, so its
    // pages (already faulted in and zeroed once) serve again; only a grown tail is new.
    if (auto buffer = take_resizable(bytes)) {
      if (void* data = resize(*buffer, bytes)) {
        hand_out(Buffer{data, bytes}, n);
        ++stats_.resized;
        return data;
      }
    }
    // Keep live + cached within what the program has already needed at once.
    const std::size_t limit = std::max(stats_.high_water_bytes, stats_.live_bytes + bytes);
    while (!cached_.empty() && stats_.live_bytes + stats_.cached_bytes + bytes > limit) evict_oldest();
    void* data = map_aligned(bytes);
    if (data == nullptr) {  // out of address space or memory: give the cache back and try once more
      while (!cached_.empty()) evict_oldest();
      data = map_aligned(bytes);
    }
    const int error = errno;
    TORCH_CHECK(data != nullptr, "swinsmt CPU buffer pool: not enough memory: tried to allocate ", n, " bytes (",
                stats_.live_bytes, " bytes in use): ", std::strerror(error));
    hand_out(Buffer{data, bytes}, n);
    ++stats_.mapped;
    stats_.mapped_bytes += bytes;
    return data;
  }

  // Returns false when `data` is not a pooled buffer.
  bool give_back(void* data) {
    std::lock_guard<std::mutex> lock(mutex_);
    const auto it = live_.find(data);
    if (it == live_.end()) return false;
    const Buffer buffer{data, it->second};
    live_.erase(it);
    if (poison_) {
      unpoison(data, buffer.bytes);           // the slack past the request is poisoned for ASan
      std::memset(data, 0xff, buffer.bytes);  // all-ones bytes read as float NaN
    }
    poison(data, buffer.bytes);
    stats_.live_bytes -= buffer.bytes;
    cached_.push_back(buffer);
    stats_.cached_bytes += buffer.bytes;
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
  struct Buffer {
    void* data;
    std::size_t bytes;
  };

  std::optional<Buffer> take(std::vector<Buffer>::iterator it) {
    if (it == cached_.end()) return std::nullopt;
    const Buffer buffer = *it;
    cached_.erase(it);
    stats_.cached_bytes -= buffer.bytes;
    return buffer;
  }

  // The smallest cached buffer that fits as it is.
  std::optional<Buffer> take_fitting(std::size_t bytes) {
    auto best = cached_.end();
    for (auto it = cached_.begin(); it != cached_.end(); ++it) {
      if (fits(it->bytes, bytes) && (best == cached_.end() || it->bytes < best->bytes)) best = it;
    }
    return take(best);
  }

  // The smallest cached buffer larger than `bytes` (to be cut), else the largest one (to be grown)
  // as long as growing it keeps live + cached within the high-water mark.
  std::optional<Buffer> take_resizable(std::size_t bytes) {
    auto larger = cached_.end();
    auto smaller = cached_.end();
    for (auto it = cached_.begin(); it != cached_.end(); ++it) {
      if (it->bytes >= bytes) {
        if (larger == cached_.end() || it->bytes < larger->bytes) larger = it;
      } else if (smaller == cached_.end() || it->bytes > smaller->bytes) {
        smaller = it;
      }
    }
    if (larger != cached_.end()) return take(larger);
    if (smaller == cached_.end()) return std::nullopt;
    const std::size_t after = stats_.live_bytes + stats_.cached_bytes - smaller->bytes + bytes;
    if (after > std::max(stats_.high_water_bytes, stats_.live_bytes + bytes)) return std::nullopt;
    return take(smaller);
  }

  // Cuts the buffer's tail off, or grows it with mremap into a fresh aligned range (page tables
  // move, data does not). nullptr when the kernel refuses; the buffer is then unmapped.
  void* resize(const Buffer& buffer, std::size_t bytes) {
    auto* begin = static_cast<char*>(buffer.data);
    if (bytes <= buffer.bytes) {
      if (bytes < buffer.bytes) unmap(begin + bytes, buffer.bytes - bytes);
      return buffer.data;
    }
    void* target = map_aligned(bytes);
    unpoison(buffer.data, buffer.bytes);  // its addresses are unmapped by the move
    void* moved = target == nullptr ? MAP_FAILED
                                    : mremap(buffer.data, buffer.bytes, bytes, MREMAP_MAYMOVE | MREMAP_FIXED, target);
    if (moved != MAP_FAILED) return moved;
    if (target != nullptr) unmap(target, bytes);
    unmap(buffer.data, buffer.bytes);
    ++stats_.unmapped;
    return nullptr;
  }

  void hand_out(const Buffer& buffer, std::size_t requested) {
    unpoison(buffer.data, requested);
    if (requested < buffer.bytes) poison(static_cast<char*>(buffer.data) + requested, buffer.bytes - requested);
    live_.emplace(buffer.data, buffer.bytes);
    stats_.live_bytes += buffer.bytes;
    stats_.high_water_bytes = std::max(stats_.high_water_bytes, stats_.live_bytes);
  }

  void evict_oldest() {
    const Buffer buffer = *take(cached_.begin());
    unmap(buffer.data, buffer.bytes);
    ++stats_.unmapped;
  }

  std::mutex mutex_;
  std::unordered_map<void*, std::size_t> live_;
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
