#include "fixtures.hpp"

#include <swinsmt/checkpoint/checkpoint.hpp>
#include <swinsmt/error.hpp>
#include <swinsmt/nn/shift_mask.hpp>
#include <swinsmt/nn/windows.hpp>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

using namespace swinsmt;

TEST(WindowsTest, RelativePositionIndexMatchesOfficialBuffer) {
  // The official buffer as saved in the authors' Fabric checkpoint format.
  const auto state = read_state_dict(test::data_path("checkpoints/smt_f12_v2_e4.fabric.pth"));
  const auto& official = state["swinViT.layers1.0.blocks.0.attn.relative_position_index"];
  const auto ours = relative_position_index({7, 7, 7});
  EXPECT_EQ(official.sizes(), ours.sizes());
  EXPECT_TRUE(ours.equal(official));
}

TEST(WindowsTest, GeometryShrinksWindowAndDropsShiftPerAxis) {
  auto g = window_geometry({4, 4, 8}, {7, 7, 7}, {3, 3, 3});
  EXPECT_EQ(g.window, (Size3{4, 4, 7}));
  EXPECT_EQ(g.shift, (Size3{0, 0, 3}));
  EXPECT_TRUE(g.shifted());
  EXPECT_FALSE(window_geometry({2, 2, 2}, {7, 7, 7}, {3, 3, 3}).shifted());
}

TEST(WindowsTest, PartitionAndReverseAreInverse) {
  auto x = at::randn({2, 14, 7, 21, 5});
  auto w = window_partition(x, {7, 7, 7});
  EXPECT_EQ(w.sizes(), at::IntArrayRef({2 * 2 * 1 * 3, 343, 5}));
  EXPECT_TRUE(window_reverse(w, {7, 7, 7}, 2, {14, 7, 21}).equal(x));
}

TEST(WindowsTest, ShiftMaskEqualsTheOfficialMask) {
  // The official BasicLayer's masks (tools/make_segment_references.py shiftmask): stages shifted along
  // three axes, along two with the third shrunk to the stage, and padded.
  const test::Fixture reference("shift_mask_reference.safetensors");
  const auto stages = nlohmann::json::parse(reference.metadata().at("stages"));
  ASSERT_EQ(stages.size(), 3u);
  for (const auto& [name, stage] : stages.items()) {
    const auto expected = reference.at(name).to(at::kFloat) * -100.0f;
    const auto mask = stage_shift_mask(stage.at("stage").get<Size3>(), {7, 7, 7}, c10::kCPU);
    ASSERT_TRUE(mask.has_value()) << name;
    EXPECT_EQ(mask->region_ids().scalar_type(), at::kInt) << name;
    EXPECT_EQ(mask->windows(), expected.size(0)) << name;
    EXPECT_EQ(mask->tokens(), expected.size(1)) << name;
    EXPECT_TRUE(mask->additive().equal(expected)) << name;
    // A block of windows is the same block of the whole mask.
    EXPECT_TRUE(mask->additive(1, 2).equal(expected.narrow(0, 1, 2))) << name;
  }
}

TEST(WindowsTest, StagesThatDoNotShiftHaveNoMask) {
  // Every axis shrunk to the stage (<= 7): no shift, no mask (official: a mask of zeros, unused).
  EXPECT_FALSE(stage_shift_mask({7, 4, 2}, {7, 7, 7}, c10::kCPU).has_value());
  EXPECT_TRUE(stage_shift_mask({8, 4, 2}, {7, 7, 7}, c10::kCPU).has_value());
}

TEST(WindowsTest, ShiftMaskRefusesAStageThatIsNotPadded) {
  EXPECT_THROW(ShiftMask({10, 14, 14}, {7, 7, 7}, {3, 3, 3}, c10::kCPU), Error);
}

