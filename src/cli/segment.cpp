// `swinsmt segment`: CT volumes (NIfTI files, DICOM series folders, or folders of them) to label maps,
// with optional per-structure masks, statistics and a PNG preview. Weights are loaded once.

#include "commands.hpp"
#include "progress.hpp"

#include <swinsmt/error.hpp>
#include <swinsmt/file_io.hpp>
#include <swinsmt/io/dicom.hpp>
#include <swinsmt/io/nifti.hpp>
#include <swinsmt/labels.hpp>
#include <swinsmt/load.hpp>
#include <swinsmt/preview.hpp>
#include <swinsmt/segment.hpp>
#include <swinsmt/statistics.hpp>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <chrono>
#include <filesystem>
#include <iostream>
#include <set>

namespace swinsmt::cli {
namespace {

namespace fs = std::filesystem;

struct SegmentArgs {
  std::vector<std::string> inputs;
  std::string output, weights, device = "cpu", dtype = "float32", blend = "gaussian", spacing = "1.5";
  std::string merging = "merging";
  std::vector<int64_t> roi{128};
  std::vector<double> hu_window{-1024, 1024};
  std::vector<std::string> roi_subset;
  double overlap = 0.5;
  int threads = 0;
  int64_t sw_batch = 1;
  bool ml = false, masks = false, statistics = false, preview = false, quiet = false, overwrite = false,
       no_normalize = false;
};

/// One volume to segment and where its results go.
struct Case {
  std::string input;  // NIfTI file or DICOM folder
  bool dicom = false;
  std::string name;                 // for messages and multi-input output names
  std::string labels;               // --ml: the label map file; --masks: the folder
  std::string statistics, preview;  // empty when not asked for
};

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool is_nifti_name(const std::string& name) { return ends_with(name, ".nii") || ends_with(name, ".nii.gz"); }

std::string case_name(const fs::path& input) {
  std::string name = input.filename().string();
  if (name.empty()) name = input.parent_path().filename().string();  // "folder/"
  for (const char* suffix : {".nii.gz", ".nii"})
    if (ends_with(name, suffix)) return name.substr(0, name.size() - std::string(suffix).size());
  return name;
}

/// Expands -i values: a NIfTI file, a DICOM series folder, or a folder of NIfTI files and series folders.
std::vector<Case> expand_inputs(const std::vector<std::string>& inputs) {
  std::vector<Case> cases;
  for (const auto& input : inputs) {
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

/// Decides every output path before anything runs, so that a clash or an existing file is reported
/// before minutes of inference.
void plan_outputs(std::vector<Case>& cases, const SegmentArgs& args) {
  const fs::path out(args.output);
  if (cases.size() == 1) {
    Case& c = cases[0];
    if (args.masks) {
      c.labels = out.string();
      if (args.statistics) c.statistics = (out / "statistics.json").string();
      if (args.preview) c.preview = (out / "preview.png").string();
    } else {
      if (!is_nifti_name(out.filename().string()))
        throw Error("output " + args.output +
                    " must be a NIfTI file name ending in .nii.gz or .nii (with --masks, a folder)");
      c.labels = out.string();
      // As TotalSegmentator: the extras go beside the multilabel file.
      const fs::path folder = out.has_parent_path() ? out.parent_path() : fs::path(".");
      if (args.statistics) c.statistics = (folder / "statistics.json").string();
      if (args.preview) c.preview = (folder / "preview.png").string();
    }
    return;
  }
  if (is_nifti_name(out.filename().string()))
    throw Error("output " + args.output + " must be a folder when segmenting " + std::to_string(cases.size()) +
                " volumes");
  std::set<std::string> names;
  for (Case& c : cases) {
    if (!names.insert(c.name).second)
      throw Error("two inputs are both named \"" + c.name + "\"; their outputs in " + args.output + " would clash");
    if (args.masks) {
      c.labels = (out / c.name).string();
      if (args.statistics) c.statistics = (out / c.name / "statistics.json").string();
      if (args.preview) c.preview = (out / c.name / "preview.png").string();
    } else {
      c.labels = (out / (c.name + ".nii.gz")).string();
      if (args.statistics) c.statistics = (out / (c.name + "_statistics.json")).string();
      if (args.preview) c.preview = (out / (c.name + "_preview.png")).string();
    }
  }
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

void check_outputs(const std::vector<Case>& cases, const SegmentArgs& args) {
  for (const Case& c : cases) {
    if (!args.masks) {
      check_writable_output(c.labels, args.overwrite);
      prepare_folder_for(c.labels);
    } else {
      check_writable_output(c.labels, args.overwrite);
      prepare_folder_for((fs::path(c.labels).parent_path() / ".swinsmt_probe").string());
    }
    for (const auto* extra : {&c.statistics, &c.preview})
      if (!extra->empty() && !args.masks) {
        check_writable_output(*extra, args.overwrite);
        prepare_folder_for(*extra);
      }
  }
}

/// Writes the masks into a temporary sibling folder and renames it into place, so the folder only
/// ever appears complete.
void write_masks(const Case& c, const at::Tensor& labels, const io::NiftiGeometry& geometry,
                 const std::vector<int>& ids, const std::vector<StructureStatistics>* statistics,
                 const RgbImage* preview, bool overwrite) {
  const fs::path target(c.labels);
  const fs::path temp = target.string() + ".partial" + std::to_string(::getpid());
  std::error_code ec;
  fs::remove_all(temp, ec);
  if (!fs::create_directories(temp, ec) || ec)
    throw Error("cannot create the folder " + temp.string() + " (to write " + c.labels + "): " + ec.message());
  try {
    for (int id : ids)
      io::write_nifti((temp / (label_name(id) + ".nii.gz")).string(), labels.eq(id).to(at::kByte), geometry);
    if (statistics) {
      const std::string text = statistics_json(*statistics);
      write_file_atomically((temp / "statistics.json").string(), text.data(), text.size());
    }
    if (preview) write_png((temp / "preview.png").string(), *preview);
    if (fs::exists(target)) {
      if (!overwrite) throw Error(c.labels + " already exists; pass --overwrite to replace it");
      fs::remove_all(target);
    }
    fs::rename(temp, target);
  } catch (...) {
    fs::remove_all(temp, ec);
    throw;
  }
}

void run_segment(const SegmentArgs& args) {
  const auto started = std::chrono::steady_clock::now();
  if (args.ml && args.masks) throw Error("--ml and --masks exclude each other");
  if (args.hu_window.size() != 2) throw Error("--hu-window takes two values, MIN MAX");
  if (args.threads < 0) throw Error("--threads must be positive, got " + std::to_string(args.threads));

  SegmentOptions options;
  options.roi_size = args.roi;
  options.overlap = args.overlap;
  options.blend = parse_blend_mode(args.blend);
  options.sw_batch_size = args.sw_batch;
  options.hu_min = args.hu_window[0];
  options.hu_max = args.hu_window[1];
  if (args.spacing == "native") {
    options.spacing = c10::nullopt;
  } else {
    try {
      size_t used = 0;
      options.spacing = std::stod(args.spacing, &used);
      if (used != args.spacing.size()) throw std::invalid_argument(args.spacing);
    } catch (const std::exception&) {
      throw Error("--spacing must be a number of mm or \"native\", got \"" + args.spacing + "\"");
    }
  }
  // Fail fast on everything that does not need the weights: options, names, inputs, outputs.
  options = validated(options);
  const std::vector<int> subset = label_ids(args.roi_subset);
  auto cases = expand_inputs(args.inputs);
  plan_outputs(cases, args);
  check_outputs(cases, args);
  if (args.threads > 0) at::set_num_threads(args.threads);

  LoadOptions load_options;
  load_options.config.downsample = parse_merging(args.merging);
  load_options.config.normalize = !args.no_normalize;
  load_options.device = parse_device(args.device);
  load_options.dtype = parse_dtype(args.dtype);
  auto loaded = load(args.weights, load_options);
  const int out_channels = static_cast<int>(loaded.config.out_channels());
  for (int id : subset)
    if (id >= out_channels)
      throw Error("structure " + label_name(id) + " (label " + std::to_string(id) + ") is not among the " +
                  std::to_string(out_channels - 1) + " structures of " + args.weights);
  Segmenter segmenter(std::move(loaded), options);
  std::vector<int> kept = subset;
  if (kept.empty())
    for (int id = 1; id < out_channels; ++id) kept.push_back(id);

  ProgressBar bar(!args.quiet);
  for (size_t n = 0; n < cases.size(); ++n) {
    const Case& c = cases[n];
    const io::Volume ct = c.dicom ? io::read_dicom_series(c.input) : io::read_nifti(c.input);
    bar.start(cases.size() > 1 ? c.name + " (" + std::to_string(n + 1) + "/" + std::to_string(cases.size()) + ")"
                               : c.name);
    Segmentation result = segmenter.segment(ct, [&](int64_t done, int64_t total) { bar.update(done, total); });
    bar.finish();
    at::Tensor labels = subset.empty() ? result.labels : keep_labels(result.labels, subset);

    std::vector<StructureStatistics> statistics;
    if (!c.statistics.empty()) {
      statistics = compute_statistics(labels, ct, out_channels - 1);
      if (!subset.empty()) {
        std::vector<StructureStatistics> chosen;
        for (const auto& s : statistics)
          if (std::find(subset.begin(), subset.end(), s.label) != subset.end()) chosen.push_back(s);
        statistics = std::move(chosen);
      }
    }
    RgbImage preview;
    if (!c.preview.empty()) preview = render_preview(ct, labels);

    if (args.masks) {
      write_masks(c, labels, ct.geometry, kept, c.statistics.empty() ? nullptr : &statistics,
                  c.preview.empty() ? nullptr : &preview, args.overwrite);
    } else {
      io::write_nifti(c.labels, labels, ct.geometry);
      if (!c.statistics.empty()) {
        const std::string text = statistics_json(statistics);
        write_file_atomically(c.statistics, text.data(), text.size());
      }
      if (!c.preview.empty()) write_png(c.preview, preview);
    }
    if (!args.quiet) {
      const auto& g = result.model_grid;
      std::cerr << "swinsmt: " << c.input << " (" << result.input_axis_codes << ", " << ct.data.size(0) << " x "
                << ct.data.size(1) << " x " << ct.data.size(2) << ") -> " << c.labels << ": " << result.windows
                << (result.windows == 1 ? " window" : " windows") << " on a " << g[0] << " x " << g[1] << " x " << g[2]
                << " grid, " << static_cast<int>(result.seconds * 10) / 10.0 << " s\n";
    }
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::cerr << "swinsmt: segmented " << cases.size() << (cases.size() == 1 ? " volume" : " volumes") << " in "
            << static_cast<long long>(seconds * 10) / 10.0 << " s, peak memory " << format_bytes(peak_rss_bytes())
            << "\n";
}

}  // namespace

void add_segment_command(CLI::App& app) {
  auto args = std::make_shared<SegmentArgs>();
  auto* cmd = app.add_subcommand("segment", "Segment the 117 TotalSegmentator-v2 structures in CT volumes");
  cmd->add_option("--input,-i", args->inputs,
                  "CT: NIfTI file (.nii, .nii.gz), DICOM series folder, or a folder of them (repeatable)")
      ->required();
  cmd->add_option("--output,-o", args->output,
                  "Label map file (.nii.gz); with --masks a folder; with several inputs a folder")
      ->required();
  cmd->add_option("--weights,-w", args->weights, "Checkpoint (.pth, .ckpt, .safetensors)")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--device", args->device, "cpu, cuda or cuda:N")->capture_default_str();
  cmd->add_option("--dtype", args->dtype, "Network precision: float32, float16 or bfloat16")
      ->check(CLI::IsMember({"float32", "float16", "bfloat16"}))
      ->capture_default_str();
  cmd->add_option("--roi", args->roi, "Sliding-window size: one value or three (each >= 64, divisible by 32)")
      ->expected(1, 3)
      ->capture_default_str();
  cmd->add_option("--overlap", args->overlap, "Window overlap in [0, 1)")->capture_default_str();
  cmd->add_option("--blend", args->blend, "Window blending")
      ->check(CLI::IsMember({"gaussian", "constant"}))
      ->capture_default_str();
  cmd->add_option("--spacing", args->spacing, "Model voxel size in mm, or \"native\" to keep the input grid")
      ->capture_default_str();
  cmd->add_option("--hu-window", args->hu_window, "HU range mapped to [0, 1] (clipped)")
      ->expected(2)
      ->capture_default_str();
  cmd->add_flag("--ml", args->ml, "Write one multilabel NIfTI (the default)");
  cmd->add_flag("--masks", args->masks, "Write a folder with one <structure>.nii.gz per structure");
  cmd->add_option("--roi-subset", args->roi_subset, "Keep only these structures (names as in the label table)")
      ->expected(1, -1);
  cmd->add_flag("--statistics", args->statistics, "Write statistics.json: volume (mm^3) and mean HU per structure");
  cmd->add_flag("--preview", args->preview, "Write preview.png: axial, coronal and sagittal slices with the labels");
  cmd->add_option("--threads", args->threads, "CPU threads for LibTorch (default: its own choice)");
  cmd->add_option("--sw-batch", args->sw_batch, "Windows per network call")->capture_default_str();
  cmd->add_option("--merging", args->merging, "Patch merging version the weights were trained with")
      ->check(CLI::IsMember({"merging", "mergingv2"}))
      ->capture_default_str();
  cmd->add_flag("--no-normalize", args->no_normalize, "Model was built with normalize=False");
  cmd->add_flag("--quiet,-q", args->quiet, "No progress bar or per-volume lines");
  cmd->add_flag("--overwrite", args->overwrite, "Replace existing outputs");
  cmd->callback([args] { run_segment(*args); });
}

}  // namespace swinsmt::cli
