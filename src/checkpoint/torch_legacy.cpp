// The legacy torch.save stream (PyTorch < 1.6): five pickles in a row, then the storages.
//   1. the magic number 0x1950a86a20f9469cfc6c   2. the protocol version 1001
//   3. system info {"little_endian": bool, "type_sizes": {...}}   4. the object itself
//   5. the list of storage keys, in the order their bytes follow:
//      for each, an 8-byte element count then the raw elements.
// The element size of a storage comes from the object pickle, which names its type.
#include "torch_file.hpp"

#include <swinsmt/error.hpp>

#include <map>

namespace swinsmt::ckpt {
namespace {

constexpr const char* kMagic = "119547037146038801333356";  // 0x1950a86a20f9469cfc6c
constexpr int64_t kProtocolVersion = 1001;

class LegacyTorchFile : public TorchFile {
 public:
  using TorchFile::TorchFile;

  StorageBytes storage_bytes(const StorageRef& storage) override {
    const auto it = records.find(storage.key);
    if (it == records.end())
      throw Error(source + ": storage \"" + storage.key +
                  "\" that the pickle names is missing from the storage section");
    return it->second;
  }

  std::map<std::string, StorageBytes> records;
};

}  // namespace

std::unique_ptr<TorchFile> read_torch_legacy(const uint8_t* data, uint64_t size, const std::string& source) {
  auto file = std::make_unique<LegacyTorchFile>(source);
  file->unpickler = std::make_unique<Unpickler>(data, static_cast<size_t>(size), source, &file->objects);
  Unpickler& u = *file->unpickler;

  const Value* magic = u.load();
  if (!magic->is(Kind::big_integer) || magic->text != kMagic)
    throw Error(source + ": starts with a pickle but not with torch's magic number, so it is not a torch.save file");
  const Value* protocol = u.load();
  if (!protocol->is(Kind::integer) || protocol->integer != kProtocolVersion)
    throw Error(source + ": legacy torch.save protocol version " +
                (protocol->is(Kind::integer) ? std::to_string(protocol->integer) : std::string("(not an int)")) +
                ", expected 1001");
  const Value* sys_info = u.load();
  bool little = true;
  if (sys_info->is(Kind::dict))
    if (const Value* flag = sys_info->get("little_endian"); flag && flag->is(Kind::boolean)) little = flag->boolean;
  file->swap_bytes = little == host_is_big_endian();
  file->root = u.load();
  const Value* keys = u.load();
  if (!keys->is(Kind::list))
    throw Error(source + ": the legacy storage key list after the object pickle is not a list");

  std::map<std::string, size_t> element_size;  // from the storages the object pickle named
  for (const auto& s : file->objects.storages()) element_size.emplace(s.key, c10::elementSize(s.dtype));
  uint64_t pos = u.position();
  for (const Value* key : keys->items) {
    if (!key->is(Kind::string)) throw Error(source + ": the legacy storage key list holds a non-string key");
    const auto es = element_size.find(key->text);
    if (es == element_size.end())
      throw Error(source + ": storage \"" + key->text +
                  "\" in the storage section is not named by the pickle, so its size is unknown");
    if (size - pos < 8)
      throw Error(source + ": storage \"" + key->text + "\" at offset " + std::to_string(pos) +
                  " lacks its 8-byte element count (truncated file?)");
    uint64_t count = 0;
    for (int i = 0; i < 8; ++i) count |= static_cast<uint64_t>(data[pos + (little ? i : 7 - i)]) << (8 * i);
    const uint64_t left = size - pos - 8;
    if (count > left / es->second)
      throw Error(source + ": storage \"" + key->text + "\" at offset " + std::to_string(pos) + " declares " +
                  std::to_string(count) + " elements of " + std::to_string(es->second) + " bytes, but only " +
                  std::to_string(left) + " bytes follow (truncated file?)");
    if (!file->records.emplace(key->text, StorageBytes{data + pos + 8, count * es->second, nullptr}).second)
      throw Error(source + ": storage \"" + key->text + "\" appears twice in the storage section");
    pos += 8 + count * es->second;
  }
  return file;
}

}  // namespace swinsmt::ckpt
