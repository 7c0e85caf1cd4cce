#pragma once
// read_checkpoint on bytes already in memory (the tests feed it truncated and corrupted copies).

#include <swinsmt/checkpoint/checkpoint.hpp>

#include <cstdint>
#include <string>

namespace swinsmt::ckpt {

/// Recognises the container by its first bytes and reads it. `source` names it in errors.
/// Throws swinsmt::Error on anything it cannot read.
Checkpoint parse_checkpoint(const uint8_t* data, uint64_t size, const std::string& source);

}  // namespace swinsmt::ckpt
