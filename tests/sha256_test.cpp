// SHA-256 of the checkpoint (what the run records name) against the FIPS 180-4 examples and against
// coreutils' sha256sum.
#include "common/sha256.hpp"
#include "test_support.hpp"

#include <swinsmt/error.hpp>

#include <gtest/gtest.h>

#include <string>

using namespace swinsmt;

namespace {
std::string digest(const std::string& text, size_t piece = 0) {
  Sha256 sha;
  if (piece == 0) {
    sha.update(text.data(), text.size());
  } else {
    for (size_t i = 0; i < text.size(); i += piece) sha.update(text.data() + i, std::min(piece, text.size() - i));
  }
  return sha.hex_digest();
}
}  // namespace

TEST(Sha256, FipsExamples) {
  EXPECT_EQ(digest(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(digest("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  const std::string two_blocks = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";  // 448 bits
  EXPECT_EQ(digest(two_blocks), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  const std::string million(1000000, 'a');
  EXPECT_EQ(digest(million), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  // Fed in odd pieces, across block borders: the same digest.
  EXPECT_EQ(digest(million, 997), digest(million));
}

TEST(Sha256, FileEqualsCoreutils) {
  const std::string weights = test::example_weights();
  const auto run = test::run_command("sha256sum " + test::quoted(weights));
  ASSERT_EQ(run.code, 0) << run.output;
  EXPECT_EQ(sha256_of_file(weights), run.output.substr(0, 64));
  EXPECT_THROW(sha256_of_file("/nonexistent/file.pth"), Error);
}
