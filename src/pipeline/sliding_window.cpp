// Mirrors monai/inferers/utils.py sliding_window_inference (MONAI 1.3.2) for the non-buffered path;
// comments name the MONAI steps so the two can be read side by side.
#include <swinsmt/pipeline/sliding_window.hpp>

#include "common/strings.hpp"
#include "window_cells.hpp"

#include <swinsmt/error.hpp>

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <numeric>

namespace swinsmt {
namespace {

using at::indexing::Slice;

std::string join(const std::vector<int64_t>& v) { return detail::join(v, " x "); }

}  // namespace

BlendMode parse_blend_mode(const std::string& name) {
  if (name == "constant") return BlendMode::constant;
  if (name == "gaussian") return BlendMode::gaussian;
  throw Error("blend mode must be \"constant\" or \"gaussian\", got \"" + name + "\"");
}

std::vector<int64_t> resolve_roi_size(const std::vector<int64_t>& roi, const std::vector<int64_t>& image_size) {
  if (roi.empty()) throw Error("the window size (roi) is empty");
  if (roi.size() != 1 && roi.size() != image_size.size())
    throw Error("the window size has " + std::to_string(roi.size()) + " values for an image with " +
                std::to_string(image_size.size()) + " spatial dimensions");
  std::vector<int64_t> out(image_size.size());
  for (size_t d = 0; d < image_size.size(); ++d) {
    const int64_t r = roi.size() == 1 ? roi[0] : roi[d];
    out[d] = r > 0 ? r : image_size[d];
  }
  return out;
}

std::vector<int64_t> scan_interval(const std::vector<int64_t>& image_size, const std::vector<int64_t>& roi_size,
                                   double overlap) {
  std::vector<int64_t> out;
  for (size_t i = 0; i < image_size.size(); ++i) {
    if (roi_size[i] == image_size[i]) {
      out.push_back(roi_size[i]);
    } else {
      const auto interval =
          static_cast<int64_t>(static_cast<double>(roi_size[i]) * (1.0 - overlap));  // int() truncates
      out.push_back(interval > 0 ? interval : 1);
    }
  }
  return out;
}

std::vector<std::vector<int64_t>> window_starts(const std::vector<int64_t>& image_size,
                                                const std::vector<int64_t>& roi_size,
                                                const std::vector<int64_t>& interval) {
  const size_t ndim = image_size.size();
  std::vector<std::vector<int64_t>> per_dim(ndim);
  for (size_t d = 0; d < ndim; ++d) {
    const int64_t patch = std::min(roi_size[d], image_size[d]);  // get_valid_patch_size
    int64_t scan_num = 1;
    if (interval[d] != 0) {
      const auto num = static_cast<int64_t>(std::ceil(static_cast<double>(image_size[d]) / interval[d]));
      for (int64_t k = 0; k < num; ++k)
        if (k * interval[d] + patch >= image_size[d]) {
          scan_num = k + 1;
          break;
        }
    }
    for (int64_t k = 0; k < scan_num; ++k) {
      int64_t start = k * interval[d];
      start -= std::max<int64_t>(start + patch - image_size[d], 0);
      per_dim[d].push_back(start);
    }
  }
  // np.meshgrid(indexing="ij") flattened: the first dimension varies slowest.
  std::vector<std::vector<int64_t>> out{{}};
  for (size_t d = 0; d < ndim; ++d) {
    std::vector<std::vector<int64_t>> next;
    for (const auto& prefix : out)
      for (int64_t s : per_dim[d]) {
        next.push_back(prefix);
        next.back().push_back(s);
      }
    out = std::move(next);
  }
  return out;
}

at::Tensor importance_map(const std::vector<int64_t>& patch_size, BlendMode mode, double sigma_scale,
                          c10::Device device) {
  const auto options = at::TensorOptions().dtype(at::kFloat).device(device);
  at::Tensor map;
  if (mode == BlendMode::constant) {
    map = at::ones(patch_size, options);
  } else {
    for (size_t i = 0; i < patch_size.size(); ++i) {
      const double n = static_cast<double>(patch_size[i]);
      const double sigma = n * sigma_scale;
      at::Tensor x = at::arange(-(n - 1) / 2.0, (n - 1) / 2.0 + 1, 1, options);
      x = at::exp(x.pow(2) / (-2 * sigma * sigma));
      if (i == 0) {
        map = x;
      } else {
        std::vector<int64_t> shape(i, 1);
        shape.push_back(patch_size[i]);
        map = map.unsqueeze(-1) * x.view(shape);
      }
    }
  }
  // Handle non-positive weights exactly as MONAI: clamp at max(min, 1e-3).
  const double min_non_zero = std::max(map.min().item<double>(), 1e-3);
  return map.clamp_(min_non_zero);
}

SlidingWindowInferer::SlidingWindowInferer(SlidingWindowOptions options) : options_(std::move(options)) {
  if (!(options_.overlap >= 0 && options_.overlap < 1))
    throw Error("overlap must be >= 0 and < 1, got " + std::to_string(options_.overlap));
  if (options_.sw_batch_size < 1)
    throw Error("the window batch size must be at least 1, got " + std::to_string(options_.sw_batch_size));
  if (!(options_.sigma_scale > 0))
    throw Error("sigma_scale must be positive, got " + std::to_string(options_.sigma_scale));
}

int64_t SlidingWindowInferer::window_count(const std::vector<int64_t>& image_size_) const {
  const auto roi = resolve_roi_size(options_.roi_size, image_size_);
  std::vector<int64_t> image_size(image_size_.size());
  for (size_t d = 0; d < image_size.size(); ++d) image_size[d] = std::max(image_size_[d], roi[d]);
  return static_cast<int64_t>(window_starts(image_size, roi, scan_interval(image_size, roi, options_.overlap)).size());
}

namespace {

/// What both aggregations share: the padded input, the windows and their weight map.
struct WindowRun {
  int64_t ndim = 0, batch_size = 0;
  c10::Device device{c10::kCPU}, window_device{c10::kCPU};
  at::ScalarType dtype = at::kFloat;
  std::vector<int64_t> original_size, roi, image_size, pad_size;
  bool padded = false;
  at::Tensor inputs;
  std::vector<std::vector<int64_t>> starts;
  at::Tensor weight;  ///< (1, 1, *roi) importance map on the window device, in the inputs' dtype
};

WindowRun prepare(const at::Tensor& inputs_, const SlidingWindowOptions& options) {
  WindowRun r;
  r.ndim = inputs_.dim() - 2;
  if (r.ndim < 1 || r.ndim > 3)
    throw Error("sliding-window input must be (B, C, 1 to 3 spatial dims), got " + std::to_string(inputs_.dim()) +
                " dimensions");
  if (!inputs_.is_floating_point()) throw Error("sliding-window input must be floating point");
  r.dtype = inputs_.scalar_type();
  r.batch_size = inputs_.size(0);
  r.device = options.output_device.value_or(inputs_.device());
  r.window_device = options.window_device.value_or(inputs_.device());
  r.original_size.assign(inputs_.sizes().begin() + 2, inputs_.sizes().end());
  r.roi = resolve_roi_size(options.roi_size, r.original_size);

  // In case the image is smaller than the ROI: pad symmetrically (floor on the low side), constant.
  r.image_size.resize(r.ndim);
  for (int64_t d = 0; d < r.ndim; ++d) r.image_size[d] = std::max(r.original_size[d], r.roi[d]);
  for (int64_t k = inputs_.dim() - 1; k > 1; --k) {  // F.pad order: last dimension first
    const int64_t diff = std::max<int64_t>(r.roi[k - 2] - inputs_.size(k), 0);
    r.pad_size.push_back(diff / 2);
    r.pad_size.push_back(diff - diff / 2);
  }
  r.padded = std::any_of(r.pad_size.begin(), r.pad_size.end(), [](int64_t p) { return p != 0; });
  r.inputs = r.padded ? at::constant_pad_nd(inputs_, r.pad_size, options.padding_value) : inputs_;
  r.starts = window_starts(r.image_size, r.roi, scan_interval(r.image_size, r.roi, options.overlap));
  // Window-level importance map (valid patch size == roi after padding).
  r.weight =
      importance_map(r.roi, options.blend, options.sigma_scale, r.window_device).to(r.dtype).unsqueeze(0).unsqueeze(0);
  return r;
}

/// Index of window `start` (spatial dims only, after `lead` leading full slices).
std::vector<at::indexing::TensorIndex> window_index(const WindowRun& r, const std::vector<int64_t>& start,
                                                    std::vector<at::indexing::TensorIndex> lead) {
  for (int64_t d = 0; d < r.ndim; ++d) lead.emplace_back(Slice(start[d], start[d] + r.roi[d]));
  return lead;
}

/// Runs the predictor over the windows in `order` (indices into starts, for every image of the
/// batch), `sw_batch_size` at a time, and hands each weighted window prediction to `consume`
/// (image, position in the run, (1, C_out, *roi) on the output device). `before_predict` runs before
/// each predictor call. Unless `weighted` is false (the consumer weights them), the predictions are
/// multiplied by the importance map first.
void predict_windows(const WindowRun& r, const std::vector<size_t>& order, const SlidingWindowOptions& options,
                     const Predictor& predictor, const ProgressCallback& progress,
                     const std::function<void(int64_t, int64_t, const at::Tensor&)>& consume,
                     const std::function<void()>& before_predict = {}, bool weighted = true) {
  const auto num_win = static_cast<int64_t>(order.size());
  const int64_t total = num_win * r.batch_size;
  if (progress) progress(0, total);  // a bar can show the total before the first (slow) window
  for (int64_t first = 0; first < total; first += options.sw_batch_size) {
    const int64_t end = std::min(first + options.sw_batch_size, total);
    std::vector<at::Tensor> windows;
    for (int64_t idx = first; idx < end; ++idx) {
      const int64_t image = idx / num_win;
      windows.push_back(
          r.inputs.index(window_index(r, r.starts[order[idx % num_win]], {Slice(image, image + 1), Slice()})));
    }
    const at::Tensor win_data = (windows.size() > 1 ? at::cat(windows) : windows[0]).to(r.window_device);
    if (before_predict) before_predict();
    at::Tensor seg = predictor(win_data);
    if (seg.dim() != r.inputs.dim() || seg.size(0) != end - first ||
        !std::equal(r.roi.begin(), r.roi.end(), seg.sizes().begin() + 2))
      throw Error("the predictor returned " + join(seg.sizes().vec()) + " for windows of " +
                  join(win_data.sizes().vec()) + "; expected (windows, channels) + the window size");
    if (weighted) seg.mul_(r.weight);  // in place, in the predictor's dtype, as MONAI's `*=`
    seg = seg.to(r.device);
    for (int64_t idx = first; idx < end; ++idx) consume(idx / num_win, idx % num_win, seg.narrow(0, idx - first, 1));
    if (progress) progress(end, total);
  }
}

/// The original image region of a padded result (dimension d was padded by pad_size[2 (ndim-1-d)]
/// on the low side), from dimension `first_spatial` on.
at::Tensor crop_padding(const WindowRun& r, const at::Tensor& padded_result, int64_t first_spatial) {
  if (!r.padded) return padded_result;
  std::vector<at::indexing::TensorIndex> crop(static_cast<size_t>(first_spatial), Slice());
  for (int64_t d = 0; d < r.ndim; ++d) {
    const int64_t low = r.pad_size[2 * (r.ndim - 1 - d)];
    crop.emplace_back(Slice(low, low + r.original_size[d]));
  }
  return padded_result.index(crop);
}

}  // namespace

at::Tensor SlidingWindowInferer::operator()(const at::Tensor& inputs, const Predictor& predictor,
                                            const ProgressCallback& progress) const {
  const WindowRun r = prepare(inputs, options_);
  std::vector<size_t> order(r.starts.size());
  std::iota(order.begin(), order.end(), size_t{0});  // MONAI's order
  at::Tensor output, count_map;
  predict_windows(r, order, options_, predictor, progress, [&](int64_t image, int64_t position, const at::Tensor& seg) {
    if (!output.defined()) {
      std::vector<int64_t> output_shape{r.batch_size, seg.size(1)};
      output_shape.insert(output_shape.end(), r.image_size.begin(), r.image_size.end());
      output = at::zeros(output_shape, at::TensorOptions().dtype(r.dtype).device(r.device));
      std::vector<int64_t> count_shape{1, 1};
      count_shape.insert(count_shape.end(), r.image_size.begin(), r.image_size.end());
      count_map = at::zeros(count_shape, at::TensorOptions().dtype(r.dtype).device(r.device));
      const at::Tensor w_on_device = r.weight.to(r.device);
      for (const auto& s : r.starts) count_map.index(window_index(r, s, {Slice(), Slice()})).add_(w_on_device);
    }
    output.index(window_index(r, r.starts[order[position]], {Slice(image, image + 1), Slice()})).add_(seg);
  });
  output.div_(count_map);  // account for overlapping sections
  return crop_padding(r, output, 2);
}

at::Tensor SlidingWindowInferer::argmax(const at::Tensor& inputs, const Predictor& predictor,
                                        const ProgressCallback& progress) const {
  return argmax(inputs, predictor, PointwiseHead(), progress);
}

at::Tensor SlidingWindowInferer::argmax(const at::Tensor& inputs, const Predictor& predictor, const PointwiseHead& head,
                                        const ProgressCallback& progress) const {
  if (inputs.dim() >= 1 && inputs.size(0) > 1) {
    // One image at a time: each runs its own cells from the start of the axis.
    const int64_t images = inputs.size(0);
    const int64_t per_image = window_count(std::vector<int64_t>(inputs.sizes().begin() + 2, inputs.sizes().end()));
    std::vector<at::Tensor> labels;
    for (int64_t b = 0; b < images; ++b)
      labels.push_back(argmax(inputs.narrow(0, b, 1), predictor, head, [&](int64_t done, int64_t) {
        if (progress) progress(b * per_image + done, images * per_image);
      }));
    return at::cat(labels);
  }
  const WindowRun r = prepare(inputs, options_);
  // Windows in the order of their start along the longest axis (stable, so MONAI's order within a
  // row; bit for bit MONAI's sums when that axis is its slowest, the first): cells then finish row
  // after row, and what is still open at any time is about one window's overlap thick across the
  // other two axes.
  const int64_t axis = std::max_element(r.image_size.begin(), r.image_size.end()) - r.image_size.begin();
  std::vector<size_t> order(r.starts.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return r.starts[a][axis] < r.starts[b][axis]; });
  std::vector<std::vector<int64_t>> starts;
  for (size_t i : order) starts.push_back(r.starts[i]);

