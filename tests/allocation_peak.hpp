#pragma once
// The most CPU tensor memory live at once while a scope runs: a CPU allocator that counts every
// buffer LibTorch allocates while it is installed, whatever its size (the buffer pool's statistics
// see only buffers of 1 MiB and more, and the cells and planes of the streamed paths are smaller).

#include <cstdint>

namespace c10 {
struct Allocator;
}

namespace swinsmt::test {

class AllocationPeak {
 public:
  /// Installs the counting allocator (in place of the current CPU allocator, the buffer pool included).
  AllocationPeak();
  /// Puts the previous CPU allocator back; buffers allocated meanwhile stay valid.
  ~AllocationPeak();
  AllocationPeak(const AllocationPeak&) = delete;
  AllocationPeak& operator=(const AllocationPeak&) = delete;

  /// Bytes allocated since construction and not freed: now, and the most at any moment so far.
  int64_t live_bytes() const;
  int64_t peak_bytes() const;

 private:
  c10::Allocator* previous_;
};

}  // namespace swinsmt::test
