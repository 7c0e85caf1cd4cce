// libFuzzer target: safetensors parsing (see fuzz/harness.hpp).
#include "harness.hpp"

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  swinsmt::fuzz::safetensors(data, size);
  return 0;
}
