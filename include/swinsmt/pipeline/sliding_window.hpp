#pragma once
// Sliding-window inference with the semantics of MONAI 1.3 `sliding_window_inference` (no
// buffering, single-tensor predictor outputs of the window's spatial size): same window positions,
// importance maps, padding, accumulation order and normalisation, so results match MONAI's to
// floating-point rounding.

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>
#include <c10/util/Optional.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace swinsmt {

enum class BlendMode { constant, gaussian };

/// Parses "constant" | "gaussian"; throws swinsmt::Error otherwise.
BlendMode parse_blend_mode(const std::string& name);

struct SlidingWindowOptions {
  /// Window size per spatial dimension (one value is repeated); a value <= 0 means "the image size".
  std::vector<int64_t> roi_size{128, 128, 128};
  /// Fraction of a window shared with its neighbour, in [0, 1).
  double overlap = 0.5;
  BlendMode blend = BlendMode::gaussian;
  /// Gaussian sigma = sigma_scale * window size (per dimension).
  double sigma_scale = 0.125;
  /// Windows per predictor call.
  int64_t sw_batch_size = 1;
  /// Value of the constant padding used when the image is smaller than the window.
  double padding_value = 0.0;
  /// Where windows are sent to the predictor (MONAI sw_device); default: the input's device.
  c10::optional<c10::Device> window_device;
  /// Where the output is accumulated (MONAI device); default: the input's device.
  c10::optional<c10::Device> output_device;
  /// argmax(): accumulator bytes held in memory while the predictor runs; beyond that, the
  /// accumulators the next windows need last wait in a scratch file. Negative: never spill.
  int64_t accumulator_memory_bytes = int64_t{512} << 20;
  /// argmax(): the folder of that scratch file ("" = $TMPDIR, else /tmp). The file is unlinked as
  /// soon as it is created, so nothing is left behind.
  std::string spill_folder;
};

/// Called with a batch of windows (n, C, *roi) on the window device; returns (n, C_out, *roi).
using Predictor = std::function<at::Tensor(const at::Tensor&)>;
/// The last layer of a network when it maps each voxel's features to its logits on its own (a 1x1
/// convolution): called with (1, C_in, *box) features of any box of a window, returns (1, C_out,
/// *box). argmax() applies it a few slices of a cell at a time, so a window's C_out-channel logits
/// are never in memory whole (118 channels of 128^3 voxels: 1 GB).
using PointwiseHead = std::function<at::Tensor(const at::Tensor&)>;
/// Receives a finished box of SlidingWindowInferer::for_each_cell: its first voxel in the image and
/// the image's result there, (1, C_out, *box) (a tensor no longer needed afterwards: it may be
/// modified in place).
using CellConsumer = std::function<void(const std::vector<int64_t>& begin, const at::Tensor& mean)>;
/// Called once with (0, total) before the first window, then after each predictor call with
/// (windows done, windows in total).
using ProgressCallback = std::function<void(int64_t done, int64_t total)>;

class SlidingWindowInferer {
 public:
  /// Throws swinsmt::Error for an overlap outside [0, 1), sw_batch_size < 1 or sigma_scale <= 0.
  explicit SlidingWindowInferer(SlidingWindowOptions options);

  /// inputs: (B, C, *spatial) with 1..3 spatial dimensions, floating point. Returns (B, C_out,
  /// *spatial) on the output device in the inputs' dtype: the importance-weighted mean of the window
  /// predictions at each voxel. Throws swinsmt::Error when the predictor returns a wrong shape.
  at::Tensor operator()(const at::Tensor& inputs, const Predictor& predictor,
                        const ProgressCallback& progress = {}) const;

  /// The argmax over channels of operator()'s result, (B, *spatial) uint8, without ever holding the
  /// whole volume's predictions: windows run in the order of their start along the longest spatial
  /// axis; the accumulators are cells between window borders, each divided by its weights, argmaxed
  /// and freed as soon as its last window has run. Memory: the cells still open (about one window
  /// overlap thick across the other two axes), of which at most accumulator_memory_bytes stay in
  /// memory while the predictor runs; the rest wait in a scratch file in spill_folder. Equal to
  /// operator() then argmax where the longest axis is the first (MONAI's window order); elsewhere
  /// only the order of the float sums over overlapping windows differs. Throws swinsmt::Error for
  /// more than 256 channels, or when the scratch file cannot be created or written.
  at::Tensor argmax(const at::Tensor& inputs, const Predictor& predictor, const ProgressCallback& progress = {}) const;
  /// argmax() of the predictions head(features(window)): `features` returns (n, C_in, *roi) per
  /// batch of windows; `head`, which must treat every voxel on its own, is applied per piece of a
  /// cell, then the importance weights, as argmax() weights the predictor's windows. Equal to
  /// argmax() with the predictor head(features(x)) wherever the head gives the same logits for a
  /// voxel whichever box it is computed in.
  at::Tensor argmax(const at::Tensor& inputs, const Predictor& features, const PointwiseHead& head,
                    const ProgressCallback& progress = {}) const;

  /// operator()'s result for one image (B = 1), handed to `consume` a box at a time, never whole: the
  /// boxes are the cells between window borders, each given as soon as the last window covering it
  /// has run, then freed; together they cover the image once. The windows run in MONAI's order (the
  /// first spatial axis slowest), so every voxel's sums are operator()'s, bit for bit, and the boxes
  /// finish in slabs along the first axis: all boxes ending at or before a window start along it have
  /// been given before that window's row begins. Memory: as argmax() (the open cells, at most
  /// accumulator_memory_bytes of them in memory while the predictor runs, the rest in the scratch
  /// file) plus what `consume` keeps. With a `head`, as argmax(): equal to operator() with the predictor
  /// head(features(x)) wherever the head gives the same logits for a voxel whichever box it is computed
  /// in. Throws swinsmt::Error for a batch of more than one image, or as argmax().
  void for_each_cell(const at::Tensor& inputs, const Predictor& predictor, const PointwiseHead& head,
                     const CellConsumer& consume, const ProgressCallback& progress = {}) const;

  /// Number of windows per image for a given spatial size.
  int64_t window_count(const std::vector<int64_t>& image_size) const;

  const SlidingWindowOptions& options() const { return options_; }

 private:
  SlidingWindowOptions options_;
};

/// MONAI fall_back_tuple: `roi` repeated to `ndim` values, non-positive values replaced by the image size.
std::vector<int64_t> resolve_roi_size(const std::vector<int64_t>& roi, const std::vector<int64_t>& image_size);

/// MONAI `_get_scan_interval`: int(roi * (1 - overlap)) (at least 1), or roi where roi == image.
std::vector<int64_t> scan_interval(const std::vector<int64_t>& image_size, const std::vector<int64_t>& roi_size,
                                   double overlap);

/// MONAI `dense_patch_slices`: the start index of every window, first dimension slowest. The last
/// window of a dimension is shifted back to end at the image border. image_size >= roi_size.
std::vector<std::vector<int64_t>> window_starts(const std::vector<int64_t>& image_size,
                                                const std::vector<int64_t>& roi_size,
                                                const std::vector<int64_t>& interval);

/// MONAI `compute_importance_map`: ones, or the product of 1-D Gaussians exp(-x^2 / (2 sigma^2)) on
/// x = -(n-1)/2 .. (n-1)/2 with sigma = sigma_scale * n, clamped below at max(min, 1e-3). float32.
at::Tensor importance_map(const std::vector<int64_t>& patch_size, BlendMode mode, double sigma_scale = 0.125,
                          c10::Device device = c10::Device(c10::kCPU));

}  // namespace swinsmt
