// The fused CPU kernels (Soft MoE softmaxes, window attention, Winograd convolution) run on every
// intra-op thread.
#include "kernels/kernel_parallelism.hpp"

#include <ATen/Parallel.h>
#include <gtest/gtest.h>

TEST(KernelParallelism, FusedKernelsUseEveryIntraOpThread) {
  // ATen's parallel_for only runs in parallel where the including file is compiled with OpenMP;
  // the fused kernels once ran on one thread because theirs were not.
  const int previous = at::get_num_threads();
  at::set_num_threads(2);
  EXPECT_EQ(swinsmt::detail::kernel_parallel_threads(), 2);
  at::set_num_threads(previous);
}
