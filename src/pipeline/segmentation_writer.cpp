#include <swinsmt/pipeline/segmentation_writer.hpp>

#include "common/file_io.hpp"
#include "common/strings.hpp"
#include "pipeline/case_record.hpp"

#include <swinsmt/error.hpp>
#include <swinsmt/io/dicom.hpp>
#include <swinsmt/io/dicom_seg_writer.hpp>
#include <swinsmt/io/nifti.hpp>
#include <swinsmt/io/rtstruct_writer.hpp>
#include <swinsmt/pipeline/label_descriptions.hpp>
#include <swinsmt/pipeline/labels.hpp>
#include <swinsmt/pipeline/preview.hpp>
#include <swinsmt/pipeline/segment.hpp>
#include <swinsmt/pipeline/statistics.hpp>
#include <swinsmt/version.hpp>

#include <ATen/ATen.h>

#include <unistd.h>
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>

namespace swinsmt {
namespace {

namespace fs = std::filesystem;
using detail::ends_with;

bool is_nifti_name(const std::string& name) { return ends_with(name, ".nii") || ends_with(name, ".nii.gz"); }

bool has(const std::vector<OutputType>& types, OutputType type) {
  return std::find(types.begin(), types.end(), type) != types.end();
}

const char* type_name(OutputType type) {
  return type == OutputType::nifti ? "nifti" : type == OutputType::dicom_seg ? "dicom-seg" : "rtstruct";
}

/// The file name an output type takes in a folder of several types.
const char* file_in_folder(OutputType type) {
  return type == OutputType::nifti ? "seg.nii.gz" : type == OutputType::dicom_seg ? "seg.dcm" : "rtstruct.dcm";
}

/// The extension of an output type's file when it is the only type.
const char* extension(OutputType type) { return type == OutputType::nifti ? ".nii.gz" : ".dcm"; }

std::string case_name(const fs::path& input) {
  std::string name = input.filename().string();
  if (name.empty()) name = input.parent_path().filename().string();  // "folder/"
  for (const char* suffix : {".nii.gz", ".nii", ".dcm"})
    if (ends_with(name, suffix)) return name.substr(0, name.size() - std::string(suffix).size());
  return name;
}

/// `path` without a trailing separator ("out/" names the folder "out"), lexically normalised.
fs::path normalized(const std::string& path) {
  fs::path p = fs::path(path).lexically_normal();
  if (p.filename().empty() && p.has_parent_path()) p = p.parent_path();
  return p;
}

/// Where `path` would be created can be written: the nearest existing ancestor is a writable folder.
/// Nothing is created here: folders appear only when a case writes its output.
void check_creatable(const fs::path& path, const std::string& what) {
  fs::path folder = path.has_parent_path() ? path.parent_path() : fs::path(".");
  std::error_code ec;
  while (!fs::exists(folder, ec) && folder.has_parent_path() && folder != folder.parent_path())
    folder = folder.parent_path();
  if (!fs::exists(folder, ec)) folder = ".";
  const fs::path parent = path.has_parent_path() ? path.parent_path() : fs::path(".");
  if (!fs::is_directory(folder, ec))
    throw Error("cannot create the folder " + parent.string() + " for " + what + " " + path.string() + ": " +
                folder.string() + " is a file, not a folder");
  if (::access(folder.c_str(), W_OK | X_OK) != 0)
    throw Error("cannot write " + what + " " + path.string() + ": the folder " + folder.string() + " is not writable");
}

/// The path with symbolic links and ".." resolved, whether or not it exists yet; empty when it
/// cannot be resolved.
fs::path resolved(const fs::path& path) {
  std::error_code ec;
  fs::path out = fs::weakly_canonical(path, ec);
  return ec ? fs::path() : out;
}

}  // namespace

namespace {

/// Adds the cases `input` holds (a NIfTI file, a DICOM series folder, or a folder of those);
/// `where` prefixes errors (the list file and line the path came from, or "").
void add_cases(std::vector<CtInput>& cases, const std::string& input, const std::string& where) {
  std::error_code ec;
  if (!fs::exists(input, ec))
    throw Error(where + input + ": no such file or folder (expected a NIfTI file or a DICOM series folder)");
  if (!fs::is_directory(input, ec)) {
    if (!is_nifti_name(input) && io::is_dicom_file(input))
      throw Error(where + input + " is a DICOM file; pass the folder that holds its series (-i " +
                  (fs::path(input).has_parent_path() ? fs::path(input).parent_path().string() : std::string(".")) +
                  ")");
    cases.push_back({input, false, case_name(input)});
    return;
  }
  if (io::is_dicom_folder(input)) {
    cases.push_back({input, true, case_name(input)});
    return;
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
    throw Error(where + input + " holds no NIfTI file (.nii, .nii.gz), no DICOM file and no DICOM series folder");
}

/// The cases of a list file: one path per line; blank lines and lines starting with # are skipped,
/// surrounding spaces and a Windows line end are ignored, relative paths are relative to the
/// list's folder (so a list kept beside the data works from any working folder).
void add_listed_cases(std::vector<CtInput>& cases, const std::string& list_file) {
  std::ifstream in(list_file);
  if (!in) throw Error("cannot read the input list " + list_file + " (-i @FILE: one CT path per line)");
  const fs::path folder = fs::path(list_file).has_parent_path() ? fs::path(list_file).parent_path() : fs::path();
  std::string line;
  size_t number = 0, listed = 0;
  while (std::getline(in, line)) {
    ++number;
    const auto first = line.find_first_not_of(" \t\r");
    if (first == std::string::npos || line[first] == '#') continue;
    const auto last = line.find_last_not_of(" \t\r");
    const fs::path path(line.substr(first, last - first + 1));
    add_cases(cases, (path.is_absolute() ? path : folder / path).string(),
              list_file + " line " + std::to_string(number) + ": ");
    ++listed;
  }
  if (listed == 0) throw Error("the input list " + list_file + " names no CT (one path per line)");
}

}  // namespace

std::vector<CtInput> find_ct_inputs(const std::vector<std::string>& paths) {
  std::vector<CtInput> cases;
  for (const auto& input : paths) {
    if (input.size() > 1 && input[0] == '@')
      add_listed_cases(cases, input.substr(1));
    else
      add_cases(cases, input, "");
  }
  return cases;
}

io::Volume read_ct(const CtInput& input) {
  return input.dicom ? io::read_dicom_series(input.path) : io::read_nifti(input.path);
}

OutputType parse_output_type(const std::string& name) {
  for (OutputType type : {OutputType::nifti, OutputType::dicom_seg, OutputType::rtstruct})
    if (name == type_name(type)) return type;
  throw Error("--output-type must be nifti, dicom-seg or rtstruct, got \"" + name + "\"");
}

SegmentationWriter::SegmentationWriter(std::string output, const std::vector<CtInput>& inputs, WriterOptions options)
    : output_(std::move(output)), options_(std::move(options)), inputs_(inputs) {
  const bool masks = options_.form == LabelOutput::masks;
  const fs::path out = normalized(output_);
  if (out.empty()) throw Error("the output path is empty");
  auto& types = options_.types;
  if (types.empty()) throw Error("no output type given; expected nifti, dicom-seg, rtstruct or several");
  for (size_t i = 0; i < types.size(); ++i)
    if (std::find(types.begin(), types.begin() + i, types[i]) != types.begin() + i)
      throw Error(std::string("--output-type ") + type_name(types[i]) + " is given twice");
  for (OutputType type : types) {
    if (type == OutputType::nifti) continue;
    if (masks)
      throw Error(std::string("--masks writes NIfTI masks; it cannot be combined with --output-type ") +
                  type_name(type));
    for (const CtInput& c : inputs)
      if (!c.dicom)
        throw Error(std::string("--output-type ") + type_name(type) +
                    " needs a DICOM series input (DICOM outputs reference their source images), but " + c.path +
                    " is a NIfTI file");
  }
  if (!options_.names.empty()) {
    names_ = options_.names;
  } else if (!options_.card_labels.empty()) {
    for (const auto& label : options_.card_labels) names_.emplace(label.value, label.name);
  } else {
    names_ = labels();
  }
  // A structure without DICOM codes fails the run now rather than after the inference of a case.
  if (needs_dicom_source()) {
    std::vector<int> ids = options_.keep;
    if (ids.empty())
      for (const auto& entry : names_) ids.push_back(entry.first);
    for (int id : ids) descriptions_.emplace(id, describe_label(id, label_name(id, names_), options_.card_labels));
  }
  const bool several_types = types.size() > 1;
  const OutputType single = types.front();
  // The label map files of one case: in `folder` under the fixed names, or `file` for one type.
  const auto set_outputs = [&](OutputPaths& p, const fs::path& folder, const fs::path& file) {
    for (OutputType type : types) {
      const std::string path = several_types ? (folder / file_in_folder(type)).string() : file.string();
      (type == OutputType::nifti ? p.labels : type == OutputType::dicom_seg ? p.dicom_seg : p.rtstruct) = path;
    }
  };
  if (inputs.size() == 1) {
    OutputPaths p;
    // As TotalSegmentator: the extras go beside the multilabel file, or into the masks folder.
    fs::path folder = out;
    if (masks) {
      set_outputs(p, out, out);  // the folder
    } else if (several_types) {
      if (is_nifti_name(out.filename().string()) || ends_with(out.filename().string(), ".dcm"))
        throw Error("output " + output_ + " must be a folder when writing " + std::to_string(types.size()) +
                    " output types (it holds seg.nii.gz, seg.dcm, rtstruct.dcm and the extras)");
      set_outputs(p, out, out);
    } else {
      const std::string name = out.filename().string();
      if (single == OutputType::nifti && !is_nifti_name(name))
        throw Error("output " + output_ +
                    " must be a NIfTI file name ending in .nii.gz or .nii (with --masks, a folder)");
      if (single != OutputType::nifti && !ends_with(name, ".dcm"))
        throw Error("output " + output_ + " must be a DICOM file name ending in .dcm (--output-type " +
                    type_name(single) + ")");
      set_outputs(p, out, out);
      folder = out.has_parent_path() ? out.parent_path() : fs::path(".");
    }
    if (options_.statistics) p.statistics = (folder / "statistics.json").string();
    if (options_.preview) p.preview = (folder / "preview.png").string();
    p.record = masks || several_types ? (out / "swinsmt.json").string()
                                      : (folder / (case_name(out) + ".swinsmt.json")).string();
    paths_.push_back(p);
  } else {
    if (is_nifti_name(out.filename().string()) || ends_with(out.filename().string(), ".dcm"))
      throw Error("output " + output_ + " must be a folder when segmenting " + std::to_string(inputs.size()) +
                  " volumes");
    std::set<std::string> names;
    for (const CtInput& c : inputs) {
      if (!names.insert(c.name).second)
        throw Error("two inputs are both named \"" + c.name + "\"; their outputs in " + output_ + " would clash");
      OutputPaths p;
      if (masks || several_types) {
        set_outputs(p, out / c.name, out / c.name);  // with masks: the folder
        if (options_.statistics) p.statistics = (out / c.name / "statistics.json").string();
        if (options_.preview) p.preview = (out / c.name / "preview.png").string();
        p.record = (out / c.name / "swinsmt.json").string();
      } else {
        set_outputs(p, out, out / (c.name + extension(single)));
        if (options_.statistics) p.statistics = (out / (c.name + "_statistics.json")).string();
        if (options_.preview) p.preview = (out / (c.name + "_preview.png")).string();
        p.record = (out / (c.name + ".swinsmt.json")).string();
      }
      paths_.push_back(p);
    }
  }
  if (options_.cases) {
    cases_ = *options_.cases;
  } else {
    for (size_t i = 0; i < inputs.size(); ++i) cases_.push_back(i);
  }
  for (size_t k = 0; k < cases_.size(); ++k)
    if (cases_[k] >= inputs.size() || (k > 0 && cases_[k] <= cases_[k - 1]))
      throw Error("the cases to write must be ascending positions among the " + std::to_string(inputs.size()) +
                  " inputs");
  finished_.assign(inputs.size(), false);
  replace_.assign(inputs.size(), options_.overwrite);
  // Every output checked before minutes of inference; nothing is created yet. Each input is
  // resolved once: a batch of thousands compares every output against every input.
  std::map<fs::path, const CtInput*> inputs_at;
  for (const CtInput& in : inputs)
    if (auto at = resolved(in.path); !at.empty()) inputs_at.emplace(std::move(at), &in);
  const auto input_at = [&](const fs::path& target) -> const CtInput* {
    const auto at = resolved(target);
    const auto it = at.empty() ? inputs_at.end() : inputs_at.find(at);
    return it == inputs_at.end() ? nullptr : it->second;
  };
  const auto refuse_inputs = [&](const fs::path& target) {
    if (const CtInput* in = input_at(target))
      throw Error("output " + target.string() + " is the input " + in->path + "; an input is never overwritten");
  };
  // The names a masks folder's files take: <structure>.nii.gz (label id, name) and the extras.
  std::map<std::string, std::pair<int, std::string>> mask_names;
  if (masks)
    for (const auto& [id, name] : names()) mask_names.emplace(name + ".nii.gz", std::make_pair(id, name));
  for (size_t i : cases_) {
    const OutputPaths& p = paths_[i];
    std::error_code ec;
    // What an earlier run left: finished (skipped), swinsmt's own unfinished outputs (replaced), or
    // finished by another run (replaced only with overwrite).
    const auto record = detail::read_case_record(p.record);
    if (record && !options_.overwrite) {
      const std::string folder = fs::path(p.record).parent_path().string();
      const bool intact = detail::outputs_intact(*record, folder);
      if (intact && record->run_key == options_.run_key &&
          record->input_fingerprint == detail::input_fingerprint(inputs[i])) {
        finished_[i] = true;
        continue;
      }
      if (intact)
        throw Error("the outputs of " + inputs[i].path + " (" + p.labels + ") were made by another run (" +
                    (record->run_key != options_.run_key ? "another checkpoint or other settings"
                                                         : "the input has changed since") +
                    "); pass --overwrite to replace them");
      replace_[i] = true;  // swinsmt's own, unfinished or partly removed
    }
    if (masks) {
      const fs::path folder(p.labels);
      if (fs::exists(folder, ec) && !fs::is_directory(folder, ec))
        throw Error("output " + p.labels + " is a file; with --masks the output is a folder");
      check_writable_output(p.labels, replace_[i]);
      refuse_inputs(folder);
      // An input inside the folder under a name swinsmt writes there would be replaced. Only what
      // the folder already holds can be an input.
      std::vector<fs::path> entries;
      if (fs::is_directory(folder, ec))
        for (const auto& entry : fs::directory_iterator(folder, ec)) entries.push_back(entry.path());
      std::sort(entries.begin(), entries.end());
      for (const auto& name : {std::string("statistics.json"), std::string("preview.png"), std::string("swinsmt.json")})
        if (std::binary_search(entries.begin(), entries.end(), folder / name)) refuse_inputs(folder / name);
      for (const auto& entry : entries) {
        const auto structure = mask_names.find(entry.filename().string());
        if (structure == mask_names.end()) continue;
        if (const CtInput* in = input_at(entry))
          throw Error("output folder " + p.labels + " holds the input " + in->path + " under the name of the " +
                      structure->second.second + " mask (label " + std::to_string(structure->second.first) +
                      "); choose another output folder");
      }
      check_creatable(folder, "the masks folder");
      continue;  // the extras live inside the masks folder, written with it
    }
    for (const auto* file : {&p.labels, &p.dicom_seg, &p.rtstruct, &p.statistics, &p.preview, &p.record}) {
      if (file->empty()) continue;
      refuse_inputs(*file);
      check_writable_output(*file, replace_[i]);
      check_creatable(*file, "the output");
    }
  }
}

bool SegmentationWriter::needs_dicom_source() const {
  return has(options_.types, OutputType::dicom_seg) || has(options_.types, OutputType::rtstruct);
}

std::vector<std::string> SegmentationWriter::write(size_t index, const io::Volume& ct, const at::Tensor& all_labels,
                                                   int num_structures, const io::DicomSource* given_source) const {
  const OutputPaths& p = paths_.at(index);
  const auto& keep = options_.keep;
  const at::Tensor labels = keep.empty() ? all_labels : keep_labels(all_labels, keep);
  std::vector<int> ids = keep;
  if (ids.empty())
    for (int id = 1; id <= num_structures; ++id) ids.push_back(id);
  std::vector<std::string> notes;
  // The source series of the DICOM outputs, read before anything is written.
  std::optional<io::DicomSource> read_source;
  const io::DicomSource* source = given_source;
  if (needs_dicom_source() && !source) {
    read_source = io::read_dicom_source(inputs_.at(index).path);
    source = &*read_source;
  }
  if (source && !given_source) notes.insert(notes.end(), source->notes.begin(), source->notes.end());

  std::vector<StructureStatistics> statistics;
  if (!p.statistics.empty()) {
    statistics = compute_statistics(labels, ct, num_structures, names());
    if (!keep.empty()) {
      std::vector<StructureStatistics> chosen;
      for (const auto& s : statistics)
        if (std::find(keep.begin(), keep.end(), s.label) != keep.end()) chosen.push_back(s);
      statistics = std::move(chosen);
    }
  }
  RgbImage preview;
  if (!p.preview.empty()) {
    PreviewOptions preview_options;
    preview_options.names = names();
    for (const auto& label : options_.card_labels)
      if (label.color) preview_options.colours[label.value] = preview_colour(label.value, options_.card_labels);
    preview = render_preview(ct, labels, preview_options);
  }

  const auto write_extras = [&](const std::string& statistics_path, const std::string& preview_path) {
    if (!statistics_path.empty()) {
      const std::string text = statistics_json(statistics);
      write_file_atomically(statistics_path, text.data(), text.size());
    }
    if (!preview_path.empty()) write_png(preview_path, preview);
  };

  // The record: every output by its name in the record's folder (all of a case's files are there).
  const fs::path record_folder = fs::path(p.record).parent_path();
  detail::CaseRecord record{"writing",        inputs_.at(index).path, detail::input_fingerprint(inputs_.at(index)),
                            options_.run_key, SWINSMT_VERSION,        {}};
  const auto record_outputs = [&](const fs::path& folder, const std::vector<std::string>& files) {
    record.outputs.clear();
    for (const auto& file : files) {
      std::error_code ec;
      const auto bytes = fs::file_size(folder / file, ec);
      record.outputs[file] = ec ? -1 : static_cast<int64_t>(bytes);
    }
  };
  const auto name_of = [&](const std::string& file) {
    return fs::path(file).lexically_relative(record_folder).string();
  };

  if (options_.form == LabelOutput::label_map) {
    for (const auto* file : {&p.labels, &p.dicom_seg, &p.rtstruct, &p.statistics, &p.preview, &p.record}) {
      std::error_code ec;
      if (!file->empty() && fs::path(*file).has_parent_path())
        fs::create_directories(fs::path(*file).parent_path(), ec);
    }
    std::vector<std::string> files;
    for (const auto* file : {&p.labels, &p.dicom_seg, &p.rtstruct, &p.statistics, &p.preview})
      if (!file->empty()) files.push_back(name_of(*file));
    // First marked as swinsmt's and unfinished, so a run interrupted among the files may replace them.
    record_outputs(record_folder, files);
    detail::write_case_record(p.record, record);
    // A write that fails part way removes what it put in place and its record: nothing partial stays.
    try {
      if (!p.labels.empty()) io::write_nifti(p.labels, labels, ct.geometry);
      std::map<int, io::SegmentDescription> structures;
      if (!p.dicom_seg.empty() || !p.rtstruct.empty())
        for (int id : ids) {
          const auto it = descriptions_.find(id);
          structures.emplace(id, it != descriptions_.end()
                                     ? it->second
                                     : describe_label(id, label_name(id, names()), options_.card_labels));
        }
      if (!p.dicom_seg.empty()) {
        const auto seg_notes = io::write_dicom_seg(p.dicom_seg, *source, labels, structures, options_.dicom);
        notes.insert(notes.end(), seg_notes.begin(), seg_notes.end());
      }
      if (!p.rtstruct.empty()) {
        const auto rt_notes = io::write_rtstruct(p.rtstruct, *source, labels, structures, options_.dicom);
        notes.insert(notes.end(), rt_notes.begin(), rt_notes.end());
      }
      write_extras(p.statistics, p.preview);
    } catch (...) {
      std::error_code ec;
      for (const auto* file : {&p.labels, &p.dicom_seg, &p.rtstruct, &p.statistics, &p.preview, &p.record})
        if (!file->empty()) fs::remove(*file, ec);
      throw;
    }
    record.status = "done";
    record_outputs(record_folder, files);
    detail::write_case_record(p.record, record);
    return notes;
  }
  // Masks: written into a temporary sibling folder first. A new folder is that folder renamed into
  // place, so it only ever appears complete; into an existing one (with overwrite) each file is
  // moved over its namesake, and nothing else in the folder is touched.
  const fs::path target(p.labels);
  const fs::path temp = target.string() + ".partial" + std::to_string(::getpid());
  std::error_code ec;
  if (target.has_parent_path()) fs::create_directories(target.parent_path(), ec);
  fs::remove_all(temp, ec);
  if (!fs::create_directories(temp, ec) || ec)
    throw Error("cannot create the folder " + temp.string() + " (to write " + p.labels + "): " + ec.message());
  try {
    for (int id : ids)
      io::write_nifti((temp / (label_name(id, names()) + ".nii.gz")).string(), labels.eq(id).to(at::kByte),
                      ct.geometry);
    write_extras(p.statistics.empty() ? "" : (temp / "statistics.json").string(),
                 p.preview.empty() ? "" : (temp / "preview.png").string());
    // Everything in the temporary folder is what this write made; the record lists it.
    std::vector<std::string> written;
    for (const auto& entry : fs::directory_iterator(temp)) written.push_back(entry.path().filename().string());
    std::sort(written.begin(), written.end());
    const std::string record_name = fs::path(p.record).filename().string();
    record.status = "done";
    record_outputs(temp, written);
    detail::write_case_record((temp / record_name).string(), record);
    if (!fs::exists(target)) {
      fs::rename(temp, target);
      return notes;
    }
    if (!replace_.at(index)) throw Error(p.labels + " already exists; pass --overwrite to replace it");
    if (!fs::is_directory(target))
      throw Error("output " + p.labels + " is a file; with --masks the output is a folder");
    // Into the existing folder: marked as swinsmt's and unfinished first, the finished record last.
    detail::CaseRecord writing = record;
    writing.status = "writing";
    detail::write_case_record(p.record, writing);
    for (const auto& file : written) fs::rename(temp / file, target / file);
    fs::rename(temp / record_name, target / record_name);
    fs::remove(temp);
  } catch (...) {
    fs::remove_all(temp, ec);
    throw;
  }
  return notes;
}

}  // namespace swinsmt
