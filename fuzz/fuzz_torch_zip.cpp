// libFuzzer target: The torch.save ZIP container (see fuzz/harness.hpp).
#include "harness.hpp"

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  swinsmt::fuzz::torch_zip(data, size);
  return 0;
}
