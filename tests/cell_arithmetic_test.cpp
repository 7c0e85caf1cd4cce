// The fused cell passes of the sliding-window aggregation (pipeline/cell_arithmetic.hpp) against the
// ATen op sequence they replace, bit for bit, on the views the aggregation hands them.
#include "pipeline/cell_arithmetic.hpp"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <limits>

namespace {

using swinsmt::detail::add_weighted;
using swinsmt::detail::mean_argmax;

/// A (1, C, *box) view at `offset` into a larger tensor, as a cell's part of a window.
at::Tensor box_view(const at::Tensor& whole, int64_t o0, int64_t o1, int64_t o2, int64_t n0, int64_t n1, int64_t n2) {
  return whole.narrow(2, o0, n0).narrow(3, o1, n1).narrow(4, o2, n2);
}

}  // namespace

TEST(CellArithmetic, AddWeightedEqualsMultiplyThenAdd) {
  at::manual_seed(3);
  // Rows longer and shorter than a vector, views into a window's weight and a cell's sums.
  for (const auto& n : std::vector<std::array<int64_t, 3>>{{5, 7, 300}, {3, 4, 13}, {1, 1, 1}, {8, 9, 64}}) {
    SCOPED_TRACE(::testing::PrintToString(n));
    const at::Tensor window_weight = at::rand({1, 1, 12, 14, 320}) + 1e-3;
    const at::Tensor weight = box_view(window_weight, 2, 3, 5, n[0], n[1], n[2]);
    const at::Tensor cells = at::randn({1, 11, 10, 12, 310}) * 50;
    const at::Tensor sum = box_view(cells, 1, 2, 3, n[0], n[1], n[2]);
    const at::Tensor prediction = at::randn({1, 11, n[0], n[1], n[2]}) * 7;
    const at::Tensor expected_cells = cells.clone();
    box_view(expected_cells, 1, 2, 3, n[0], n[1], n[2]).add_(prediction * weight);
    const at::Tensor prediction_before = prediction.clone();
    add_weighted(sum, prediction, weight);
    EXPECT_TRUE(at::equal(cells, expected_cells));  // inside the box and, untouched, around it
    EXPECT_TRUE(at::equal(prediction, prediction_before));
  }
  // Another dtype takes ATen's ops.
  const at::Tensor sum = at::zeros({1, 2, 3, 3, 3}, at::kDouble), p = at::ones({1, 2, 3, 3, 3}, at::kDouble);
  add_weighted(sum, p, at::full({1, 1, 3, 3, 3}, 0.5, at::kDouble));
  EXPECT_TRUE(at::equal(sum, at::full({1, 2, 3, 3, 3}, 0.5, at::kDouble)));
}

TEST(CellArithmetic, MeanArgmaxEqualsDivideThenArgmax) {
  at::manual_seed(4);
  for (const int64_t channels : {1, 2, 118, 256}) {
    for (const auto& n : std::vector<std::array<int64_t, 3>>{{4, 5, 600}, {3, 2, 17}, {1, 1, 1}}) {
      SCOPED_TRACE(::testing::PrintToString(n) + " channels " + std::to_string(channels));
      at::Tensor sum = at::randn({1, channels, n[0], n[1], n[2]}) * 30;
      // Ties (a few channels equal to the first maximum) and values that tie only after the division.
      if (channels > 3) {
        sum.select(1, channels - 1).copy_(sum.select(1, 1));
        sum.select(1, 2).copy_(sum.select(1, 1) * (1 + std::numeric_limits<float>::epsilon() / 4));
      }
      const at::Tensor count = at::rand({1, 1, n[0], n[1], n[2]}) * 3 + 0.5;
      const at::Tensor map = at::full({n[0] + 2, n[1] + 3, n[2] + 1}, 200, at::kByte);
      const at::Tensor labels = map.narrow(0, 1, n[0]).narrow(1, 2, n[1]).narrow(2, 1, n[2]);
      const at::Tensor expected_map = map.clone();
      expected_map.narrow(0, 1, n[0])
          .narrow(1, 2, n[1])
          .narrow(2, 1, n[2])
          .copy_(sum.div(count).argmax(1)[0].to(at::kByte));
      mean_argmax(sum, count, labels);
      EXPECT_TRUE(at::equal(map, expected_map));
    }
  }
  // NaN wins as in at::argmax (the first NaN), an infinity beats every finite value.
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  const at::Tensor sum = at::tensor({1.0f, nan, 3.0f, nan, 2.0f, inf, 5.0f, 5.0f}).view({1, 8, 1, 1, 1});
  const at::Tensor labels = at::zeros({1, 1, 1}, at::kByte);
  mean_argmax(sum, at::ones({1, 1, 1, 1, 1}), labels);
  EXPECT_EQ(labels.item<uint8_t>(), sum.argmax(1).item<int64_t>());
  EXPECT_EQ(labels.item<uint8_t>(), 1);
  mean_argmax(sum.narrow(1, 4, 4), at::ones({1, 1, 1, 1, 1}), labels);
  EXPECT_EQ(labels.item<uint8_t>(), 1);  // the infinity
  mean_argmax(sum.narrow(1, 6, 2), at::ones({1, 1, 1, 1, 1}), labels);
  EXPECT_EQ(labels.item<uint8_t>(), 0);  // the first of two equal maxima
}