  at::Tensor labels = at::zeros(r.image_size, at::TensorOptions().dtype(at::kByte).device(r.device));
  detail::CellAccumulator cells(r.image_size, r.roi, starts, r.weight.to(r.device), labels,
                                options_.accumulator_memory_bytes, options_.spill_folder);
  predict_windows(
      r, order, options_, predictor, progress,
      [&](int64_t, int64_t position, const at::Tensor& seg) { cells.add(static_cast<size_t>(position), seg, head); },
      [&] { cells.before_window(); }, /*weighted=*/!head);
  return crop_padding(r, labels.unsqueeze(0), 1);
}

void SlidingWindowInferer::for_each_cell(const at::Tensor& inputs, const Predictor& predictor,
                                         const PointwiseHead& head, const CellConsumer& consume,
                                         const ProgressCallback& progress) const {
  if (inputs.dim() >= 1 && inputs.size(0) != 1)
    throw Error("for_each_cell takes one image at a time, got a batch of " + std::to_string(inputs.size(0)));
  const WindowRun r = prepare(inputs, options_);
  // MONAI's window order: its sums, and rows along the first axis.
  std::vector<size_t> order(r.starts.size());
  std::iota(order.begin(), order.end(), size_t{0});
  // A cell in padded coordinates -> the part of it inside the image, in the image's coordinates.
  const auto crop_to_image = [&](const std::vector<int64_t>& begin, const at::Tensor& mean) {
    std::vector<int64_t> image_begin(static_cast<size_t>(r.ndim));
    at::Tensor part = mean;
    for (int64_t d = 0; d < r.ndim; ++d) {
      const int64_t low = r.padded ? r.pad_size[static_cast<size_t>(2 * (r.ndim - 1 - d))] : 0;
      const int64_t first = std::max<int64_t>(begin[static_cast<size_t>(d)] - low, 0);
      const int64_t last = std::min<int64_t>(begin[static_cast<size_t>(d)] + mean.size(d + 2) - low,
                                             r.original_size[static_cast<size_t>(d)]);
      if (first >= last) return;  // padding only
      part = part.narrow(d + 2, first - (begin[static_cast<size_t>(d)] - low), last - first);
      image_begin[static_cast<size_t>(d)] = first;
    }
    consume(image_begin, part);
  };
  detail::CellAccumulator cells(r.image_size, r.roi, r.starts, r.weight.to(r.device), crop_to_image,
                                options_.accumulator_memory_bytes, options_.spill_folder);
  predict_windows(
      r, order, options_, predictor, progress,
      [&](int64_t, int64_t position, const at::Tensor& seg) { cells.add(static_cast<size_t>(position), seg, head); },
      [&] { cells.before_window(); }, /*weighted=*/!head);
}

}  // namespace swinsmt
