// libFuzzer target: The NIfTI reader (see fuzz/harness.hpp).
#include "harness.hpp"

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  swinsmt::fuzz::nifti(data, size);
  return 0;
}
