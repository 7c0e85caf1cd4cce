// Replays every input the fuzz targets once crashed on (tests/data/fuzz_regressions/<harness>/*)
// through the same harness, so a fixed bug stays fixed in the normal test suite. Passing means the
// reader returned or threw swinsmt::Error; under the ASan build (tools/run-sanitizers.sh) it also
// means no sanitizer report.
#include "fixtures.hpp"
#include "fuzz/harness.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

namespace fs = std::filesystem;

TEST(FuzzRegressions, EveryKeptInputIsReadOrRefusedCleanly) {
  const fs::path root = swinsmt::test::data_path("fuzz_regressions");
  int replayed = 0;
  for (const auto& [name, harness] : swinsmt::fuzz::harnesses()) {
    if (!fs::is_directory(root / name)) continue;
    std::vector<fs::path> inputs;
    for (const auto& entry : fs::directory_iterator(root / name))
      if (entry.is_regular_file()) inputs.push_back(entry.path());
    std::sort(inputs.begin(), inputs.end());
    for (const auto& input : inputs) {
      SCOPED_TRACE(input.string());
      std::ifstream in(input, std::ios::binary);
      const std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      EXPECT_NO_THROW(harness(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
      ++replayed;
    }
  }
  // Folders named after no harness would silently replay nothing.
  for (const auto& entry : fs::directory_iterator(root)) {
    if (entry.is_directory()) {
      EXPECT_TRUE(swinsmt::fuzz::harnesses().count(entry.path().filename().string())) << entry.path();
    }
  }
  RecordProperty("replayed", replayed);
}
