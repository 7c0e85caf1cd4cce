#pragma once
// What the process actually runs on: LibTorch version, the BLAS library the dynamic loader picked,
// threads and devices. Debian's LibTorch calls whatever libblas.so.3 is installed; the reference
// (netlib) BLAS makes this model about 5x slower than OpenBLAS.

#include <string>
#include <vector>

namespace swinsmt {

struct RuntimeInfo {
  std::string swinsmt_version;
  std::string torch_version;      ///< LibTorch the library was built against
  std::string blas_library;       ///< resolved path of the loaded BLAS, or "" if none is mapped
  bool reference_blas = false;    ///< true when that library is the slow reference BLAS
  int threads = 0;                ///< intra-op threads (at::get_num_threads)
  unsigned hardware_threads = 0;  ///< std::thread::hardware_concurrency
  int available_cpus = 0;         ///< CPUs this process may run on (available_cpus())
  int cuda_devices = 0;
  std::string omp_wait_policy;          ///< OMP_WAIT_POLICY as the process started, "" when unset
  std::string openblas_thread_timeout;  ///< OPENBLAS_THREAD_TIMEOUT as the process started, "" when unset
  std::string moe_matmul;               ///< what runs the Soft MoE products on CPU: "oneDNN" or "ATen (BLAS)"
  int kernel_threads = 0;               ///< threads the fused CPU kernels use (1 if built without OpenMP)
  std::string convolutions;             ///< how 3x3x3 convolutions of large maps run on CPU
  bool cpu_buffer_pool = false;         ///< swinsmt/kernels/cpu_buffer_pool.hpp installed as LibTorch's CPU allocator
  bool bf16_products = false;           ///< cpu_bf16_products_available()
  std::vector<std::string> warnings;
};

/// Inspects the running process (reads /proc/self/maps on Linux).
RuntimeInfo runtime_info();

/// Multi-line human-readable report of runtime_info(), warnings last.
std::string describe(const RuntimeInfo& info);

/// The CPUs this process may run on: its affinity mask (what `taskset` or a container's cpuset
/// allow), capped by its control group's CPU quota rounded up (a container's `--cpus`, a Kubernetes
/// CPU limit), at least 1. The swinsmt CLI uses that many threads unless told otherwise.
int available_cpus();

/// True when the Soft MoE products can run in bfloat16 on this CPU at full speed (`--dtype bfloat16`
/// on the CPU): swinsmt was built with oneDNN and the CPU has AVX512-BF16.
bool cpu_bf16_products_available();

}  // namespace swinsmt
