#include "common/file_io.hpp"
#include "fixtures.hpp"

#include <swinsmt/checkpoint/safetensors.hpp>
#include <swinsmt/error.hpp>

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>

using namespace swinsmt;

namespace {
std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("swinsmt_test_" + std::to_string(::getpid()) + "_" + name))
      .string();
}
std::vector<uint8_t> make_file(const std::string& header, size_t data_bytes) {
  std::vector<uint8_t> bytes(8 + header.size() + data_bytes, 0);
  const uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<uint8_t>(n >> (8 * i));
  std::memcpy(bytes.data() + 8, header.data(), header.size());
  return bytes;
}
void expect_parse_error(const std::string& header, size_t data_bytes, const char* fragment) {
  const auto bytes = make_file(header, data_bytes);
  try {
    parse_safetensors(bytes.data(), bytes.size(), "bad.safetensors");
    ADD_FAILURE() << "accepted: " << header;
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("bad.safetensors"), std::string::npos) << e.what();
  }
}
}  // namespace

TEST(SafetensorsTest, ReadsOfficialFixture) {
  auto content = read_safetensors(test::data_path("softmoe_padded.safetensors"));
  ASSERT_TRUE(content.tensors.contains("input"));
  EXPECT_EQ(content.tensors["input"].sizes(), at::IntArrayRef({2, 100, 24}));
  EXPECT_EQ(content.metadata.at("seed"), "400");
}

TEST(SafetensorsTest, RoundTripKeepsValuesDtypesAndMetadata) {
  StateDict tensors;
  tensors.insert("f32", at::randn({3, 4}));
  tensors.insert("f16", at::randn({5}).to(at::kHalf));
  tensors.insert("bf16", at::randn({2, 2}).to(at::kBFloat16));
  tensors.insert("i64", at::arange(7));
  tensors.insert("bool", at::tensor({1, 0, 1}).to(at::kBool));
  tensors.insert("scalar", at::scalar_tensor(2.5));
  tensors.insert("empty", at::zeros({0, 3}));
  tensors.insert("view", at::randn({4, 6}).t());
  const auto path = temp_path("roundtrip.safetensors");
  write_safetensors(path, tensors, {{"note", "hello"}});
  auto back = read_safetensors(path);
  std::filesystem::remove(path);
  EXPECT_EQ(back.metadata.at("note"), "hello");
  ASSERT_EQ(back.tensors.size(), tensors.size());
  for (const auto& item : tensors) {
    const auto& t = back.tensors[item.key()];
    EXPECT_EQ(t.scalar_type(), item.value().scalar_type()) << item.key();
    EXPECT_TRUE(t.equal(item.value())) << item.key();
  }
}

TEST(SafetensorsTest, HostileHeadersGiveClearErrors) {
  expect_parse_error("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 8,
                     "outside the data section");
  expect_parse_error("{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,16]}}", 16, "needs 12 bytes");
  expect_parse_error("{\"a\":{\"dtype\":\"U32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "dtype \"U32\"");
  expect_parse_error(
      "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
      "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[2,6]}}",
      8, "overlap");
  expect_parse_error("{\"a\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904, 4],\"data_offsets\":[0,4]}}", 4,
                     "larger than the file");
  expect_parse_error("{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4, "non-negative");
  expect_parse_error("{not json", 0, "not valid JSON");
  expect_parse_error("[1,2]", 0, "JSON object");
  expect_parse_error("{\"a\":{\"dtype\":\"F32\"}}", 0, "data_offsets");
  // Header length beyond the file.
  std::vector<uint8_t> bytes(16, 0);
  bytes[0] = 0xff;
  bytes[5] = 0x01;
  EXPECT_THROW(parse_safetensors(bytes.data(), bytes.size(), "x"), Error);
  EXPECT_THROW(parse_safetensors(bytes.data(), 3, "x"), Error);
}

TEST(SafetensorsTest, TruncatedFixtureIsRejectedAtEveryCut) {
  const auto bytes = read_file_bytes(test::data_path("softmoe_masked.safetensors"));
  for (size_t cut = 0; cut < bytes.size(); cut += 997)
    EXPECT_THROW(parse_safetensors(bytes.data(), cut, "cut"), Error) << "cut at " << cut;
}

TEST(SafetensorsTest, FailedWriteLeavesNothingBehind) {
  StateDict tensors;
  tensors.insert("a", at::ones({2}));
  EXPECT_THROW(write_safetensors("/nonexistent-dir/x.safetensors", tensors), Error);
  EXPECT_FALSE(std::filesystem::exists("/nonexistent-dir/x.safetensors"));
}
