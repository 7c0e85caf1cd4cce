#pragma once
// The two passes over a window's cells that dominate the sliding-window aggregation on the CPU, each
// fused into one loop over memory: adding a weighted prediction to a cell's sums, and the mean's
// argmax over channels once the cell is finished. Same operations in the same order as ATen's
// `sum += prediction * weight` and `(sum / count).argmax(1)` (one rounding per multiplication,
// addition and division, the first of equal maxima), so the sums and labels are bit for bit those of
// MONAI's op sequence. Other devices, dtypes or layouts fall back to those ATen ops. Internal to
// pipeline/.

#include <ATen/core/Tensor.h>

namespace swinsmt::detail {

/// sum += prediction * weight: `sum` and `prediction` (1, C, *box), `weight` (1, 1, *box) (any
/// strides, e.g. views into a cell and the window's importance map). `prediction` is not modified.
void add_weighted(const at::Tensor& sum, const at::Tensor& prediction, const at::Tensor& weight);

/// labels = argmax over channels of sum / count, as uint8: `sum` (1, C, *box) with C <= 256,
/// `count` (1, 1, *box), `labels` (*box) (a view into the label map). NaN wins as in at::argmax.
void mean_argmax(const at::Tensor& sum, const at::Tensor& count, const at::Tensor& labels);

}  // namespace swinsmt::detail
