#include "fixtures.hpp"

#include <swinsmt/checkpoint.hpp>
#include <swinsmt/windows.hpp>

#include <gtest/gtest.h>

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

TEST(WindowsTest, ShiftMaskHasOfficialStructure) {
  // 14^3 stage, window 7, shift 3: window (0,0,0) lies in one region (all zeros); the last window
  // mixes 8 regions, so its mask holds -100 between tokens of different regions.
  auto mask = compute_shift_mask({14, 14, 14}, {7, 7, 7}, {3, 3, 3}, c10::kCPU);
  EXPECT_EQ(mask.sizes(), at::IntArrayRef({8, 343, 343}));
  EXPECT_EQ(mask[0].abs().sum().item<float>(), 0.0f);
  auto last = mask[7];
  EXPECT_EQ(last[0][0].item<float>(), 0.0f);
  EXPECT_EQ(last[0][342].item<float>(), -100.0f);
  const auto unique = std::get<0>(at::_unique(mask));
  EXPECT_TRUE(unique.equal(at::tensor({-100.0f, 0.0f})));
}
