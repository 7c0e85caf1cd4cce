#pragma once
// The whole segmentation pipeline on one CT: orientation to RAS, optional resampling, HU window,
// sliding-window inference, argmax, and back to the input grid. A model card's settings become
// SegmentOptions through segment_options() (pipeline/card_options.hpp).

#include <swinsmt/checkpoint/load.hpp>
#include <swinsmt/io/volume.hpp>
#include <swinsmt/pipeline/preprocess.hpp>
#include <swinsmt/pipeline/sliding_window.hpp>

#include <c10/util/Optional.h>

#include <cstdint>
#include <string>
#include <vector>

namespace swinsmt {

/// Where the logits are accumulated (the open cells only: SlidingWindowInferer::argmax).
enum class AccumulateOn {
  automatic,  ///< the compute device when the whole volume's logits would take at most 4 GiB there, else the CPU
  cpu,
  device,  ///< the compute device
};

/// Limits of SegmentOptions (validated() refuses values outside them, naming the range).
constexpr int64_t kMaxWindowSize = 512;
constexpr double kMinSpacing = 0.1, kMaxSpacing = 100.0;  ///< mm
/// The largest model grid (voxels after resampling) segment() accepts: 2^30, e.g. 1024^3.
constexpr int64_t kMaxModelVoxels = int64_t{1} << 30;
/// The largest SegmentOptions::accumulator_memory_mib: 1 TiB (more never spills anyway).
constexpr int64_t kMaxAccumulatorMemoryMiB = int64_t{1} << 20;

struct SegmentOptions {
  /// Window size (each 64 to kMaxWindowSize and divisible by 32: the network's five stride-2 stages).
  std::vector<int64_t> roi_size{128, 128, 128};
  double overlap = 0.5;
  BlendMode blend = BlendMode::gaussian;
  int64_t sw_batch_size = 1;
  /// Model voxel size in mm along x, y, z (RAS), each kMinSpacing to kMaxSpacing; nullopt keeps the
  /// input grid ("--spacing native").
  c10::optional<std::array<double, 3>> spacing = std::array<double, 3>{1.5, 1.5, 1.5};
  /// HU window mapped to [out_min, out_max] (MONAI ScaleIntensityRange a_min, a_max, b_min, b_max);
  /// all finite, hu_min < hu_max, out_min < out_max.
  double hu_min = -1024, hu_max = 1024;
  double out_min = 0, out_max = 1;
  /// Values outside the window clipped to [out_min, out_max] (ScaleIntensityRange clip).
  bool clip = true;
  /// How the results go back to the input grid: labels by nearest neighbour (TotalSegmentator), or
  /// the probabilities linearly, then argmax (MONAI bundles' Invertd(nearest_interp=False)). Neither
  /// holds the whole model grid's logits or probabilities: the latter softmaxes each cell of the
  /// sliding windows as it finishes and resamples each input-grid plane as soon as the model-grid
  /// planes it reads are complete, holding besides the open cells at most roi + 1 planes of the
  /// model grid's probabilities along x (out_channels x (roi + 1) x Y x Z x 4 bytes); the input grid
  /// gets only the uint8 labels. Its labels equal those of probabilities() resampled whole by
  /// spacing_inverse_linear_argmax, bit for bit.
  BackToInput back_to_input = BackToInput::labels_nearest;
  AccumulateOn accumulate = AccumulateOn::automatic;
  /// Windows only over the body (body_crop.hpp: the largest connected region above -500 HU on the
  /// model grid, grown by half a window on every side); background outside. Off by default: the
  /// official pipeline covers the whole grid.
  bool crop_body = false;
  /// Sliding-window accumulators (SlidingWindowInferer::argmax) held in memory while the network
  /// runs, in MiB (0 to kMaxAccumulatorMemoryMiB); the open accumulators beyond it wait in an unlinked
  /// scratch file in temp_dir. 512 MiB keeps a whole-body CT at the defaults under 4 GB in all.
  int64_t accumulator_memory_mib = 512;
  /// Folder of that scratch file ("" = $TMPDIR, else /tmp); must exist.
  std::string temp_dir;
};

/// Where segment()'s wall time went, in seconds. They add up to Segmentation::seconds up to the
/// checks and bookkeeping between the steps.
struct SegmentTimes {
  double preprocessing = 0;  ///< orientation, resampling, HU window (and the body box with crop_body)
  /// Inside the network's forward calls, including the copy of each window's logits to float32 (on
  /// CUDA: until that copy, so queued kernels are waited for there).
  double network = 0;
  /// The rest of the sliding windows: cutting out windows, weighting and adding their logits,
  /// the scratch file, and dividing each finished cell (and with labels_nearest its argmax).
  double aggregation = 0;
  /// With crop_body the region pasted into the grid; resampling to the input grid (nearest labels, or
  /// linear probabilities and their argmax) and its orientation. With probabilities_linear this
  /// runs while the windows do, a cell and a plane at a time: each finished cell's softmax and the
  /// input-grid planes resampled as they became computable count here.
  double back_to_input = 0;
};

/// A label map and what was done to get it.
struct Segmentation {
  /// (i, j, k) uint8 on the CPU, in the input grid: 0 background, 1..out_channels-1 structures.
  at::Tensor labels;
  std::string input_axis_codes;         ///< orientation of the input ("RAS", "LAS", ...)
  std::array<int64_t, 3> model_grid{};  ///< RAS grid the network saw
  int64_t windows = 0;                  ///< sliding windows run
  /// With SegmentOptions::crop_body: the model-grid region the windows covered ([begin, end) per axis).
  std::array<std::array<int64_t, 2>, 3> region{};
  double seconds = 0;  ///< wall time of segment()
  SegmentTimes times;
};

/// The network's class probabilities over the whole model grid, for library users who want more than
/// labels. Unlike Segmentation::labels it holds the whole grid's logits: out_channels x voxels x 4
/// bytes (5.1 GB for the bundled CT at 1.5 mm, 21 GB for a whole-body CT).
struct ModelGridProbabilities {
  /// (out_channels, X, Y, Z) float32 on the accumulation device: the softmax over channels of the
  /// importance-weighted mean window logits (MONAI sliding_window_inference then softmax), on the
  /// RAS grid the network saw (SegmentOptions::spacing). With crop_body, background with
  /// probability 1 outside `region`.
  at::Tensor probabilities;
  at::Tensor affine;  ///< 4x4 float64, model grid voxel -> RAS mm (MONAI's affine after Spacingd)
  std::array<std::array<int64_t, 2>, 3> region{};  ///< the region the windows covered
  int64_t windows = 0;
};

/// Checks options that do not depend on the model: ROI sizes (1 or 3 values, each 64 to
/// kMaxWindowSize and divisible by 32), overlap in [0, 1), sw_batch_size >= 1, spacing within
/// [kMinSpacing, kMaxSpacing] mm, finite hu_min < hu_max and out_min < out_max, accumulator memory within
/// [0, kMaxAccumulatorMemoryMiB], temp_dir an existing folder when given. Returns them with the ROI expanded to three
/// values. Throws swinsmt::Error naming the option and its allowed range.
SegmentOptions validated(SegmentOptions options);

class Segmenter {
 public:
  /// Takes a loaded model (see swinsmt::load). Throws swinsmt::Error for invalid options (see
  /// validated()), a model with more than 256 output channels (labels are uint8), or a CPU model
  /// in a dtype other than float32 (LibTorch's CPU 3-D convolutions need float32).
  Segmenter(LoadedModel model, SegmentOptions options);

