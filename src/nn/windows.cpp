#include <swinsmt/nn/windows.hpp>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <cstring>

namespace swinsmt {

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

Size3 padded_dims(const Size3& dims, const Size3& window) {
  const auto round_up = [](int64_t v, int64_t m) { return (v + m - 1) / m * m; };
  return {round_up(dims[0], window[0]), round_up(dims[1], window[1]), round_up(dims[2], window[2])};
}

namespace {

// Copies rows (one token's channels, `row_bytes`) between the stage layout (B, D, H, W) and the
// windows layout (B * nW, wd*wh*ww). The token at window position q (in padded, shifted
// coordinates) is the stage token at (q + shift) mod padded, or padding where that lies past
// `dims`: torch.roll(x, -shift)[q] == x[(q + shift) mod padded], and rolling back by +shift inverts
// it. Padding rows are zero on the way in and dropped on the way out.
void copy_window_rows(const char* from, char* to, bool into_windows, int64_t b, const Size3& dims, const Size3& window,
                      const Size3& shift, std::size_t row_bytes) {
  if (row_bytes == 0 || b == 0 || dims[0] == 0 || dims[1] == 0 || dims[2] == 0) return;  // nothing to copy
  const Size3 padded = padded_dims(dims, window);
  const Size3 count{padded[0] / window[0], padded[1] / window[1], padded[2] / window[2]};
  const int64_t per_batch = count[0] * count[1] * count[2], n = window[0] * window[1] * window[2];
  at::parallel_for(0, b * per_batch, 1, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      const int64_t batch = t / per_batch, in_batch = t % per_batch;
      const int64_t a0 = in_batch / (count[1] * count[2]), a1 = in_batch / count[2] % count[1],
                    a2 = in_batch % count[2];
      int64_t window_row = t * n;
      for (int64_t i = 0; i < window[0]; ++i) {
        const int64_t p0 = (a0 * window[0] + i + shift[0]) % padded[0];
        for (int64_t j = 0; j < window[1]; ++j) {
          const int64_t p1 = (a1 * window[1] + j + shift[1]) % padded[1];
          for (int64_t k = 0; k < window[2]; ++k, ++window_row) {
            const int64_t p2 = (a2 * window[2] + k + shift[2]) % padded[2];
            const bool inside = p0 < dims[0] && p1 < dims[1] && p2 < dims[2];
            const int64_t stage_row = ((batch * dims[0] + p0) * dims[1] + p1) * dims[2] + p2;
            const auto window_offset = static_cast<std::size_t>(window_row) * row_bytes;
            const auto stage_offset = static_cast<std::size_t>(stage_row) * row_bytes;
            if (into_windows) {
              if (inside) {
                std::memcpy(to + window_offset, from + stage_offset, row_bytes);
              } else {
                std::memset(to + window_offset, 0, row_bytes);
              }
            } else if (inside) {
              std::memcpy(to + stage_offset, from + window_offset, row_bytes);
            }
          }
        }
      }
    }
  });
}

}  // namespace

at::Tensor pad_shift_partition(const at::Tensor& x, const Size3& window, const Size3& shift) {
  const Size3 dims{x.size(1), x.size(2), x.size(3)};
  const Size3 padded = padded_dims(dims, window);
  if (!x.device().is_cpu()) {  // the official three steps, each one op on the device
    auto y = at::constant_pad_nd(x, {0, 0, 0, padded[2] - dims[2], 0, padded[1] - dims[1], 0, padded[0] - dims[0]}, 0);
    if (shift != Size3{0, 0, 0}) y = at::roll(y, {-shift[0], -shift[1], -shift[2]}, {1, 2, 3});
    return window_partition(y, window);
  }
  const auto source = x.contiguous();
  const int64_t b = x.size(0), c = x.size(4);
  auto windows = at::empty({b * (padded[0] / window[0]) * (padded[1] / window[1]) * (padded[2] / window[2]),
                            window[0] * window[1] * window[2], c},
                           x.options());
  copy_window_rows(static_cast<const char*>(source.data_ptr()), static_cast<char*>(windows.data_ptr()), true, b, dims,
                   window, shift, static_cast<std::size_t>(c) * x.element_size());
  return windows;
}

at::Tensor reverse_shift_crop(const at::Tensor& windows, const Size3& window, const Size3& shift, int64_t b,
                              const Size3& dims) {
  if (!windows.device().is_cpu()) {
    auto y = window_reverse(windows, window, b, padded_dims(dims, window));
    if (shift != Size3{0, 0, 0}) y = at::roll(y, {shift[0], shift[1], shift[2]}, {1, 2, 3});
    return y.narrow(1, 0, dims[0]).narrow(2, 0, dims[1]).narrow(3, 0, dims[2]).contiguous();
  }
  const auto source = windows.contiguous();
  const int64_t c = windows.size(2);
  auto x = at::empty({b, dims[0], dims[1], dims[2], c}, windows.options());
  copy_window_rows(static_cast<const char*>(source.data_ptr()), static_cast<char*>(x.data_ptr()), false, b, dims,
                   window, shift, static_cast<std::size_t>(c) * windows.element_size());
  return x;
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
