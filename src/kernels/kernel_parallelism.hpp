#pragma once
// Whether ATen's parallel_for runs in parallel in the fused CPU kernels' translation units. It is a
// header template whose `omp parallel` exists only where the including file is compiled with OpenMP
// (src/CMakeLists.txt): a build that loses the flag silently runs those kernels on one thread.

namespace swinsmt::detail {

/// How many threads an at::parallel_for over many items uses when compiled as the kernels are
/// (at::get_num_threads() when it works, 1 when the kernels would run serially).
int kernel_parallel_threads();

}  // namespace swinsmt::detail
