#include "io/dicom_output.hpp"

#include <swinsmt/error.hpp>

#include <ATen/ATen.h>
#include <dcmtk/config/osconfig.h>  // first of DCMTK's headers
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcuid.h>

#include <unistd.h>
#include <cstdio>
#include <filesystem>

namespace swinsmt::io::detail {

void check_labels_on_source(const std::string& path, const DicomSource& source, const at::Tensor& labels) {
  const auto sizes = labels.sizes();
  const std::vector<int64_t> expected{source.columns, source.rows, static_cast<int64_t>(source.slices.size())};
  if (labels.dim() != 3 || sizes.vec() != expected || labels.scalar_type() != at::kByte)
    throw Error(path + ": the label map must be uint8 on the grid of the source series " + source.folder + " (" +
                std::to_string(expected[0]) + " x " + std::to_string(expected[1]) + " x " +
                std::to_string(expected[2]) + " columns x rows x slices), got " + labels.toString() + " " +
                std::to_string(labels.dim()) + "-D");
}

void check(const OFCondition& status, const std::string& path, const std::string& what) {
  if (status.bad()) throw Error(path + ": DCMTK refused " + what + " (" + status.text() + ")");
}

std::string text_value(DcmItem& item, const DcmTagKey& key) {
  OFString value;
  if (item.findAndGetOFStringArray(key, value).bad()) return "";
  std::string s = value.c_str();
  while (!s.empty() && (s.back() == ' ' || s.back() == '\0')) s.pop_back();
  return s;
}

std::pair<std::vector<std::pair<int, std::string>>, std::string> present_structures(
    const std::string& path, const at::Tensor& labels, const std::map<int, std::string>& structures,
    const std::string& object) {
  const at::Tensor counts = at::bincount(labels.flatten().to(at::kLong), {}, 256);
  std::vector<std::pair<int, std::string>> present;
  std::string empty;
  size_t empty_count = 0;
  for (const auto& [id, name] : structures) {
    if (id <= 0 || id > 255) continue;
    if (counts[id].item<int64_t>() > 0) {
      present.emplace_back(id, name);
    } else {
      empty += (empty.empty() ? "" : ", ") + name;
      ++empty_count;
    }
  }
  if (present.empty())
    throw Error(path + ": no structure has a voxel in the label map, so there is nothing to write in the " + object);
  std::string note;
  if (empty_count > 0)
    note =
        path + ": " + std::to_string(empty_count) + " empty structures left out of the " + object + " (" + empty + ")";
  return {present, note};
}

std::string series_description(const DicomOutputInfo& info) {
  std::string description = info.algorithm_name + " " + info.algorithm_version + " " + info.checkpoint_name;
  if (description.size() > 64) description.resize(64);  // LO
  return description;
}

std::string new_uid(const char* root) {
  char buffer[100];
  return dcmGenerateUniqueIdentifier(buffer, root);
}

std::string decimal_string(double v) {
  char buffer[32];
  for (int digits = 12; digits > 0; --digits) {
    std::snprintf(buffer, sizeof buffer, "%.*g", digits, v == 0 ? 0.0 : v);  // no "-0"
    if (std::string(buffer).size() <= 16) return buffer;
  }
  return buffer;
}

std::string orientation_string(const DicomSource& source) {
  std::string out;
  for (size_t i = 0; i < 6; ++i) out += (i ? "\\" : "") + decimal_string(source.orientation[i]);
  return out;
}

void save_dicom_atomically(DcmFileFormat& file, const std::string& path) {
  const std::string temp = path + ".partial" + std::to_string(::getpid());
  const OFCondition status =
      file.saveFile(temp.c_str(), EXS_LittleEndianExplicit, EET_ExplicitLength, EGL_recalcGL, EPD_noChange);
  std::error_code ec;
  if (status.bad()) {
    std::filesystem::remove(temp, ec);
    throw Error("cannot write " + path + ": " + status.text());
  }
  std::filesystem::rename(temp, path, ec);
  if (ec) {
    const std::string reason = ec.message();
    std::filesystem::remove(temp, ec);
    throw Error("cannot rename " + temp + " to " + path + ": " + reason);
  }
}

}  // namespace swinsmt::io::detail
