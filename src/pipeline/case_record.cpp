#include "pipeline/case_record.hpp"

#include "common/file_io.hpp"

#include <swinsmt/error.hpp>

#include <nlohmann/json.hpp>

#include <sys/stat.h>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace swinsmt::detail {
namespace fs = std::filesystem;

namespace {

constexpr const char* kKind = "swinsmt case record";

/// Size and modification time (ns) of a file; throws naming it when it cannot be read.
std::pair<int64_t, int64_t> size_and_mtime(const std::string& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) throw Error("cannot read " + path + " (to record which input was segmented)");
  return {static_cast<int64_t>(info.st_size),
          static_cast<int64_t>(info.st_mtim.tv_sec) * 1000000000 + static_cast<int64_t>(info.st_mtim.tv_nsec)};
}

}  // namespace

std::string input_fingerprint(const CtInput& input) {
  std::ostringstream out;
  if (!input.dicom) {
    const auto [bytes, mtime] = size_and_mtime(input.path);
    out << "file " << bytes << " bytes, modified " << mtime;
    return out.str();
  }
  int64_t files = 0, bytes = 0, latest = 0;
  std::error_code ec;
  for (const auto& entry : fs::recursive_directory_iterator(input.path, ec)) {
    if (!entry.is_regular_file(ec)) continue;
    const auto [size, mtime] = size_and_mtime(entry.path().string());
    ++files, bytes += size, latest = std::max(latest, mtime);
  }
  if (ec) throw Error("cannot list " + input.path + " (to record which input was segmented): " + ec.message());
  out << "folder " << files << " files, " << bytes << " bytes, latest modified " << latest;
  return out.str();
}

std::optional<CaseRecord> read_case_record(const std::string& path) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) return std::nullopt;
  std::ifstream in(path);
  const auto json = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (!json.is_object() || json.value("kind", "") != kKind) return std::nullopt;
  CaseRecord record;
  try {
    record.status = json.at("status").get<std::string>();
    record.input = json.at("input").get<std::string>();
    record.input_fingerprint = json.at("input_fingerprint").get<std::string>();
    record.run_key = json.at("run_key").get<std::string>();
    record.swinsmt_version = json.at("swinsmt").get<std::string>();
    record.outputs = json.at("outputs").get<std::map<std::string, int64_t>>();
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
  if (record.status != "writing" && record.status != "done") return std::nullopt;
  return record;
}

void write_case_record(const std::string& path, const CaseRecord& record) {
  const nlohmann::json json = {{"kind", kKind},
                               {"status", record.status},
                               {"input", record.input},
                               {"input_fingerprint", record.input_fingerprint},
                               {"run_key", record.run_key},
                               {"swinsmt", record.swinsmt_version},
                               {"outputs", record.outputs}};
  const std::string text = json.dump(2) + "\n";
  write_file_atomically(path, text.data(), text.size());
}

bool outputs_intact(const CaseRecord& record, const std::string& folder) {
  if (record.status != "done" || record.outputs.empty()) return false;
  for (const auto& [name, bytes] : record.outputs) {
    std::error_code ec;
    const auto size = fs::file_size(fs::path(folder) / name, ec);
    if (ec || static_cast<int64_t>(size) != bytes) return false;
  }
  return true;
}

}  // namespace swinsmt::detail