namespace {

// The official steps of a shifted-window block, one op each (SwinTransformerBlock.forward_part1).
at::Tensor official_pad_shift_partition(const at::Tensor& x, const Size3& w, const Size3& s) {
  const int64_t d = x.size(1), h = x.size(2), wd = x.size(3);
  auto y = at::constant_pad_nd(
      x, {0, 0, 0, (w[2] - wd % w[2]) % w[2], 0, (w[1] - h % w[1]) % w[1], 0, (w[0] - d % w[0]) % w[0]}, 0);
  if (s[0] > 0 || s[1] > 0 || s[2] > 0) y = at::roll(y, {-s[0], -s[1], -s[2]}, {1, 2, 3});
  return window_partition(y, w);
}

at::Tensor official_reverse_shift_crop(const at::Tensor& windows, const Size3& w, const Size3& s, int64_t b,
                                       const Size3& dims) {
  const Size3 padded{(dims[0] + w[0] - 1) / w[0] * w[0], (dims[1] + w[1] - 1) / w[1] * w[1],
                     (dims[2] + w[2] - 1) / w[2] * w[2]};
  auto y = window_reverse(windows, w, b, padded);
  if (s[0] > 0 || s[1] > 0 || s[2] > 0) y = at::roll(y, {s[0], s[1], s[2]}, {1, 2, 3});
  return y.narrow(1, 0, dims[0]).narrow(2, 0, dims[1]).narrow(3, 0, dims[2]).contiguous();
}

}  // namespace

TEST(WindowsTest, OneCopyPartitionAndReverseEqualTheOfficialSteps) {
  // Padding on some axes, shifts on some (a shrunk window drops its shift), batch 2, shift 0.
  const std::vector<std::vector<int64_t>> shapes{// (B, D, H, W, C)
                                                 {1, 16, 16, 16, 8},
                                                 {2, 14, 9, 20, 3},
                                                 {1, 4, 16, 8, 5},
                                                 {1, 7, 7, 7, 2}};
  const std::vector<std::pair<Size3, Size3>> geometries{
      {{7, 7, 7}, {3, 3, 3}}, {{7, 7, 7}, {0, 0, 0}}, {{4, 7, 7}, {0, 3, 3}}, {{7, 7, 7}, {3, 0, 2}}};
  for (std::size_t i = 0; i < shapes.size(); ++i) {
    for (const auto& [window, shift] : geometries) {
      const auto& shape = shapes[i];
      for (const auto dtype : {at::kFloat, at::kDouble, at::kBFloat16}) {
        SCOPED_TRACE(::testing::Message()
                     << "shape " << at::IntArrayRef(shape) << " window " << window[0] << "," << window[1] << ","
                     << window[2] << " shift " << shift[0] << "," << shift[1] << "," << shift[2] << " " << dtype);
        // A transposed view: the copy must not assume a contiguous input.
        auto x = at::randn({shape[0], shape[1], shape[2], shape[4], shape[3]}).to(dtype).transpose(3, 4);
        const auto windows = pad_shift_partition(x, window, shift);
        const auto expected = official_pad_shift_partition(x, window, shift);
        ASSERT_EQ(windows.sizes(), expected.sizes());
        EXPECT_TRUE(windows.equal(expected));
        // Back from different values (as the attention output is), through a non-contiguous view.
        const auto attended = (windows * 3 + 1).transpose(0, 1).contiguous().transpose(0, 1);
        const Size3 dims{shape[1], shape[2], shape[3]};
        const auto back = reverse_shift_crop(attended, window, shift, shape[0], dims);
        EXPECT_TRUE(back.is_contiguous());
        EXPECT_TRUE(back.equal(official_reverse_shift_crop(attended, window, shift, shape[0], dims)));
        EXPECT_TRUE(reverse_shift_crop(windows, window, shift, shape[0], dims).equal(x));
      }
    }
  }
  // Nothing to copy: the shapes still come out right.
  const auto empty = pad_shift_partition(at::empty({1, 5, 7, 7, 0}), {7, 7, 7}, {3, 3, 3});
  EXPECT_EQ(empty.sizes(), at::IntArrayRef({1, 343, 0}));
  EXPECT_EQ(reverse_shift_crop(empty, {7, 7, 7}, {3, 3, 3}, 1, {5, 7, 7}).sizes(), at::IntArrayRef({1, 5, 7, 7, 0}));
}
