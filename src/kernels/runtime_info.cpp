#include "kernels/cgroup_cpu_quota.hpp"
#include "kernels/cpu_matmul.hpp"
#include "kernels/kernel_parallelism.hpp"

#include <swinsmt/kernels/cpu_buffer_pool.hpp>
#include <swinsmt/kernels/runtime_info.hpp>
#include <swinsmt/version.hpp>

#include <sched.h>

#include <ATen/Context.h>
#include <ATen/Parallel.h>
#include <torch/version.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <ATen/detail/CUDAHooksInterface.h>

namespace swinsmt {
namespace {

// The first mapped shared object whose file name mentions BLAS (libblas, libopenblas, libmkl_rt).
std::string loaded_blas() {
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line)) {
    const auto slash = line.find('/');
    if (slash == std::string::npos) continue;
    const std::string path = line.substr(slash);
    const std::string name = std::filesystem::path(path).filename().string();
    if (name.find("blas") != std::string::npos || name.find("mkl_rt") != std::string::npos) {
      std::error_code ec;
      const auto real = std::filesystem::canonical(path, ec);
      return ec ? path : real.string();
    }
  }
  return "";
}

// A variable of the process environment, "" when unset.
std::string environment(const char* name) {
  const char* value = std::getenv(name);
  return value ? value : "";
}

const std::string& or_unset(const std::string& value) {
  static const std::string unset = "(unset)";
  return value.empty() ? unset : value;
}

}  // namespace

int available_cpus() {
  cpu_set_t set;
  int cpus = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set)
                                                         : static_cast<int>(std::thread::hardware_concurrency());
  const int quota = detail::cgroup_cpu_quota();
  if (quota > 0) cpus = std::min(cpus, quota);
  return std::max(1, cpus);
}

RuntimeInfo runtime_info() {
  RuntimeInfo info;
  info.swinsmt_version = SWINSMT_VERSION;
  info.torch_version = TORCH_VERSION;
  info.blas_library = loaded_blas();
  // Debian installs the reference BLAS as .../blas/libblas.so.3 (OpenBLAS lives in openblas-*/).
  info.reference_blas = info.blas_library.find("/blas/libblas") != std::string::npos;
  info.threads = at::get_num_threads();
  info.hardware_threads = std::thread::hardware_concurrency();
  info.available_cpus = available_cpus();
  info.cuda_devices = at::hasCUDA() ? static_cast<int>(at::detail::getCUDAHooks().getNumGPUs()) : 0;
  info.omp_wait_policy = environment("OMP_WAIT_POLICY");
  info.openblas_thread_timeout = environment("OPENBLAS_THREAD_TIMEOUT");
  info.moe_matmul = detail::matmul_backend();
  info.kernel_threads = detail::kernel_parallel_threads();
  info.convolutions = detail::has_onednn_sgemm() ? "Winograd F(2,3) on oneDNN sgemm (maps >= 16^3), else LibTorch"
                                                 : "LibTorch (direct)";
  info.cpu_buffer_pool = cpu_buffer_pool_in_use();
  info.bf16_products = cpu_bf16_products_available();
  if (info.reference_blas)
    info.warnings.push_back("the reference BLAS is in use (" + info.blas_library +
                            "): matrix products run ~5x slower; install libopenblas0-pthread");
  if (info.blas_library.empty())
    info.warnings.emplace_back("no BLAS library is mapped: matrix products use LibTorch's fallback kernels");
  // OpenBLAS built with pthreads has its own threads; OpenMP threads spinning next to them slow
  // every matrix product down on small machines (the swinsmt CLI sets PASSIVE itself).
  const bool pthread_openblas = info.blas_library.find("openblas-pthread") != std::string::npos;
  if (pthread_openblas && info.omp_wait_policy != "PASSIVE" && info.omp_wait_policy != "passive")
    info.warnings.emplace_back(
        "OMP_WAIT_POLICY is not PASSIVE: LibTorch's OpenMP threads spin next to OpenBLAS's threads "
        "(25-30 % slower on 2 cores); start the process with OMP_WAIT_POLICY=PASSIVE");
  if (info.kernel_threads < info.threads)
    info.warnings.push_back("the fused CPU kernels use " + std::to_string(info.kernel_threads) + " of " +
                            std::to_string(info.threads) + " threads: this build compiled them without OpenMP");
  if (info.threads < info.available_cpus)
    info.warnings.push_back("using " + std::to_string(info.threads) + " of the " + std::to_string(info.available_cpus) +
                            " CPUs this process may use (set --threads)");
  if (info.threads > info.available_cpus)
    info.warnings.push_back("using " + std::to_string(info.threads) + " threads on " +
                            std::to_string(info.available_cpus) + " CPUs: oversubscribed pools run many times slower");
  return info;
}

bool cpu_bf16_products_available() { return detail::has_bf16_products(); }

std::string describe(const RuntimeInfo& info) {
  std::ostringstream out;
  out << "swinsmt " << info.swinsmt_version << "\n"
      << "LibTorch " << info.torch_version << "\n"
      << "BLAS " << (info.blas_library.empty() ? "(none mapped)" : info.blas_library)
      << (info.reference_blas ? " (reference BLAS: slow)" : "") << "\n"
      << "threads " << info.threads << " (CPUs available " << info.available_cpus << ", hardware "
      << info.hardware_threads << ")\n"
      << "OMP_WAIT_POLICY " << or_unset(info.omp_wait_policy) << "\n"
      << "OPENBLAS_THREAD_TIMEOUT " << or_unset(info.openblas_thread_timeout) << "\n"
      << "Soft MoE products (CPU) " << info.moe_matmul << "\n"
      << "fused CPU kernels " << info.kernel_threads << " threads\n"
      << "3x3x3 convolutions (CPU) " << info.convolutions << "\n"
      << "bfloat16 Soft MoE products (CPU, --dtype bfloat16) "
      << (info.bf16_products ? "available (oneDNN, AVX512-BF16)" : "not available (needs oneDNN and AVX512-BF16)")
      << "\n"
      << "CPU allocator " << (info.cpu_buffer_pool ? "swinsmt buffer pool" : "LibTorch default") << "\n"
      << "CUDA devices " << info.cuda_devices << "\n";
  for (const auto& w : info.warnings) out << "warning: " << w << "\n";
  return out.str();
}

}  // namespace swinsmt
