#include <swinsmt/checkpoint/safetensors.hpp>

#include "common/file_io.hpp"

#include <swinsmt/error.hpp>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstring>
#include <limits>

namespace swinsmt {
namespace {

using json = nlohmann::json;

// The header may not exceed this (the reference implementation's limit is 100 MB).
constexpr uint64_t kMaxHeaderBytes = 100ull << 20;

struct DtypeName {
  const char* name;
  at::ScalarType type;
};
constexpr DtypeName kDtypes[] = {
    {"F64", at::kDouble}, {"F32", at::kFloat}, {"F16", at::kHalf}, {"BF16", at::kBFloat16}, {"I64", at::kLong},
    {"I32", at::kInt},    {"I16", at::kShort}, {"I8", at::kChar},  {"U8", at::kByte},       {"BOOL", at::kBool},
};

at::ScalarType dtype_from_name(const std::string& name, const std::string& key, const std::string& source) {
  for (const auto& d : kDtypes)
    if (name == d.name) return d.type;
  throw Error(source + ": tensor \"" + key + "\" has dtype \"" + name +
              "\", which LibTorch cannot hold (supported: F64 F32 F16 BF16 I64 I32 I16 I8 U8 BOOL)");
}

const char* dtype_name(at::ScalarType type, const std::string& key) {
  for (const auto& d : kDtypes)
    if (type == d.type) return d.name;
  throw Error("cannot write tensor \"" + key + "\" of dtype " + std::string(c10::toString(type)) + " as safetensors");
}

uint64_t read_le64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

struct Entry {
  std::string key;
  at::ScalarType type;
  std::vector<int64_t> shape;
  uint64_t begin, end;
};

}  // namespace

bool looks_like_safetensors(const uint8_t* data, size_t size) {
  if (size < 10) return false;
  const uint64_t n = read_le64(data);
  return n >= 2 && n <= size - 8 && n <= kMaxHeaderBytes && data[8] == '{';
}

SafetensorsContent parse_safetensors(const uint8_t* data, size_t size, const std::string& source) {
  if (size < 8) throw Error(source + ": not a safetensors file (" + std::to_string(size) + " bytes, need at least 8)");
  const uint64_t header_len = read_le64(data);
  if (header_len > size - 8 || header_len > kMaxHeaderBytes)
    throw Error(source + ": safetensors header length " + std::to_string(header_len) + " exceeds the file size " +
                std::to_string(size) + " (truncated or not a safetensors file)");
  json header;
  try {
    header = json::parse(data + 8, data + 8 + header_len);
  } catch (const json::exception& e) {
    throw Error(source + ": safetensors header is not valid JSON: " + e.what());
  }
  if (!header.is_object()) throw Error(source + ": safetensors header must be a JSON object");

  const uint64_t data_size = size - 8 - header_len;
  const uint8_t* payload = data + 8 + header_len;
  SafetensorsContent content;
  std::vector<Entry> entries;
  for (const auto& [key, value] : header.items()) {
    if (key == "__metadata__") {
      if (!value.is_object()) throw Error(source + ": __metadata__ must be an object of strings");
      for (const auto& [mk, mv] : value.items()) {
        if (!mv.is_string()) throw Error(source + ": __metadata__ value \"" + mk + "\" is not a string");
        content.metadata[mk] = mv.get<std::string>();
      }
      continue;
    }
    const auto where = source + ": tensor \"" + key + "\"";
    if (!value.is_object() || !value.contains("dtype") || !value.contains("shape") || !value.contains("data_offsets") ||
        !value["dtype"].is_string() || !value["shape"].is_array() || !value["data_offsets"].is_array() ||
        value["data_offsets"].size() != 2)
      throw Error(where + " needs \"dtype\" (string), \"shape\" (array) and \"data_offsets\" ([begin, end])");
    Entry e{key, dtype_from_name(value["dtype"].get<std::string>(), key, source), {}, 0, 0};
    uint64_t numel = 1;
    for (const auto& dim : value["shape"]) {
      if (!dim.is_number_unsigned()) throw Error(where + " has a shape entry that is not a non-negative integer");
      const uint64_t d = dim.get<uint64_t>();
      if (d > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) || (d && numel > data_size / d))
        throw Error(where + " declares a shape larger than the file's " + std::to_string(data_size) + " data bytes");
      numel *= d;
      e.shape.push_back(static_cast<int64_t>(d));
    }
    for (const auto& off : value["data_offsets"])
      if (!off.is_number_unsigned()) throw Error(where + " has data_offsets that are not non-negative integers");
    e.begin = value["data_offsets"][0].get<uint64_t>();
    e.end = value["data_offsets"][1].get<uint64_t>();
    const uint64_t expected = numel * c10::elementSize(e.type);
    if (e.begin > e.end || e.end > data_size)
      throw Error(where + " has data_offsets [" + std::to_string(e.begin) + ", " + std::to_string(e.end) +
                  "] outside the data section of " + std::to_string(data_size) + " bytes (truncated file?)");
    if (e.end - e.begin != expected)
      throw Error(where + " of shape " + c10::str(at::IntArrayRef(e.shape)) + " " + value["dtype"].get<std::string>() +
                  " needs " + std::to_string(expected) + " bytes, but data_offsets span " +
                  std::to_string(e.end - e.begin));
    entries.push_back(std::move(e));
  }
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) { return a.begin < b.begin; });
  for (size_t i = 1; i < entries.size(); ++i) {
    if (entries[i].begin < entries[i - 1].end)
      throw Error(source + ": tensors \"" + entries[i - 1].key + "\" and \"" + entries[i].key +
                  "\" overlap in the data section");
  }
  for (const auto& e : entries) {
    auto t = at::empty(e.shape, at::TensorOptions().dtype(e.type));
    if (e.end > e.begin) std::memcpy(t.data_ptr(), payload + e.begin, e.end - e.begin);
    content.tensors.insert(e.key, std::move(t));
  }
  return content;
}

SafetensorsContent read_safetensors(const std::string& path) {
  const auto bytes = read_file_bytes(path);
  return parse_safetensors(bytes.data(), bytes.size(), path);
}

void write_safetensors(const std::string& path, const StateDict& tensors, const Metadata& metadata) {
  json header = json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::vector<at::Tensor> payload;
  uint64_t offset = 0;
  for (const auto& item : tensors) {
    auto t = item.value().to(at::kCPU).contiguous();
    const uint64_t bytes = static_cast<uint64_t>(t.numel()) * t.element_size();
    header[item.key()] = {{"dtype", dtype_name(t.scalar_type(), item.key())},
                          {"shape", t.sizes().vec()},
                          {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
    payload.push_back(std::move(t));
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // keep the data 8-byte aligned
  uint8_t len[8];
  for (int i = 0; i < 8; ++i) len[i] = static_cast<uint8_t>(static_cast<uint64_t>(text.size()) >> (8 * i));
  AtomicFile file(path);
  file.write(len, 8);
  file.write(text.data(), text.size());
  for (const auto& t : payload) file.write(t.data_ptr(), static_cast<size_t>(t.numel()) * t.element_size());
  file.commit();
}

}  // namespace swinsmt
