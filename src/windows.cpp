#include <swinsmt/windows.hpp>

#include <ATen/ATen.h>

#include <algorithm>
#include <optional>
#include <utility>

namespace swinsmt {
namespace {

// Python's slice(start, stop) resolved against a length, as numpy/torch indexing does it.
std::pair<int64_t, int64_t> python_slice(int64_t length, std::optional<int64_t> start, std::optional<int64_t> stop) {
  const auto resolve = [length](int64_t i) { return i < 0 ? std::max<int64_t>(length + i, 0) : std::min(i, length); };
  const int64_t begin = start ? resolve(*start) : 0;
  const int64_t end = stop ? resolve(*stop) : length;
  return {begin, std::max(begin, end)};
}

}  // namespace

WindowGeometry window_geometry(const Size3& stage, const Size3& window, const Size3& shift) {
  WindowGeometry g{window, shift};
  for (size_t i = 0; i < 3; ++i) {
    if (stage[i] <= window[i]) {
      g.window[i] = stage[i];
      g.shift[i] = 0;
    }
  }
  return g;
}

at::Tensor window_partition(const at::Tensor& x, const Size3& w) {
  const int64_t b = x.size(0), d = x.size(1), h = x.size(2), wd = x.size(3), c = x.size(4);
  return x.view({b, d / w[0], w[0], h / w[1], w[1], wd / w[2], w[2], c})
      .permute({0, 1, 3, 5, 2, 4, 6, 7})
      .contiguous()
      .view({-1, w[0] * w[1] * w[2], c});
}

at::Tensor window_reverse(const at::Tensor& windows, const Size3& w, int64_t b, const Size3& dims) {
  return windows.view({b, dims[0] / w[0], dims[1] / w[1], dims[2] / w[2], w[0], w[1], w[2], -1})
      .permute({0, 1, 4, 2, 5, 3, 6, 7})
      .contiguous()
      .view({b, dims[0], dims[1], dims[2], -1});
}

at::Tensor compute_shift_mask(const Size3& dims, const Size3& window, const Size3& shift, c10::Device device) {
  // Region ids exactly as the official loops assign them. With a zero shift, Python's slice(-0, None)
  // covers the whole axis, so that axis collapses into its last region: reproduced by python_slice.
  auto img_mask = at::zeros({1, dims[0], dims[1], dims[2], 1});
  std::array<std::array<std::pair<int64_t, int64_t>, 3>, 3> ranges;
  for (size_t a = 0; a < 3; ++a) {
    ranges[a] = {python_slice(dims[a], std::nullopt, -window[a]), python_slice(dims[a], -window[a], -shift[a]),
                 python_slice(dims[a], -shift[a], std::nullopt)};
  }
  int64_t count = 0;
  for (const auto& rd : ranges[0])
    for (const auto& rh : ranges[1])
      for (const auto& rw : ranges[2]) {
        img_mask.narrow(1, rd.first, rd.second - rd.first)
            .narrow(2, rh.first, rh.second - rh.first)
            .narrow(3, rw.first, rw.second - rw.first)
            .fill_(static_cast<double>(count));
        ++count;
      }
  auto mask_windows = window_partition(img_mask, window).squeeze(-1);  // (nW, n)
  auto diff = mask_windows.unsqueeze(1) - mask_windows.unsqueeze(2);
  return at::where(diff != 0, at::full({}, -100.0), at::full({}, 0.0)).to(device);
}

std::optional<at::Tensor> stage_shift_mask(const Size3& stage, const Size3& window, c10::Device device) {
  const auto geo = window_geometry(stage, window, {window[0] / 2, window[1] / 2, window[2] / 2});
  if (!geo.shifted()) return std::nullopt;
  const auto round_up = [](int64_t v, int64_t m) { return (v + m - 1) / m * m; };
  return compute_shift_mask(
      {round_up(stage[0], geo.window[0]), round_up(stage[1], geo.window[1]), round_up(stage[2], geo.window[2])},
      geo.window, geo.shift, device);
}

at::Tensor relative_position_index(const Size3& w) {
  const int64_t n = w[0] * w[1] * w[2];
  auto index = at::empty({n, n}, at::kLong);
  auto* out = index.data_ptr<int64_t>();
  const int64_t stride_d = (2 * w[1] - 1) * (2 * w[2] - 1), stride_h = 2 * w[2] - 1;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t di = i / (w[1] * w[2]), hi = (i / w[2]) % w[1], wi = i % w[2];
    for (int64_t j = 0; j < n; ++j) {
      const int64_t dj = j / (w[1] * w[2]), hj = (j / w[2]) % w[1], wj = j % w[2];
      out[i * n + j] = (di - dj + w[0] - 1) * stride_d + (hi - hj + w[1] - 1) * stride_h + (wi - wj + w[2] - 1);
    }
  }
  return index;
}

}  // namespace swinsmt