  /// Segments a CT (Volume::data in HU, any numeric dtype). `progress` is called after each window
  /// batch. Throws swinsmt::Error for a volume with fewer than 2 voxels along an axis, a DICOM series
  /// of another modality than CT, NaN or infinite voxels (see replace_non_finite), or a model grid
  /// of more than kMaxModelVoxels voxels.
  Segmentation segment(const io::Volume& ct, const ProgressCallback& progress = {}) const;
  /// The same for a CT the caller gives up: its voxels (ct.data, left undefined) are freed as soon as
  /// they are resampled, which lowers the peak memory by the CT's size (about 0.5 GB for a
  /// whole-body int16 CT). Its geometry stays for writing the labels.
  Segmentation segment(io::Volume&& ct, const ProgressCallback& progress = {}) const;

  /// The same preprocessing and windows as segment(), stopping at the probabilities on the model grid
  /// (see ModelGridProbabilities for the memory it takes). Throws as segment() does.
  ModelGridProbabilities probabilities(const io::Volume& ct, const ProgressCallback& progress = {}) const;

  const LoadedModel& model() const { return model_; }
  const SegmentOptions& options() const { return options_; }

 private:
  struct ModelGridRun;
  /// Checks the CT, orients, resamples, crops and scales it, and sets up the windows (steps 1-4).
  /// `release` (the same volume as `ct`, or null): its data is dropped once oriented.
  ModelGridRun prepare(const io::Volume& ct, io::Volume* release) const;
  Segmentation run_segment(const io::Volume& ct, io::Volume* release, const ProgressCallback& progress) const;
  /// The softmax of the whole model grid's window logits (background outside a body crop); frees
  /// run.image.
  at::Tensor model_grid_probabilities(ModelGridRun& run, const ProgressCallback& progress,
                                      double* network_seconds) const;
  /// The network as a sliding-window predictor: float32 logits whatever the model's dtype; with
  /// `network_seconds`, the time inside it is added there.
  Predictor predictor(double* network_seconds = nullptr) const;
  /// The network without its output block (SwinSMT::decode) and that block as a PointwiseHead, for
  /// argmax() to make the logits cell by cell; their time is added to `network_seconds`.
  Predictor features_predictor(double* network_seconds) const;
  PointwiseHead output_head(double* network_seconds) const;

  LoadedModel model_;
  SegmentOptions options_;
};

/// Sets to 0 every label not in `keep` (label ids). labels: uint8, any shape.
at::Tensor keep_labels(const at::Tensor& labels, const std::vector<int>& keep);

}  // namespace swinsmt
