#include <swinsmt/error.hpp>
#include <swinsmt/nn/shift_mask.hpp>

#include <ATen/ATen.h>

#include <algorithm>
#include <array>
#include <optional>
#include <string>
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

ShiftMask::ShiftMask(const Size3& dims, const Size3& window, const Size3& shift, c10::Device device) {
  for (size_t a = 0; a < 3; ++a) {
    if (window[a] < 1 || dims[a] % window[a] != 0)
      throw Error("ShiftMask: the padded stage " + c10::str(at::IntArrayRef(dims)) +
                  " must be a multiple of the window " + c10::str(at::IntArrayRef(window)));
  }
  // Region ids exactly as the official loops assign them. With a zero shift, Python's slice(-0, None)
  // covers the whole axis, so that axis collapses into its last region: reproduced by python_slice.
  auto img_mask = at::zeros({1, dims[0], dims[1], dims[2], 1}, at::kInt);
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
            .fill_(count);
        ++count;
      }
  region_ids_ = window_partition(img_mask, window).squeeze(-1).to(device);  // (nW, n)
}

at::Tensor ShiftMask::additive(int64_t first, int64_t count, at::ScalarType dtype) const {
  const auto ids = region_ids_.narrow(0, first, count);
  // The official (mask_windows[:, None] - mask_windows[:, :, None]) != 0, filled with -100.
  const auto differ = ids.unsqueeze(1) != ids.unsqueeze(2);
  return at::zeros(differ.sizes(), ids.options().dtype(dtype)).masked_fill_(differ, -100.0);
}

std::optional<ShiftMask> stage_shift_mask(const Size3& stage, const Size3& window, c10::Device device) {
  const auto geo = window_geometry(stage, window, {window[0] / 2, window[1] / 2, window[2] / 2});
  if (!geo.shifted()) return std::nullopt;
  return ShiftMask(padded_dims(stage, geo.window), geo.window, geo.shift, device);
}

}  // namespace swinsmt
