#pragma once
// What each fuzz target does with one input, shared by the targets (fuzz/*.cpp) and the
// regression test that replays the inputs they found (tests/fuzz_regression_test.cpp). Each
// harness accepts only swinsmt::Error as the way to refuse an input; anything else (another
// exception, a sanitizer report, a crash) is a bug.

#include "checkpoint/pickle.hpp"
#include "checkpoint/reader.hpp"
#include "checkpoint/torch_file.hpp"

#include <swinsmt/checkpoint/safetensors.hpp>
#include <swinsmt/error.hpp>
#include <swinsmt/io/dicom.hpp>
#include <swinsmt/io/nifti.hpp>

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <string>
#include <unordered_set>
#include <vector>

namespace swinsmt::fuzz {

/// Materialises every tensor reachable from the file's root, so storage offsets, sizes and strides
/// the pickle declared are checked against the storage bytes. Each tensor's error is caught on its
/// own so one bad tensor does not hide the others. The walk is iterative and visits each value
/// once: a hostile pickle can build cycles and deep trees.
inline void materialize_all(ckpt::TorchFile& file) {
  if (!file.root) return;
  std::vector<const ckpt::Value*> todo{file.root};
  std::unordered_set<const ckpt::Value*> seen;
  while (!todo.empty()) {
    const ckpt::Value* v = todo.back();
    todo.pop_back();
    if (!v || !seen.insert(v).second) continue;
    if (file.objects.is_tensor(v)) {
      try {
        file.materialize(*v, "fuzz");
      } catch (const swinsmt::Error&) {
      }
      continue;
    }
    for (const auto* item : v->items) todo.push_back(item);
    for (const auto& [key, value] : v->entries) {
      todo.push_back(key);
      todo.push_back(value);
    }
    todo.push_back(v->args);
    todo.push_back(v->state);
  }
}

/// A file holding the input, for readers that only take paths (nifti_clib, GDCM). Removed when
/// it goes out of scope. `suffix` picks the reader's format detection (".nii", ".nii.gz").
class TempFile {
 public:
  TempFile(const uint8_t* data, size_t size, const std::string& suffix) {
    const char* dir = std::getenv("TMPDIR");
    std::string pattern = std::string(dir && *dir ? dir : "/tmp") + "/swinsmt_fuzz_XXXXXX" + suffix;
    std::vector<char> name(pattern.begin(), pattern.end());
    name.push_back('\0');
    int fd = mkstemps(name.data(), static_cast<int>(suffix.size()));
    if (fd < 0) std::abort();
    path_ = name.data();
    for (size_t done = 0; done < size;) {
      ssize_t n = write(fd, data + done, size - done);
      if (n <= 0) std::abort();
      done += static_cast<size_t>(n);
    }
    close(fd);
  }
  ~TempFile() { std::remove(path_.c_str()); }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

/// The pickle machine alone, without the torch hooks; several pickles in a row like the legacy format.
inline void pickle(const uint8_t* data, size_t size) {
  try {
    ckpt::Unpickler unpickler(data, size, "fuzz.pkl");
    for (int i = 0; i < 4 && unpickler.position() < size; ++i) unpickler.load();
  } catch (const Error&) {
  }
}

/// The torch.save ZIP container: ZIP reader, pickle with the torch hooks, every tensor materialized.
inline void torch_zip(const uint8_t* data, size_t size) {
  try {
    auto file = ckpt::read_torch_zip(data, size, "fuzz.pth");
    materialize_all(*file);
  } catch (const Error&) {
  }
}

/// The legacy torch.save stream (pickles followed by raw storages), every tensor materialized.
inline void torch_legacy(const uint8_t* data, size_t size) {
  try {
    auto file = ckpt::read_torch_legacy(data, size, "fuzz.pth");
    materialize_all(*file);
  } catch (const Error&) {
  }
}

/// The whole checkpoint reader: container detection, state-dict discovery and tensors.
inline void checkpoint(const uint8_t* data, size_t size) {
  try {
    ckpt::parse_checkpoint(data, size, "fuzz.pth");
  } catch (const Error&) {
  }
}

/// safetensors: JSON header, dtypes, shapes and data offsets.
inline void safetensors(const uint8_t* data, size_t size) {
  try {
    parse_safetensors(data, size, "fuzz.safetensors");
  } catch (const Error&) {
  }
}

/// The NIfTI reader through a temporary .nii file (nifti_clib only reads files; zlib's gzread
/// inflates gzip data whatever the name, so gzipped inputs are read too).
inline void nifti(const uint8_t* data, size_t size) {
  TempFile file(data, size, ".nii");
  try {
    io::read_nifti(file.path());
  } catch (const Error&) {
  }
}

/// The DICOM series reader on a series of one file, written into a temporary folder of its own
/// (GDCM reads files). The folder is made once per process and holds one input at a time.
inline void dicom(const uint8_t* data, size_t size) {
  static const std::string folder = [] {
    const char* dir = std::getenv("TMPDIR");
    std::string pattern = std::string(dir && *dir ? dir : "/tmp") + "/swinsmt_fuzz_dicom_XXXXXX";
    std::vector<char> name(pattern.begin(), pattern.end());
    name.push_back('\0');
    if (!mkdtemp(name.data())) std::abort();
    return std::string(name.data());
  }();
  const std::string file = folder + "/slice.dcm";
  {
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
    if (!out) std::abort();
  }
  try {
    io::read_dicom_series(folder);
  } catch (const Error&) {
  }
  std::filesystem::remove(file);
}

/// Every harness by its target's name without "fuzz_" (the folders of tests/data/fuzz_regressions).
inline const std::map<std::string, std::function<void(const uint8_t*, size_t)>>& harnesses() {
  static const std::map<std::string, std::function<void(const uint8_t*, size_t)>> all = {{"pickle", pickle},
                                                                                         {"torch_zip", torch_zip},
                                                                                         {"torch_legacy", torch_legacy},
                                                                                         {"checkpoint", checkpoint},
                                                                                         {"safetensors", safetensors},
                                                                                         {"nifti", nifti},
                                                                                         {"dicom", dicom}};
  return all;
}

}  // namespace swinsmt::fuzz
