// Mirrors monai/inferers/utils.py sliding_window_inference (MONAI 1.3.2) for the non-buffered path;
// comments name the MONAI steps so the two can be read side by side.
#include <swinsmt/pipeline/sliding_window.hpp>

#include "common/strings.hpp"

#include <swinsmt/error.hpp>

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>

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

at::Tensor SlidingWindowInferer::operator()(const at::Tensor& inputs_, const Predictor& predictor,
                                            const ProgressCallback& progress) const {
  const int64_t ndim = inputs_.dim() - 2;
  if (ndim < 1 || ndim > 3)
    throw Error("sliding-window input must be (B, C, 1 to 3 spatial dims), got " + std::to_string(inputs_.dim()) +
                " dimensions");
  if (!inputs_.is_floating_point()) throw Error("sliding-window input must be floating point");
  const auto compute_dtype = inputs_.scalar_type();
  const int64_t batch_size = inputs_.size(0);
  const c10::Device device = options_.output_device.value_or(inputs_.device());
  const c10::Device sw_device = options_.window_device.value_or(inputs_.device());
  std::vector<int64_t> original_size(inputs_.sizes().begin() + 2, inputs_.sizes().end());
  const auto roi = resolve_roi_size(options_.roi_size, original_size);

  // In case the image is smaller than the ROI: pad symmetrically (floor on the low side), constant.
  std::vector<int64_t> image_size(ndim), pad_size;
  for (int64_t d = 0; d < ndim; ++d) image_size[d] = std::max(original_size[d], roi[d]);
  for (int64_t k = inputs_.dim() - 1; k > 1; --k) {  // F.pad order: last dimension first
    const int64_t diff = std::max<int64_t>(roi[k - 2] - inputs_.size(k), 0);
    pad_size.push_back(diff / 2);
    pad_size.push_back(diff - diff / 2);
  }
  const bool padded = std::any_of(pad_size.begin(), pad_size.end(), [](int64_t p) { return p != 0; });
  const at::Tensor inputs = padded ? at::constant_pad_nd(inputs_, pad_size, options_.padding_value) : inputs_;

  const auto interval = scan_interval(image_size, roi, options_.overlap);
  const auto slices = window_starts(image_size, roi, interval);
  const auto num_win = static_cast<int64_t>(slices.size());
  const int64_t total_slices = num_win * batch_size;

  // Window-level importance map (valid patch size == roi after padding).
  const at::Tensor w_t =
      importance_map(roi, options_.blend, options_.sigma_scale, sw_device).to(compute_dtype).unsqueeze(0).unsqueeze(0);

  auto window_index = [&](int64_t idx) {
    std::vector<at::indexing::TensorIndex> index{Slice(idx / num_win, idx / num_win + 1), Slice()};
    const auto& start = slices[idx % num_win];
    for (int64_t d = 0; d < ndim; ++d) index.emplace_back(Slice(start[d], start[d] + roi[d]));
    return index;
  };

  at::Tensor output, count_map;
  if (progress) progress(0, total_slices);  // a bar can show the total before the first (slow) window
  for (int64_t slice_g = 0; slice_g < total_slices; slice_g += options_.sw_batch_size) {
    const int64_t end = std::min(slice_g + options_.sw_batch_size, total_slices);
    std::vector<at::Tensor> windows;
    for (int64_t idx = slice_g; idx < end; ++idx) windows.push_back(inputs.index(window_index(idx)));
    const at::Tensor win_data = (windows.size() > 1 ? at::cat(windows) : windows[0]).to(sw_device);
    at::Tensor seg = predictor(win_data);

    if (seg.dim() != inputs.dim() || seg.size(0) != end - slice_g ||
        !std::equal(roi.begin(), roi.end(), seg.sizes().begin() + 2))
      throw Error("the predictor returned " + join(seg.sizes().vec()) + " for windows of " +
                  join(win_data.sizes().vec()) + "; expected (windows, channels) + the window size");

    if (!output.defined()) {
      std::vector<int64_t> output_shape{batch_size, seg.size(1)};
      output_shape.insert(output_shape.end(), image_size.begin(), image_size.end());
      output = at::zeros(output_shape, at::TensorOptions().dtype(compute_dtype).device(device));
      std::vector<int64_t> count_shape{1, 1};
      count_shape.insert(count_shape.end(), image_size.begin(), image_size.end());
      count_map = at::zeros(count_shape, at::TensorOptions().dtype(compute_dtype).device(device));
      const at::Tensor w_on_device = w_t.to(device);
      for (const auto& start : slices) {
        std::vector<at::indexing::TensorIndex> index{Slice(), Slice()};
        for (int64_t d = 0; d < ndim; ++d) index.emplace_back(Slice(start[d], start[d] + roi[d]));
        count_map.index(index).add_(w_on_device);
      }
    }
    seg.mul_(w_t);  // in place, in the predictor's dtype, as MONAI's `*=`
    seg = seg.to(device);
    for (int64_t idx = slice_g; idx < end; ++idx) {
      auto index = window_index(idx);
      output.index(index).add_(seg[idx - slice_g]);
    }
    if (progress) progress(end, total_slices);
  }

  output.div_(count_map);  // account for overlapping sections
  if (padded) {
    // Remove the padding: dimension d was padded by pad_size[2 * (ndim - 1 - d)] on the low side.
    std::vector<at::indexing::TensorIndex> crop{Slice(), Slice()};
    for (int64_t d = 0; d < ndim; ++d) {
      const int64_t low = pad_size[2 * (ndim - 1 - d)];
      crop.emplace_back(Slice(low, low + original_size[d]));
    }
    output = output.index(crop);
  }
  return output;
}

}  // namespace swinsmt
