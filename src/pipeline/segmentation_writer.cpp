#include <swinsmt/pipeline/segmentation_writer.hpp>

#include "common/file_io.hpp"
#include "common/strings.hpp"

#include <swinsmt/error.hpp>
#include <swinsmt/io/dicom.hpp>
#include <swinsmt/io/nifti.hpp>
#include <swinsmt/pipeline/labels.hpp>
#include <swinsmt/pipeline/preview.hpp>
#include <swinsmt/pipeline/segment.hpp>
#include <swinsmt/pipeline/statistics.hpp>

#include <ATen/ATen.h>

#include <unistd.h>
#include <algorithm>
#include <filesystem>
#include <set>

namespace swinsmt {
namespace {

namespace fs = std::filesystem;
using detail::ends_with;

bool is_nifti_name(const std::string& name) { return ends_with(name, ".nii") || ends_with(name, ".nii.gz"); }

std::string case_name(const fs::path& input) {
  std::string name = input.filename().string();
  if (name.empty()) name = input.parent_path().filename().string();  // "folder/"
  for (const char* suffix : {".nii.gz", ".nii"})
    if (ends_with(name, suffix)) return name.substr(0, name.size() - std::string(suffix).size());
  return name;
}

/// Creates the folder that will hold `path` and proves a file can be created there (and removed).
void prepare_folder_for(const std::string& path) {
  const fs::path parent = fs::path(path).has_parent_path() ? fs::path(path).parent_path() : fs::path(".");
  std::error_code ec;
  fs::create_directories(parent, ec);
  if (ec || !fs::is_directory(parent))
    throw Error("cannot create the folder " + parent.string() + " for " + path + ": " +
                (ec ? ec.message() : "a file is in the way"));
  AtomicFile probe(path);  // throws if the folder is not writable; removed when it goes out of scope
}

}  // namespace

std::vector<CtInput> find_ct_inputs(const std::vector<std::string>& paths) {
  std::vector<CtInput> cases;
  for (const auto& input : paths) {
    std::error_code ec;
    if (!fs::exists(input, ec))
      throw Error(input + ": no such file or folder (expected a NIfTI file or a DICOM series folder)");
    if (!fs::is_directory(input, ec)) {
      cases.push_back({input, false, case_name(input)});
      continue;
    }
    if (io::is_dicom_folder(input)) {
      cases.push_back({input, true, case_name(input)});
      continue;
    }
    std::vector<fs::path> entries;
    for (const auto& entry : fs::directory_iterator(input, ec)) entries.push_back(entry.path());
    std::sort(entries.begin(), entries.end());
    const size_t before = cases.size();
    for (const auto& entry : entries) {
      if (fs::is_regular_file(entry, ec) && is_nifti_name(entry.filename().string()))
        cases.push_back({entry.string(), false, case_name(entry)});
      else if (fs::is_directory(entry, ec) && io::is_dicom_folder(entry.string()))
        cases.push_back({entry.string(), true, case_name(entry)});
    }
    if (cases.size() == before)
      throw Error(input + " holds no NIfTI file (.nii, .nii.gz), no DICOM file and no DICOM series folder");
  }
  return cases;
}

io::Volume read_ct(const CtInput& input) {
  return input.dicom ? io::read_dicom_series(input.path) : io::read_nifti(input.path);
}

SegmentationWriter::SegmentationWriter(std::string output, const std::vector<CtInput>& inputs, WriterOptions options)
    : output_(std::move(output)), options_(std::move(options)) {
  const bool masks = options_.form == LabelOutput::masks;
  const fs::path out(output_);
  if (inputs.size() == 1) {
    OutputPaths p;
    p.labels = out.string();
    // As TotalSegmentator: the extras go beside the multilabel file, or into the masks folder.
    fs::path folder = out;
    if (!masks) {
      if (!is_nifti_name(out.filename().string()))
        throw Error("output " + output_ +
                    " must be a NIfTI file name ending in .nii.gz or .nii (with --masks, a folder)");
      folder = out.has_parent_path() ? out.parent_path() : fs::path(".");
    }
    if (options_.statistics) p.statistics = (folder / "statistics.json").string();
    if (options_.preview) p.preview = (folder / "preview.png").string();
    paths_.push_back(p);
  } else {
    if (is_nifti_name(out.filename().string()))
      throw Error("output " + output_ + " must be a folder when segmenting " + std::to_string(inputs.size()) +
                  " volumes");
    std::set<std::string> names;
    for (const CtInput& c : inputs) {
      if (!names.insert(c.name).second)
        throw Error("two inputs are both named \"" + c.name + "\"; their outputs in " + output_ + " would clash");
      OutputPaths p;
      if (masks) {
        p.labels = (out / c.name).string();
        if (options_.statistics) p.statistics = (out / c.name / "statistics.json").string();
        if (options_.preview) p.preview = (out / c.name / "preview.png").string();
      } else {
        p.labels = (out / (c.name + ".nii.gz")).string();
        if (options_.statistics) p.statistics = (out / (c.name + "_statistics.json")).string();
        if (options_.preview) p.preview = (out / (c.name + "_preview.png")).string();
      }
      paths_.push_back(p);
    }
  }
  // Every output checked before minutes of inference.
  for (const OutputPaths& p : paths_) {
    check_writable_output(p.labels, options_.overwrite);
    if (masks) {
      prepare_folder_for((fs::path(p.labels).parent_path() / ".swinsmt_probe").string());
      continue;  // the extras live inside the masks folder, written with it
    }
    prepare_folder_for(p.labels);
    for (const auto* extra : {&p.statistics, &p.preview})
      if (!extra->empty()) {
        check_writable_output(*extra, options_.overwrite);
        prepare_folder_for(*extra);
      }
  }
}

void SegmentationWriter::write(size_t index, const io::Volume& ct, const at::Tensor& all_labels,
                               int num_structures) const {
  const OutputPaths& p = paths_.at(index);
  const auto& keep = options_.keep;
  const at::Tensor labels = keep.empty() ? all_labels : keep_labels(all_labels, keep);

  std::vector<StructureStatistics> statistics;
  if (!p.statistics.empty()) {
    statistics = compute_statistics(labels, ct, num_structures);
    if (!keep.empty()) {
      std::vector<StructureStatistics> chosen;
      for (const auto& s : statistics)
        if (std::find(keep.begin(), keep.end(), s.label) != keep.end()) chosen.push_back(s);
      statistics = std::move(chosen);
    }
  }
  RgbImage preview;
  if (!p.preview.empty()) preview = render_preview(ct, labels);

  const auto write_extras = [&](const std::string& statistics_path, const std::string& preview_path) {
    if (!statistics_path.empty()) {
      const std::string text = statistics_json(statistics);
      write_file_atomically(statistics_path, text.data(), text.size());
    }
    if (!preview_path.empty()) write_png(preview_path, preview);
  };

  if (options_.form == LabelOutput::label_map) {
    io::write_nifti(p.labels, labels, ct.geometry);
    write_extras(p.statistics, p.preview);
    return;
  }
  // Masks: a temporary sibling folder renamed into place, so the folder only ever appears complete.
  std::vector<int> ids = keep;
  if (ids.empty())
    for (int id = 1; id <= num_structures; ++id) ids.push_back(id);
  const fs::path target(p.labels);
  const fs::path temp = target.string() + ".partial" + std::to_string(::getpid());
  std::error_code ec;
  fs::remove_all(temp, ec);
  if (!fs::create_directories(temp, ec) || ec)
    throw Error("cannot create the folder " + temp.string() + " (to write " + p.labels + "): " + ec.message());
  try {
    for (int id : ids)
      io::write_nifti((temp / (label_name(id) + ".nii.gz")).string(), labels.eq(id).to(at::kByte), ct.geometry);
    write_extras(p.statistics.empty() ? "" : (temp / "statistics.json").string(),
                 p.preview.empty() ? "" : (temp / "preview.png").string());
    if (fs::exists(target)) {
      if (!options_.overwrite) throw Error(p.labels + " already exists; pass --overwrite to replace it");
      fs::remove_all(target);
    }
    fs::rename(temp, target);
  } catch (...) {
    fs::remove_all(temp, ec);
    throw;
  }
}

}  // namespace swinsmt
