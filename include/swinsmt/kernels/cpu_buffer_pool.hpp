#pragma once
// A CPU allocator for LibTorch that keeps freed large buffers and hands them out again.
//
// LibTorch's default CPU allocator returns every large buffer to the kernel on free (glibc serves
// anything over 32 MB with its own mmap), so each new activation of the next layer is fresh memory
// that the kernel must fault in and zero page by page. One 128^3 window allocates ~21 GB that way:
// 5.3 million page faults, about a quarter of the CPU time of a forward on 2 cores. The same shapes
// come back in every block, so keeping the freed buffers removes nearly all of it.
//
// A request that no cached buffer fits is assembled from the pages of cached buffers: mremap moves
// their page tables (huge pages stay huge, no data is copied) into one new range, and only what the
// cache cannot cover is fresh memory. So the pool never holds more memory than the program needed
// at its busiest moment so far (live + cached stays within the high-water mark of live bytes, or
// live + new when that is higher): peak RSS is not raised by the cache, only page-fault work saved.
//
// Installing it is a process-wide choice (c10::SetCPUAllocator), so the library never does it on
// its own: the swinsmt CLI and the benchmarks call use_cpu_buffer_pool(); applications may too.

#include <cstddef>

namespace swinsmt {

struct CpuBufferPoolStats {
  std::size_t live_bytes = 0;        ///< pooled buffers in use now
  std::size_t cached_bytes = 0;      ///< freed buffers kept for reuse
  std::size_t high_water_bytes = 0;  ///< most live pooled bytes at any time (the cache stays under it)
  std::size_t reused = 0;            ///< allocations served from the cache
  std::size_t assembled = 0;         ///< allocations served (at least in part) by moving cached pages
  std::size_t mapped = 0;            ///< allocations that needed fresh memory
  std::size_t mapped_bytes = 0;      ///< bytes of fresh memory (each page faulted in once)
  std::size_t unmapped = 0;          ///< buffers returned to the kernel (evicted or released)
};

/// Makes the pool LibTorch's CPU allocator for the rest of the process. Idempotent and thread-safe;
/// tensors allocated before keep their own deleter and are freed as before.
void use_cpu_buffer_pool();

/// True once use_cpu_buffer_pool() has run in this process.
bool cpu_buffer_pool_in_use();

/// Counters of the pool (all zero when it is not in use).
CpuBufferPoolStats cpu_buffer_pool_stats();

/// Returns every cached buffer to the kernel (live buffers are untouched).
void release_cpu_buffer_pool_cache();

/// For tests: fill every pooled buffer with NaN bytes when it is freed, so code that reads memory it
/// did not write shows up as NaN output instead of passing by luck on fresh (zero) pages.
void poison_freed_cpu_buffers(bool on);

/// Buffers of at least this many bytes are pooled; smaller ones go to LibTorch's allocation
/// functions (malloc keeps those itself).
inline constexpr std::size_t kCpuBufferPoolMinBytes = std::size_t{1} << 20;

}  // namespace swinsmt
