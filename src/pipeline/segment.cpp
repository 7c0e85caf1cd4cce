#include <swinsmt/pipeline/segment.hpp>

#include "channel_softmax.hpp"
#include "common/stopwatch.hpp"
#include "inverse_linear_stream.hpp"

#include <swinsmt/error.hpp>
#include <swinsmt/pipeline/body_crop.hpp>
#include <swinsmt/pipeline/spacing.hpp>

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <sstream>

namespace swinsmt {

namespace {

/// The view of `t`'s dimensions first_dim .. first_dim + 2 inside `region`.
at::Tensor region_view(at::Tensor t, const Box3& region, int64_t first_dim) {
  for (int64_t a = 0; a < 3; ++a) t = t.narrow(first_dim + a, region[a][0], region[a][1] - region[a][0]);
  return t;
}

std::string mm(double v) {
  std::ostringstream out;
  out << v;
  return out.str();
}

}  // namespace

SegmentOptions validated(SegmentOptions options) {
  if (options.roi_size.size() == 1) options.roi_size.assign(3, options.roi_size[0]);
  if (options.roi_size.size() != 3)
    throw Error("the window size needs 1 or 3 values, got " + std::to_string(options.roi_size.size()) + " (--roi)");
  for (int64_t r : options.roi_size)
    if (r < 64 || r > kMaxWindowSize || r % 32 != 0)
      throw Error("window size " + std::to_string(r) + " is not usable (--roi): expected 64 to " +
                  std::to_string(kMaxWindowSize) + ", divisible by 32 (the network's five stride-2 stages)");
  if (options.spacing)
    for (double s : *options.spacing)
      if (!(s >= kMinSpacing && s <= kMaxSpacing))  // also false for NaN
        throw Error("spacing (--spacing) " + mm(s) + " mm is not usable: expected " + mm(kMinSpacing) + " to " +
                    mm(kMaxSpacing) + " mm, or \"native\"");
  if (!std::isfinite(options.hu_min) || !std::isfinite(options.hu_max) || !(options.hu_min < options.hu_max))
    throw Error("the HU window (--hu-window) must be two finite numbers with min < max, got " + mm(options.hu_min) +
                " " + mm(options.hu_max));
  if (!std::isfinite(options.out_min) || !std::isfinite(options.out_max) || !(options.out_min < options.out_max))
    throw Error("the intensity output range (b_min, b_max) must be two finite numbers with min < max, got " +
                mm(options.out_min) + " " + mm(options.out_max));
  if (options.accumulator_memory_mib < 0 || options.accumulator_memory_mib > kMaxAccumulatorMemoryMiB)
    throw Error("the accumulator memory (--accumulator-memory) " + std::to_string(options.accumulator_memory_mib) +
                " MiB is not usable: expected 0 to " + std::to_string(kMaxAccumulatorMemoryMiB) + " MiB");
  if (!options.temp_dir.empty()) {
    std::error_code ec;
    if (!std::filesystem::is_directory(options.temp_dir, ec))
      throw Error("the scratch folder (--temp-dir) " + options.temp_dir + " is not an existing folder");
  }
  SlidingWindowOptions sw;
  sw.overlap = options.overlap;
  sw.sw_batch_size = options.sw_batch_size;
  // Constructed only for its checks of overlap and batch size (named: clang-tidy bugprone-unused-raii).
  [[maybe_unused]] const SlidingWindowInferer check_window_options(sw);
  return options;
}

Segmenter::Segmenter(LoadedModel model, SegmentOptions options)
    : model_(std::move(model)), options_(validated(std::move(options))) {
  const at::Tensor first = model_.model->parameters().front();  // a copy: parameters() returns a temporary
  if (first.device().is_cpu() && first.scalar_type() != at::kFloat)
    // LibTorch's CPU 3-D convolutions: float16 is not implemented, bfloat16 transposed convolutions
    // fail (1.13). Said here in one sentence rather than as a kernel error after the first window.
    // (load() with dtype bfloat16 on the CPU keeps float32 parameters, so it never gets here.)
    throw Error(std::string("the network runs in ") + c10::toString(first.scalar_type()) +
                " on the CPU, where LibTorch's 3-D convolutions need float32; use --dtype float32, --dtype bfloat16 "
                "(float32 with bfloat16 Soft MoE products, loaded so by load()) or a CUDA device");
  if (model_.config.out_channels() > 256)
    throw Error("the model has " + std::to_string(model_.config.out_channels()) +
                " output channels; uint8 label maps hold at most 256");
}

/// What segment() and probabilities() share: the checked CT on the model grid (steps 1-3) and the
/// sliding-window inferer over it.
struct Segmenter::ModelGridRun {
  AxisOrientation orientation{};
  c10::optional<SpacingPlan> plan;
  at::Tensor affine;  ///< model grid voxel -> RAS mm
  std::array<int64_t, 3> model_grid{};
  Box3 region{};
  at::Tensor image;  ///< (1, 1, *region) scaled to [0, 1], on the compute device
  c10::optional<SlidingWindowInferer> inferer;
  int64_t windows = 0;
};

Segmenter::ModelGridRun Segmenter::prepare(const io::Volume& ct, io::Volume* release) const {
  if (ct.data.dim() != 3)
    throw Error(ct.source + ": expected a 3-D volume, got " + std::to_string(ct.data.dim()) + " dimensions");
  for (int64_t d = 0; d < 3; ++d)
    if (ct.data.size(d) < 2)
      throw Error(ct.source + " is " + std::to_string(ct.data.size(0)) + " x " + std::to_string(ct.data.size(1)) +
                  " x " + std::to_string(ct.data.size(2)) + " voxels; expected at least 2 along each axis (a 3-D CT)");
  if (!ct.modality.empty() && ct.modality != "CT")
    throw Error(ct.source + " is a series of modality " + ct.modality +
                "; the network segments CT (Modality CT, values in HU)");
  if (ct.data.is_floating_point()) {
    const int64_t bad = at::isfinite(ct.data).logical_not().sum().item<int64_t>();
    if (bad > 0)
      throw Error(ct.source + " has " + std::to_string(bad) +
                  " voxels that are NaN or infinite; give them a value in HU (swinsmt segment --nan-as HU, "
                  "replace_non_finite in the library)");
  }
  const c10::Device device = model_.model->parameters().front().device();
  ModelGridRun run;
  run.orientation = io_orientation(ct.affine);

  // 1. Orientation to RAS (flips/permutations only), in the CT's own dtype: resampling reads it as
  //    float32 value by value, so no float copy of the input grid is made (a whole-body CT at
  //    0.8 mm would be about 1 GB in float32).
  OrientedImage ras = orient_to_ras(ct.data, ct.affine);
  const std::array<int64_t, 3> ras_shape{ras.data.size(0), ras.data.size(1), ras.data.size(2)};
  // A CT given to keep: its voxels go as soon as `image` no longer views them (after resampling).
  if (release) release->data = at::Tensor();

  // 2. Optional resampling to the model spacing (raw HU, as MONAI Spacingd before
  //    ScaleIntensityRanged), 3. HU window.
  at::Tensor image = std::move(ras.data);
  run.affine = ras.affine;
  if (options_.spacing) {
    run.plan = plan_spacing(ras.affine, ras_shape, *options_.spacing);
    const auto& grid = run.plan->output_shape;
    const double voxels = static_cast<double>(grid[0]) * static_cast<double>(grid[1]) * static_cast<double>(grid[2]);
    if (voxels > static_cast<double>(kMaxModelVoxels))
      throw Error(ct.source + ": resampled to " + mm((*options_.spacing)[0]) + " x " + mm((*options_.spacing)[1]) +
                  " x " + mm((*options_.spacing)[2]) + " mm it becomes a " + std::to_string(grid[0]) + " x " +
                  std::to_string(grid[1]) + " x " + std::to_string(grid[2]) + " grid; at most " +
                  std::to_string(kMaxModelVoxels) + " voxels are supported (choose a larger --spacing)");
    image = spacing_linear(image, *run.plan);
    run.affine = run.plan->output_affine;
  }
  image = image.to(device).to(at::kFloat);
  run.model_grid = {image.size(0), image.size(1), image.size(2)};
  run.region = Box3{{{0, image.size(0)}, {0, image.size(1)}, {0, image.size(2)}}};
  if (options_.crop_body) {
    // Half a window of margin: every body voxel keeps at least the context it has at the border of
    // a window in the full run.
    const auto body = body_box(image);
    if (body)
      run.region = grow_box(*body, {options_.roi_size[0] / 2, options_.roi_size[1] / 2, options_.roi_size[2] / 2},
                            run.model_grid);
  }
  run.image = scale_intensity(region_view(image, run.region, 0), options_.hu_min, options_.hu_max, options_.out_min,
                              options_.out_max, options_.clip)
                  .unsqueeze(0)
                  .unsqueeze(0);

  // 4. Sliding windows. The whole volume's logits need out_channels * voxels * 4 bytes; argmax()
  //    holds only the open cells, and keeps even those on the compute device only when the whole
  //    would be affordable there.
  const int64_t out_channels = model_.config.out_channels();
  const double logits_bytes = 4.0 * static_cast<double>(out_channels) * static_cast<double>(run.image.numel());
  c10::Device output_device = device;
  if (options_.accumulate == AccumulateOn::cpu ||
      (options_.accumulate == AccumulateOn::automatic && !device.is_cpu() && logits_bytes > 4.0 * (1ull << 30)))
    output_device = c10::Device(c10::kCPU);
  SlidingWindowOptions sw;
  sw.roi_size = options_.roi_size;
  sw.overlap = options_.overlap;
  sw.blend = options_.blend;
  sw.sw_batch_size = options_.sw_batch_size;
  sw.window_device = device;
  sw.output_device = output_device;
  sw.accumulator_memory_bytes = options_.accumulator_memory_mib << 20;
  sw.spill_folder = options_.temp_dir;
  run.inferer.emplace(sw);
  run.windows = run.inferer->window_count({run.image.size(2), run.image.size(3), run.image.size(4)});
  return run;
}

Predictor Segmenter::predictor(double* network_seconds) const {
  // Inference does not change the model; forward() is simply not const in LibTorch.
  const auto network = model_.model.ptr();
  const auto model_dtype = model_.model->parameters().front().scalar_type();
  return [network, model_dtype, network_seconds](const at::Tensor& x) {
    const auto started = std::chrono::steady_clock::now();
    at::Tensor logits = network->forward(x.to(model_dtype)).to(at::kFloat);
    if (network_seconds) *network_seconds += detail::seconds_since(started);
    return logits;
  };
}

Predictor Segmenter::features_predictor(double* network_seconds) const {
  const auto network = model_.model.ptr();
  return [network, network_seconds](const at::Tensor& x) {
    const auto started = std::chrono::steady_clock::now();
    at::Tensor features = network->decode(x);
    *network_seconds += detail::seconds_since(started);
    return features;
  };
}

PointwiseHead Segmenter::output_head(double* network_seconds) const {
  const auto network = model_.model.ptr();
  return [network, network_seconds](const at::Tensor& features) {
    const auto started = std::chrono::steady_clock::now();
    at::Tensor logits = network->out(features.contiguous());
    *network_seconds += detail::seconds_since(started);
    return logits;
  };
}

Segmentation Segmenter::segment(const io::Volume& ct, const ProgressCallback& progress) const {
  return run_segment(ct, nullptr, progress);
}

Segmentation Segmenter::segment(io::Volume&& ct, const ProgressCallback& progress) const {
  return run_segment(ct, &ct, progress);
}

Segmentation Segmenter::run_segment(const io::Volume& ct, io::Volume* release, const ProgressCallback& progress) const {
  const auto started = std::chrono::steady_clock::now();
  // No autograd records; ordinary (not inference-mode) tensors, so the caller may edit the labels in place.
  c10::NoGradGuard no_grad;
  ModelGridRun run = prepare(ct, release);
  Segmentation result;
  result.times.preprocessing = detail::seconds_since(started);
  result.input_axis_codes = io::axis_codes(ct.affine);  // a released CT keeps its geometry
  result.model_grid = run.model_grid;
  result.region = run.region;
  result.windows = run.windows;
  const auto windows_started = std::chrono::steady_clock::now();
  // On the CPU the output block (a 1x1x1 convolution to out_channels) runs cell by cell inside the
  // aggregation, so a window's logits (1 GB at 128^3 and 118 channels) are never whole in memory
  // either; each voxel gets the same 1x1x1 product as in the whole window
  // (tests/sliding_window_test.cpp, model_test.cpp).
  const auto& sw = run.inferer->options();
  const bool head_in_cells = run.image.is_cpu() && sw.output_device.value_or(run.image.device()).is_cpu() &&
                             model_.model->parameters().front().scalar_type() == at::kFloat;
  const Predictor windows =
      head_in_cells ? features_predictor(&result.times.network) : predictor(&result.times.network);
  const PointwiseHead head = head_in_cells ? output_head(&result.times.network) : PointwiseHead();
  at::Tensor labels;
  if (options_.back_to_input == BackToInput::labels_nearest) {
    // Cell by cell: only the open cells' logits (at most accumulator_memory_mib of them in memory
    // while the network runs) and the uint8 labels are held.
    labels = run.inferer->argmax(run.image, windows, head, progress)[0];
    run.image = at::Tensor();
    result.times.aggregation = detail::seconds_since(windows_started) - result.times.network;
  } else {
    // 5. Back to the input grid as MONAI's Invertd(nearest_interp=False) + AsDiscrete(argmax): the
    //    softmax probabilities resampled linearly, then their argmax. Streamed: each cell of mean
    //    logits is softmaxed as it finishes, and each input-grid plane is interpolated and argmaxed
    //    as soon as the model-grid planes it reads are complete, so besides the open cells only a
    //    slab of the model grid's probabilities (at most a window's depth along x) is held
    //    (pipeline/inverse_linear_stream.hpp). The same labels as Segmenter::probabilities then
    //    spacing_inverse_linear_argmax, bit for bit (tests/probabilities_linear_test.cpp). argmax
    //    commutes with the inverse orientation below.
    detail::InverseLinearArgmax inverse(run.plan, run.model_grid, run.region, model_.config.out_channels());
    run.inferer->for_each_cell(
        run.image, windows, head,
        [&](const std::vector<int64_t>& begin, const at::Tensor& mean) {
          const auto cell_started = std::chrono::steady_clock::now();
          inverse.add({run.region[0][0] + begin[0], run.region[1][0] + begin[1], run.region[2][0] + begin[2]},
                      detail::softmax_channels(mean[0]));
          result.times.back_to_input += detail::seconds_since(cell_started);
        },
        progress);
    run.image = at::Tensor();
    const auto last_started = std::chrono::steady_clock::now();
    labels = inverse.labels();
    result.times.back_to_input += detail::seconds_since(last_started);
    result.times.aggregation =
        detail::seconds_since(windows_started) - result.times.network - result.times.back_to_input;
  }
  const auto back_started = std::chrono::steady_clock::now();
  if (options_.back_to_input == BackToInput::labels_nearest) {
    if (options_.crop_body) {
      // Background outside the body's region.
      at::Tensor full = at::zeros({run.model_grid[0], run.model_grid[1], run.model_grid[2]}, labels.options());
      region_view(full, run.region, 0).copy_(labels);
      labels = full;
    }
    // 5. Back to the input grid: nearest neighbour (labels cannot be interpolated).
    if (run.plan) labels = spacing_inverse_nearest(labels, *run.plan);
  }
  // Then the inverse orientation.
  labels = orient_from_ras(labels, run.orientation).contiguous().to(at::kCPU);
  result.labels = labels;
  result.times.back_to_input += detail::seconds_since(back_started);
  result.seconds = detail::seconds_since(started);
  return result;
}

at::Tensor Segmenter::model_grid_probabilities(ModelGridRun& run, const ProgressCallback& progress,
                                               double* network_seconds) const {
  // MONAI's sliding_window_inference: the importance-weighted mean of the window logits everywhere.
  // The softmax per voxel as the streamed path in segment() computes it (channel_softmax.hpp).
  const at::Tensor logits = (*run.inferer)(run.image, predictor(network_seconds), progress)[0];
  run.image = at::Tensor();
  if (!options_.crop_body) return detail::softmax_channels(logits);
  // Background (channel 0) with certainty outside the body's region.
  at::Tensor probabilities =
      at::zeros({logits.size(0), run.model_grid[0], run.model_grid[1], run.model_grid[2]}, logits.options());
  probabilities.select(0, 0).fill_(1);
  region_view(probabilities, run.region, 1).copy_(detail::softmax_channels(logits));
  return probabilities;
}

ModelGridProbabilities Segmenter::probabilities(const io::Volume& ct, const ProgressCallback& progress) const {
  c10::NoGradGuard no_grad;
  ModelGridRun run = prepare(ct, nullptr);
  ModelGridProbabilities result;
  result.affine = run.affine;
  result.region = run.region;
  result.windows = run.windows;
  result.probabilities = model_grid_probabilities(run, progress, nullptr);
  return result;
}

at::Tensor keep_labels(const at::Tensor& labels, const std::vector<int>& keep) {
  at::Tensor mask = at::zeros({256}, at::TensorOptions().dtype(at::kBool).device(labels.device()));
  for (int id : keep)
    if (id >= 0 && id < 256) mask[id] = true;
  return labels * mask.index_select(0, labels.flatten().to(at::kLong)).view(labels.sizes()).to(labels.scalar_type());
}

}  // namespace swinsmt
