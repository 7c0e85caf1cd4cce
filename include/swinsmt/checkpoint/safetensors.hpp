#pragma once
// Reader and writer for the safetensors format (8-byte little-endian header length, JSON header,
// raw little-endian row-major data). Every size and offset is checked before anything is read.

#include <swinsmt/checkpoint/state_dict.hpp>

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

namespace swinsmt {

using Metadata = std::map<std::string, std::string>;

struct SafetensorsContent {
  StateDict tensors;  ///< in file order (by data offset), CPU, contiguous
  Metadata metadata;  ///< the `__metadata__` string map (may be empty)
};

/// Parses safetensors bytes. `source` names the origin in error messages (a path).
/// Throws swinsmt::Error on any inconsistency: bad header length, JSON, dtype, shape/offset mismatch,
/// out-of-range or overlapping data.
SafetensorsContent parse_safetensors(const uint8_t* data, size_t size, const std::string& source);

/// Reads a safetensors file. Throws swinsmt::Error naming the path.
SafetensorsContent read_safetensors(const std::string& path);

/// Writes tensors (moved to CPU, made contiguous) and metadata. The file is written to a temporary
/// name in the same folder and renamed into place, so a failed write never leaves a partial file.
void write_safetensors(const std::string& path, const StateDict& tensors, const Metadata& metadata = {});

/// True if the bytes start like a safetensors file (plausible header length followed by '{').
bool looks_like_safetensors(const uint8_t* data, size_t size);

}  // namespace swinsmt
