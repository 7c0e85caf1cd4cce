#include "kernels/kernel_parallelism.hpp"

#include <ATen/Parallel.h>

#include <atomic>

namespace swinsmt::detail {

int kernel_parallel_threads() {
  std::atomic<int> chunks{0};
  // One item per thread at most: parallel_for gives each thread one contiguous chunk.
  at::parallel_for(0, 1024, 1, [&](int64_t, int64_t) { chunks.fetch_add(1); });
  return chunks.load();
}

}  // namespace swinsmt::detail
