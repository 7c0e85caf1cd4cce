// `swinsmt segment`: CT volumes (NIfTI files, DICOM series folders, or folders of them) to label maps,
// with optional per-structure masks, statistics and a PNG preview. Weights are loaded once.

#include "commands.hpp"
#include "progress.hpp"

#include <swinsmt/checkpoint/load.hpp>
#include <swinsmt/error.hpp>
#include <swinsmt/pipeline/labels.hpp>
#include <swinsmt/pipeline/segment.hpp>
#include <swinsmt/pipeline/segmentation_writer.hpp>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <chrono>
#include <iostream>

namespace swinsmt::cli {
namespace {

struct SegmentArgs {
  std::vector<std::string> inputs;
  std::string output, weights, blend = "gaussian", spacing = "1.5";
  ModelArgs model;
  std::vector<int64_t> roi{128};
  std::vector<double> hu_window{-1024, 1024};
  std::vector<std::string> roi_subset;
  double overlap = 0.5;
  int threads = 0;
  int64_t sw_batch = 1;
  bool ml = false, masks = false, statistics = false, preview = false, quiet = false, overwrite = false;
};

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
  const auto cases = find_ct_inputs(args.inputs);
  WriterOptions writer_options;
  writer_options.form = args.masks ? LabelOutput::masks : LabelOutput::label_map;
  writer_options.statistics = args.statistics;
  writer_options.preview = args.preview;
  writer_options.overwrite = args.overwrite;
  writer_options.keep = subset;
  const SegmentationWriter writer(args.output, cases, writer_options);
  if (args.threads > 0) at::set_num_threads(args.threads);

  auto loaded = load(args.weights, args.model.load_options());
  const int out_channels = static_cast<int>(loaded.config.out_channels());
  for (int id : subset)
    if (id >= out_channels)
      throw Error("structure " + label_name(id) + " (label " + std::to_string(id) + ") is not among the " +
                  std::to_string(out_channels - 1) + " structures of " + args.weights);
  Segmenter segmenter(std::move(loaded), options);

  ProgressBar bar(!args.quiet);
  for (size_t n = 0; n < cases.size(); ++n) {
    const CtInput& c = cases[n];
    const io::Volume ct = read_ct(c);
    bar.start(cases.size() > 1 ? c.name + " (" + std::to_string(n + 1) + "/" + std::to_string(cases.size()) + ")"
                               : c.name);
    Segmentation result = segmenter.segment(ct, [&](int64_t done, int64_t total) { bar.update(done, total); });
    bar.finish();
    writer.write(n, ct, result.labels, out_channels - 1);
    if (!args.quiet) {
      const auto& g = result.model_grid;
      std::cerr << "swinsmt: " << c.path << " (" << result.input_axis_codes << ", " << ct.data.size(0) << " x "
                << ct.data.size(1) << " x " << ct.data.size(2) << ") -> " << writer.paths(n).labels << ": "
                << result.windows << (result.windows == 1 ? " window" : " windows") << " on a " << g[0] << " x " << g[1]
                << " x " << g[2] << " grid, " << static_cast<int>(result.seconds * 10) / 10.0 << " s\n";
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
  add_device_options(*cmd, args->model);
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
  add_configuration_options(*cmd, args->model);
  cmd->add_flag("--quiet,-q", args->quiet, "No progress bar or per-volume lines");
  cmd->add_flag("--overwrite", args->overwrite, "Replace existing outputs");
  cmd->callback([args] { run_segment(*args); });
}

}  // namespace swinsmt::cli
