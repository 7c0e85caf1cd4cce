// torch.save's ZIP layout: <prefix>/data.pkl (the pickle), <prefix>/data/<key> (one record per
// storage, raw elements), <prefix>/version or <prefix>/.data/version, and since PyTorch 2.1
// <prefix>/byteorder ("little" or "big"; absent means little). The prefix is the file name torch
// saved to, so it is found from data.pkl rather than assumed.
#include "torch_file.hpp"
#include "zip_archive.hpp"

#include <swinsmt/error.hpp>

#include <algorithm>

namespace swinsmt::ckpt {
namespace {

std::string trimmed(const ZipData& d) {
  std::string s(reinterpret_cast<const char*>(d.data), static_cast<size_t>(std::min<uint64_t>(d.size, 64)));
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ' || s.back() == '\0')) s.pop_back();
  return s;
}

class ZipTorchFile : public TorchFile {
 public:
  ZipTorchFile(const uint8_t* data, uint64_t size, const std::string& source)
      : TorchFile(source), zip(data, size, source) {}

  StorageBytes storage_bytes(const StorageRef& storage) override {
    const std::string name = prefix + "data/" + storage.key;
    const ZipEntry* entry = zip.find(name);
    if (!entry)
      throw Error(source + ": the archive has no record \"" + name + "\" for storage \"" + storage.key +
                  "\" that the pickle names");
    ZipData d = zip.read(*entry);
    return {d.data, d.size, d.owned};
  }

  ZipArchive zip;
  std::string prefix;
  ZipData pickle;  // keeps an inflated data.pkl alive as long as the values that point into it
};

}  // namespace

std::unique_ptr<TorchFile> read_torch_zip(const uint8_t* data, uint64_t size, const std::string& source) {
  auto file = std::make_unique<ZipTorchFile>(data, size, source);
  const ZipEntry* pkl = nullptr;
  for (const auto& e : file->zip.entries()) {
    const bool match =
        e.name == "data.pkl" || (e.name.size() > 9 && e.name.compare(e.name.size() - 9, 9, "/data.pkl") == 0);
    if (match && (!pkl || e.name.size() < pkl->name.size())) pkl = &e;
  }
  if (!pkl) {
    std::string names;
    for (size_t i = 0; i < file->zip.entries().size() && i < 5; ++i)
      names += (i ? ", " : "") + file->zip.entries()[i].name;
    throw Error(source + ": the ZIP archive has no data.pkl record, so it is not a torch.save file (" +
                std::to_string(file->zip.entries().size()) + " entries" + (names.empty() ? "" : ": " + names) + ")");
  }
  file->prefix = pkl->name.substr(0, pkl->name.size() - 8);
  if (file->zip.find(file->prefix + "constants.pkl"))
    throw Error(source +
                " is a TorchScript archive (torch.jit.save), not a torch.save checkpoint: save the "
                "model's state_dict() with torch.save instead");

  if (const ZipEntry* order = file->zip.find(file->prefix + "byteorder")) {
    const std::string value = trimmed(file->zip.read(*order));
    if (value != "little" && value != "big")
      throw Error(source + ": record \"" + order->name + "\" reads \"" + value + "\", expected \"little\" or \"big\"");
    file->swap_bytes = (value == "big") != host_is_big_endian();
  } else {
    file->swap_bytes = host_is_big_endian();
  }
  for (const char* name : {".data/version", "version"}) {
    const ZipEntry* version = file->zip.find(file->prefix + name);
    if (!version) continue;
    const std::string value = trimmed(file->zip.read(*version));
    if (value.empty() || value.size() > 9 ||
        !std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; }))
      throw Error(source + ": record \"" + version->name + "\" reads \"" + value +
                  "\", expected a format version number");
  }

  file->pickle = file->zip.read(*pkl);
  file->unpickler = std::make_unique<Unpickler>(file->pickle.data, static_cast<size_t>(file->pickle.size),
                                                source + ": record " + pkl->name, &file->objects);
  file->root = file->unpickler->load();
  return file;
}

}  // namespace swinsmt::ckpt
