// libFuzzer target: The whole checkpoint reader on bytes (see fuzz/harness.hpp).
#include "harness.hpp"

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  swinsmt::fuzz::checkpoint(data, size);
  return 0;
}
