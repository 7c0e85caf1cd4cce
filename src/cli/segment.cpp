// `swinsmt segment`: CT volumes (NIfTI files, DICOM series folders, or folders of them) to label maps,
// with optional per-structure masks, statistics and a PNG preview. Weights are loaded once.

#include "card_defaults.hpp"
#include "commands.hpp"
#include "common/sha256.hpp"
#include "common/stopwatch.hpp"
#include "common/strings.hpp"
#include "progress.hpp"
#include "run_report.hpp"
#include "stop_signals.hpp"

#include <swinsmt/checkpoint/load.hpp>
#include <swinsmt/error.hpp>
#include <swinsmt/io/dicom_source.hpp>
#include <swinsmt/pipeline/labels.hpp>
#include <swinsmt/pipeline/preprocess.hpp>
#include <swinsmt/pipeline/segment.hpp>
#include <swinsmt/pipeline/segmentation_writer.hpp>
#include <swinsmt/pipeline/shard.hpp>
#include <swinsmt/version.hpp>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <unistd.h>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <optional>
#include <sstream>

namespace swinsmt::cli {
namespace {

struct SegmentArgs {
  std::vector<std::string> inputs;
  std::string output, weights, card, blend = "gaussian", crop = "none", temp_dir, shard, report;
  const CLI::App* command = nullptr;  ///< to tell the flags given from the defaults (card_defaults.hpp)
  std::optional<int64_t> shard_count;
  std::vector<std::string> spacing{"1.5"};
  std::optional<double> nan_as;
  ModelArgs model;
  std::vector<int64_t> roi{128};
  std::vector<double> hu_window{-1024, 1024};
  std::vector<std::string> roi_subset;
  std::vector<std::string> output_types{"nifti"};
  double overlap = 0.5;
  int threads = 0;
  int64_t sw_batch = 1;
  int64_t accumulator_memory = SegmentOptions{}.accumulator_memory_mib;
  bool ml = false, masks = false, statistics = false, preview = false, quiet = false, overwrite = false;
};

struct Interrupted {
  int signal;
};

/// Seconds to one decimal ("12.3").
std::string tenths(double seconds) {
  std::ostringstream out;
  out << std::fixed << std::setprecision(1) << seconds;
  return out.str();
}

/// A case's label map files, comma-separated.
std::string output_list(const OutputPaths& p) {
  std::string out;
  for (const auto* file : {&p.labels, &p.dicom_seg, &p.rtstruct})
    if (!file->empty()) out += (out.empty() ? "" : ", ") + *file;
  return out;
}

void throw_if_interrupted() {
  if (const int signal = stop_signal_received()) throw Interrupted{signal};
}

c10::optional<std::array<double, 3>> parse_spacing(const std::vector<std::string>& values) {
  if (values.size() == 1 && values[0] == "native") return c10::nullopt;
  if (values.size() != 1 && values.size() != 3)
    throw Error("--spacing takes one value, three (x y z) or \"native\", got " + std::to_string(values.size()));
  std::array<double, 3> mm{};
  for (size_t i = 0; i < 3; ++i) {
    const std::string& text = values[values.size() == 1 ? 0 : i];
    try {
      size_t used = 0;
      mm[i] = std::stod(text, &used);
      if (used != text.size()) throw std::invalid_argument(text);
    } catch (const std::exception&) {
      throw Error("--spacing must be a number of mm or \"native\" (one value, or three: x y z), got \"" + text + "\"");
    }
  }
  return mm;
}

void run_segment(const SegmentArgs& args) {
  const auto started = std::chrono::steady_clock::now();
  if (args.ml && args.masks) throw Error("--ml and --masks exclude each other");
  if (args.hu_window.size() != 2) throw Error("--hu-window takes two values, MIN MAX");
  if (args.threads < 0) throw Error("--threads must be positive, got " + std::to_string(args.threads));
  if (args.nan_as && !std::isfinite(*args.nan_as))
    throw Error("--nan-as must be a finite HU value, got " + std::to_string(*args.nan_as));

  SegmentOptions options;
  options.roi_size = args.roi;
  options.overlap = args.overlap;
  options.blend = parse_blend_mode(args.blend);
  options.sw_batch_size = args.sw_batch;
  options.hu_min = args.hu_window[0];
  options.hu_max = args.hu_window[1];
  options.spacing = parse_spacing(args.spacing);
  options.crop_body = args.crop == "body";
  options.accumulator_memory_mib = args.accumulator_memory;
  options.temp_dir = args.temp_dir;
  // The model card's settings wherever no flag was given.
  const std::optional<ModelCard> card = model_card_for(args.weights, args.card);
  options = apply_model_card(card, options, *args.command, args.weights);
  const LabelTable names = run_label_names(card);
  // Fail fast on everything that does not need the weights: options, names, inputs, outputs.
  options = validated(options);
  const std::vector<int> subset = label_ids(args.roi_subset, names);
  std::vector<CtInput> cases = find_ct_inputs(args.inputs);
  // A shard of the batch: from --shard, else from a Slurm job array or a Kubernetes Indexed Job.
  if (!args.shard.empty() && args.shard_count)
    throw Error("--shard I/N names the number of shards itself; --shard-count is for JOB_COMPLETION_INDEX");
  const std::optional<Shard> shard =
      !args.shard.empty()
          ? std::optional<Shard>(parse_shard(args.shard))
          : shard_from_environment(args.shard_count, [](const char* name) { return std::getenv(name); });
  std::optional<std::vector<size_t>> selected;
  if (shard) {
    // Every shard must see the same order: the cases sorted by path.
    std::stable_sort(cases.begin(), cases.end(), [](const CtInput& a, const CtInput& b) { return a.path < b.path; });
    selected = shard_cases(cases.size(), *shard);
    std::cerr << "swinsmt: shard " << shard->index << "/" << shard->count
              << (shard->source == "--shard" ? "" : " (from " + shard->source + ")") << ": " << selected->size()
              << " of " << cases.size() << " volumes\n";
  }
  // What decides the labels besides the input: recorded with every finished case, so a rerun skips
  // only what this checkpoint and these settings made.
  const std::string checkpoint_sha256 = sha256_of_file(args.weights);
  std::ostringstream run_key;
  run_key << "checkpoint sha256 " << checkpoint_sha256 << "; roi " << detail::join(options.roi_size, " ")
          << "; overlap " << options.overlap << "; blend "
          << (options.blend == BlendMode::gaussian ? "gaussian" : "constant") << "; spacing "
          << (options.spacing ? detail::join(std::vector<double>(options.spacing->begin(), options.spacing->end()), " ")
                              : std::string("native"))
          << "; hu " << options.hu_min << " " << options.hu_max << "; crop " << args.crop << "; nan-as "
          << (args.nan_as ? std::to_string(*args.nan_as) : "none") << "; dtype " << args.model.dtype << "; merging "
          << args.model.merging << (args.model.no_normalize ? "; no-normalize" : "") << "; "
          << (args.masks ? "masks" : "label map") << "; subset " << detail::join(subset, ",") << "; statistics "
          << args.statistics << "; preview " << args.preview << "; outputs " << detail::join(args.output_types, ",")
          << "; " << card_run_key(card, options);
  WriterOptions writer_options;
  writer_options.form = args.masks ? LabelOutput::masks : LabelOutput::label_map;
  writer_options.types.clear();
  for (const auto& type : args.output_types) writer_options.types.push_back(parse_output_type(type));
  writer_options.dicom.algorithm_version = SWINSMT_VERSION;
  writer_options.dicom.checkpoint_name = std::filesystem::path(args.weights).filename().string();
  writer_options.dicom.checkpoint_sha256 = checkpoint_sha256;
  writer_options.statistics = args.statistics;
  writer_options.preview = args.preview;
  writer_options.overwrite = args.overwrite;
  writer_options.keep = subset;
  writer_options.names = names;
  if (card) writer_options.card_labels = card->labels;  // their codes and colours: DICOM outputs, preview
  writer_options.cases = selected;
  writer_options.run_key = run_key.str();
  const SegmentationWriter writer(args.output, cases, writer_options);
  std::vector<size_t> todo, skipped;
  for (size_t n : writer.cases()) (writer.finished(n) ? skipped : todo).push_back(n);
  // A batch reports into its output folder unless told otherwise; one volume only when asked.
  std::string report_path = args.report;
  if (report_path.empty() && cases.size() > 1)
    report_path = (std::filesystem::path(args.output).lexically_normal() / "swinsmt_report.jsonl").string();
  std::optional<RunReport> report;
  if (!report_path.empty()) report.emplace(report_path);
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  // A case's report line; with the time it started, also its seconds and the peak memory so far.
  const auto report_line = [&](size_t n, const std::string& status,
                               std::optional<std::chrono::steady_clock::time_point> case_started = std::nullopt) {
    const OutputPaths& p = writer.paths(n);
    nlohmann::json outputs = nlohmann::json::array();
    for (const auto* file : {&p.labels, &p.dicom_seg, &p.rtstruct, &p.statistics, &p.preview, &p.record})
      if (!file->empty()) outputs.push_back(*file);
    nlohmann::json line{
        {"input", cases[n].path},
        {"outputs", outputs},
        {"status", status},
        {"swinsmt", SWINSMT_VERSION},
        {"checkpoint", args.weights},
        {"checkpoint_sha256", checkpoint_sha256},
        {"shard", shard ? std::to_string(shard->index) + "/" + std::to_string(shard->count) : std::string("0/1")},
        {"host", host}};
    if (case_started) {
      line["seconds"] = std::round(detail::seconds_since(*case_started) * 10) / 10;
      line["peak_rss_mb"] = peak_rss_bytes() >> 20;
    }
    return line;
  };
  for (size_t n : skipped) {
    if (!args.quiet) std::cerr << "swinsmt: " << cases[n].path << ": finished by an earlier run, skipped\n";
    if (report) report->add(report_line(n, "skipped"));
  }
  const int threads = set_threads(args.threads);

  // Nothing left to do (a rerun of a finished shard): the weights are not even loaded.
  if (todo.empty()) {
    std::cerr << "swinsmt: segmented 0 volumes"
              << (skipped.empty() ? "" : "; " + std::to_string(skipped.size()) + " finished before, skipped") << "\n";
    return;
  }
  LoadOptions load_options = args.model.load_options();
  if (!args.card.empty()) load_options.card = card, load_options.card_source = args.card;
  auto loaded = load(args.weights, load_options);
  const int out_channels = static_cast<int>(loaded.config.out_channels());
  for (int id : subset)
    if (id >= out_channels)
      throw Error("structure " + label_name(id, names) + " (label " + std::to_string(id) + ") is not among the " +
                  std::to_string(out_channels - 1) + " structures of " + args.weights);
  Segmenter segmenter(std::move(loaded), options);
  if (!args.quiet)
    std::cerr << "swinsmt: " << todo.size() << (todo.size() == 1 ? " volume" : " volumes") << ", " << threads
              << (threads == 1 ? " thread\n" : " threads\n");

  const StopSignals stop_signals;
  std::vector<std::string> failed;
  size_t done = 0;
  ProgressBar bar(!args.quiet);
  try {
    for (size_t k = 0; k < todo.size(); ++k) {
      throw_if_interrupted();
      const size_t n = todo[k];
      const CtInput& c = cases[n];
      const auto case_started = std::chrono::steady_clock::now();
      // One bad case never stops the others: it is reported, the run goes on, the exit status says so.
      try {
        const auto read_started = std::chrono::steady_clock::now();
        io::Volume ct = read_ct(c);
        // What the DICOM outputs reference, read (and checked) before the minutes of inference.
        std::optional<io::DicomSource> source;
        if (writer.needs_dicom_source()) source = io::read_dicom_source(c.path);
        const double read_seconds = detail::seconds_since(read_started);
        for (const auto& warning : ct.warnings) std::cerr << "swinsmt: warning: " << warning << "\n";
        if (source)
          for (const auto& note : source->notes) std::cerr << "swinsmt: " << note << "\n";
        if (args.nan_as) {
          const int64_t replaced = replace_non_finite(ct.data, *args.nan_as);
          if (replaced > 0)
            std::cerr << "swinsmt: " << c.path << ": " << replaced << " NaN or infinite voxels set to " << *args.nan_as
                      << " HU (--nan-as)\n";
        }
        bar.start(todo.size() > 1 ? c.name + " (" + std::to_string(k + 1) + "/" + std::to_string(todo.size()) + ")"
                                  : c.name);
        const std::vector<int64_t> ct_shape = ct.data.sizes().vec();
        const auto on_window = [&](int64_t windows_done, int64_t total) {
          throw_if_interrupted();
          bar.update(windows_done, total);
        };
        // Statistics and the preview read the CT's voxels after segmenting; otherwise they are freed
        // once resampled (a whole-body CT's 0.5 GB less at the peak).
        const bool keep_voxels = args.statistics || args.preview;
        Segmentation result =
            keep_voxels ? segmenter.segment(ct, on_window) : segmenter.segment(std::move(ct), on_window);
        bar.finish();
        const auto write_started = std::chrono::steady_clock::now();
        const auto notes = writer.write(n, ct, result.labels, out_channels - 1, source ? &*source : nullptr);
        for (const auto& note : notes) std::cerr << "swinsmt: " << note << "\n";
        const double write_seconds = detail::seconds_since(write_started);
        ++done;
        auto line = report_line(n, "done", case_started);
        line["windows"] = result.windows;
        if (report) report->add(line);
        if (!args.quiet) {
          const auto& g = result.model_grid;
          std::cerr << "swinsmt: " << c.path << " (" << result.input_axis_codes << ", " << ct_shape[0] << " x "
                    << ct_shape[1] << " x " << ct_shape[2] << ") -> " << output_list(writer.paths(n)) << ": "
                    << result.windows << (result.windows == 1 ? " window" : " windows") << " on a " << g[0] << " x "
                    << g[1] << " x " << g[2] << " grid, " << static_cast<int>(result.seconds * 10) / 10.0 << " s\n";
          const auto& t = result.times;
          std::cerr << "swinsmt:   seconds: read " << tenths(read_seconds) << ", preprocessing "
                    << tenths(t.preprocessing) << ", network " << tenths(t.network) << ", aggregation + argmax "
                    << tenths(t.aggregation) << ", back to the input grid " << tenths(t.back_to_input) << ", writing "
                    << tenths(write_seconds) << "\n";
        }
      } catch (const std::exception& e) {  // Interrupted is no std::exception: it ends the run below
        bar.finish();
        failed.push_back(c.path);
        // swinsmt::Error names the file itself; LibTorch's and the standard library's do not.
        const std::string message = (dynamic_cast<const Error*>(&e) ? "" : c.path + ": ") + current_error_message();
        std::cerr << "swinsmt: error: " << message << "\n";
        auto line = report_line(n, "failed", case_started);
        line["error"] = message;
        if (report) report->add(line);
      }
    }
  } catch (const Interrupted& interrupted) {
    bar.finish();
    std::cerr << "swinsmt: interrupted by " << (interrupted.signal == SIGINT ? "SIGINT" : "SIGTERM") << " after "
              << done << " of " << todo.size() << (todo.size() == 1 ? " volume" : " volumes")
              << "; finished outputs are complete, nothing partial was left; run the same command again to do the "
                 "rest\n";
    exit_status() = kExitInterrupted + interrupted.signal;
    return;
  }
  const double seconds = detail::seconds_since(started);
  std::cerr << "swinsmt: segmented "
            << (done == todo.size() ? std::to_string(done)
                                    : std::to_string(done) + " of " + std::to_string(todo.size()))
            << (todo.size() == 1 ? " volume" : " volumes") << " in " << static_cast<long long>(seconds * 10) / 10.0
            << " s, peak memory " << format_bytes(peak_rss_bytes())
            << (skipped.empty() ? "" : "; " + std::to_string(skipped.size()) + " finished before, skipped")
            << (report ? "; report " + report->path() : "") << "\n";
  if (!failed.empty()) {
    std::cerr << "swinsmt: " << failed.size() << " of " << todo.size() << " failed:";
    for (const auto& f : failed) std::cerr << " " << f;
    std::cerr << "\n";
    // Nothing segmented is an error like any other; some cases written is a status of its own.
    exit_status() = done == 0 ? 1 : kExitSomeFailed;
  }
}

}  // namespace

void add_segment_command(CLI::App& app) {
  auto args = std::make_shared<SegmentArgs>();
  auto* cmd = app.add_subcommand("segment",
                                 "Segment CT volumes into the structures of the model card (without one: the 117 "
                                 "TotalSegmentator-v2 structures)");
  args->command = cmd;
  cmd->add_option("--input,-i", args->inputs,
                  "CT: NIfTI file (.nii, .nii.gz), DICOM series folder, a folder of them, or @FILE listing one "
                  "per line (repeatable)")
      ->required();
  cmd->add_option("--output,-o", args->output,
                  "Label map file (.nii.gz; .dcm for a DICOM --output-type); with --masks, several inputs or "
                  "several output types a folder")
      ->required();
  cmd->add_option("--output-type", args->output_types,
                  "What the label map is written as (repeatable): nifti, dicom-seg (DICOM SEG), rtstruct (DICOM "
                  "RT Structure Set); the DICOM types reference the source series, so they need DICOM inputs. "
                  "With several, each case's folder holds seg.nii.gz, seg.dcm, rtstruct.dcm")
      ->check(CLI::IsMember({"nifti", "dicom-seg", "rtstruct"}))
      ->take_all()
      ->capture_default_str();
  cmd->add_option("--weights,-w", args->weights, "Checkpoint (.pth, .ckpt, .safetensors)")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--card", args->card,
                  "Model card (JSON, docs/model-card.md) for weights without one, or instead of theirs; its "
                  "settings are the defaults of --spacing, --hu-window, --roi, --overlap, --blend")
      ->check(CLI::ExistingFile);
  add_device_options(*cmd, args->model);
  cmd->add_option("--roi", args->roi,
                  "Sliding-window size: one value or three (each >= 64, divisible by 32; default: the model card's, "
                  "else 128)")
      ->expected(1, 3);
  cmd->add_option("--overlap", args->overlap, "Window overlap in [0, 1) (default: the model card's, else 0.5)");
  cmd->add_option("--blend", args->blend, "Window blending (default: the model card's, else gaussian)")
      ->check(CLI::IsMember({"gaussian", "constant"}));
  cmd->add_option("--spacing", args->spacing,
                  "Model voxel size in mm: one value, three (x y z), or \"native\" to keep the input grid (default: "
                  "the model card's, else 1.5)")
      ->expected(1, 3);
  cmd->add_option("--crop", args->crop,
                  "Windows over the whole grid (none, the official pipeline) or only the body's bounding box "
                  "(body: largest region above -500 HU plus half a window; background outside)")
      ->check(CLI::IsMember({"none", "body"}))
      ->capture_default_str();
  cmd->add_option("--nan-as", args->nan_as,
                  "HU value for NaN or infinite voxels (without it such a volume is an error)");
  cmd->add_option("--hu-window", args->hu_window,
                  "HU range mapped to the model's input range, [0, 1] unless the card says otherwise (default: the "
                  "model card's, else -1024 1024)")
      ->expected(2);
  cmd->add_flag("--ml", args->ml, "Write one multilabel NIfTI (the default)");
  cmd->add_flag("--masks", args->masks, "Write a folder with one <structure>.nii.gz per structure");
  cmd->add_option("--roi-subset", args->roi_subset, "Keep only these structures (names as in the label table)")
      ->expected(1, -1);
  cmd->add_flag("--statistics", args->statistics, "Write statistics.json: volume (mm^3) and mean HU per structure");
  cmd->add_flag("--preview", args->preview,
                "Write preview.png: axial, coronal and sagittal slices with the labels, and a legend of the "
                "structures shown (names and colours of the model card where it gives them)");
  cmd->add_option("--threads", args->threads,
                  "CPU threads (default: every CPU this process may use; more is refused with a warning)");
  cmd->add_option("--sw-batch", args->sw_batch, "Windows per network call")->capture_default_str();
  cmd->add_option("--accumulator-memory", args->accumulator_memory,
                  "MiB of sliding-window accumulators kept in memory while the network runs; the rest wait "
                  "in a scratch file (labels unchanged)")
      ->capture_default_str();
  cmd->add_option("--temp-dir", args->temp_dir,
                  "Folder for that scratch file (default: $TMPDIR, else /tmp); it is unlinked at once");
  add_configuration_options(*cmd, args->model);
  cmd->add_flag("--quiet,-q", args->quiet, "No progress bar or per-volume lines");
  cmd->add_flag("--overwrite", args->overwrite,
                "Replace existing outputs (without it: a case an earlier run finished with the same checkpoint and "
                "settings is skipped, swinsmt's own unfinished outputs are redone, any other existing output is an "
                "error)");
  cmd->add_option("--shard", args->shard,
                  "Take shard I of N of the inputs sorted by path (every N-th from the I-th, I from 0); default: "
                  "from SLURM_ARRAY_TASK_ID / SLURM_ARRAY_TASK_COUNT, or JOB_COMPLETION_INDEX with --shard-count");
  cmd->add_option("--shard-count", args->shard_count,
                  "Number of shards of a Kubernetes Indexed Job (its completions), with JOB_COMPLETION_INDEX");
  cmd->add_option("--report", args->report,
                  "Append one JSON line per volume here (default with several inputs: swinsmt_report.jsonl in "
                  "the output folder)");
  cmd->callback([args] { run_segment(*args); });
}

}  // namespace swinsmt::cli
