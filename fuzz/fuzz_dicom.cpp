// libFuzzer target: The DICOM series reader on one file (see fuzz/harness.hpp).
#include "harness.hpp"

#include <gdcmTrace.h>

#include <cstddef>
#include <cstdint>

// GDCM prints a warning for nearly every mutated file; the printing costs more than the parsing
// and buries libFuzzer's own output. swinsmt's errors do not depend on it.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  gdcm::Trace::SetWarning(false);
  gdcm::Trace::SetError(false);
  gdcm::Trace::SetDebug(false);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  swinsmt::fuzz::dicom(data, size);
  return 0;
}
