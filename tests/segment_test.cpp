// The segmentation pipeline against the official one: label maps made by MONAI 1.3.2
// sliding_window_inference with the official SwinSMT and the bundled weights
// (tools/make_segment_references.py labels), on RAS and on reoriented copies of the CT.
#include "fixtures.hpp"
#include "test_support.hpp"

#include <swinsmt/error.hpp>
#include <swinsmt/io/nifti.hpp>
#include <swinsmt/pipeline/body_crop.hpp>
#include <swinsmt/pipeline/segment.hpp>
#include <swinsmt/pipeline/sliding_window.hpp>

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <iostream>

using namespace swinsmt;

namespace {

/// The settings of the reference label maps: roi 64, overlap 0.5, gaussian, native spacing.
SegmentOptions reference_options() {
  SegmentOptions o;
  o.roi_size = {64, 64, 64};
  o.overlap = 0.5;
  o.blend = BlendMode::gaussian;
  o.spacing = c10::nullopt;
  return o;
}

const Segmenter& segmenter() {
  static const Segmenter instance(load(test::example_weights()), reference_options());
  return instance;
}

double agreement(const at::Tensor& a, const at::Tensor& b) {
  EXPECT_EQ(a.sizes(), b.sizes());
  return a.eq(b).to(at::kDouble).mean().item<double>();
}

/// The same image stored another way: data.permute(perm) then flipped along `flips` (new axes), with
/// the affine that keeps every voxel at its world position.
io::Volume restored_as(const io::Volume& v, const std::vector<int64_t>& perm, const std::vector<int64_t>& flips) {
  io::Volume out = v;
  at::Tensor data = v.data.permute(perm);
  if (!flips.empty()) data = data.flip(flips);
  out.data = data.contiguous();
  // new index n -> permuted index m (undo flips) -> old index (undo permutation).
  at::Tensor undo_flip = at::eye(4, at::kDouble), undo_perm = at::zeros({4, 4}, at::kDouble);
  for (int64_t a : flips) {
    undo_flip[a][a] = -1.0;
    undo_flip[a][3] = static_cast<double>(out.data.size(a) - 1);
  }
  for (int64_t a = 0; a < 3; ++a) undo_perm[perm[a]][a] = 1.0;
  undo_perm[3][3] = 1.0;
  out.affine = v.affine.matmul(undo_perm).matmul(undo_flip);
  out.spacing = io::spacing_of(out.affine);
  out.geometry = io::NiftiGeometry::from_affine(out.affine);
  return out;
}

}  // namespace

TEST(Segment, ExampleCtMatchesOfficialMonaiPipeline) {
  const auto ct = io::read_nifti(test::source_path("examples/data/example_ct.nii.gz"));
  const auto reference = io::read_nifti(test::data_path("example_ct_ref_labels.nii.gz"));
  int64_t windows_seen = 0;
  const auto result = segmenter().segment(ct, [&](int64_t done, int64_t) { windows_seen = done; });
  EXPECT_EQ(result.windows, 27);
  EXPECT_EQ(windows_seen, 27);
  EXPECT_EQ(result.labels.scalar_type(), at::kByte);
  const double match = agreement(result.labels, reference.data);
  std::cout << "example_ct: " << match * 100 << " % of voxels agree with the official pipeline, "
            << result.labels.ne(reference.data).sum().item<int64_t>() << " differ, " << result.seconds << " s\n";
  EXPECT_GE(match, 0.9999);
  // Every step took time, and the steps add up to at most the whole.
  const auto& t = result.times;
  for (double step : {t.preprocessing, t.network, t.aggregation, t.back_to_input}) EXPECT_GT(step, 0.0);
  EXPECT_LE(t.preprocessing + t.network + t.aggregation + t.back_to_input, result.seconds);
}

class SegmentReoriented
    : public ::testing::TestWithParam<std::tuple<std::vector<int64_t>, std::vector<int64_t>, std::string>> {};

TEST_P(SegmentReoriented, SameLabelsStoredInInputOrientation) {
  const auto& [perm, flips, codes] = GetParam();
  const auto ras = io::read_nifti(test::data_path("example_ct_sm.nii.gz"));
  const auto reference = io::read_nifti(test::data_path("example_ct_sm_ref_labels.nii.gz"));
  const auto input = restored_as(ras, perm, flips);
  ASSERT_EQ(io::axis_codes(input.affine), codes);
  const auto result = segmenter().segment(input);
  EXPECT_EQ(result.input_axis_codes, codes);
  EXPECT_EQ(result.model_grid, (std::array<int64_t, 3>{122, 101, 30}));  // RAS grid, whatever the storage
  // The official labels of the RAS image, stored the way the input is.
  at::Tensor expected = reference.data.permute(perm);
  if (!flips.empty()) expected = expected.flip(flips);
  const double match = agreement(result.labels, expected.contiguous());
  std::cout << codes << ": " << match * 100 << " % of voxels agree\n";
  EXPECT_GE(match, 0.9999);
}

INSTANTIATE_TEST_SUITE_P(Storage, SegmentReoriented,
                         // A flip and a permutation together (LAS alone is covered by the CLI test); RAS by
                         // ExampleCtMatchesOfficialMonaiPipeline. Each case costs nine 64^3 windows.
                         ::testing::Values(std::make_tuple(std::vector<int64_t>{2, 0, 1}, std::vector<int64_t>{1},
                                                           "SLA")));

TEST(Segment, ResampledRunReturnsLabelsOnTheInputGrid) {
  SegmentOptions options = reference_options();
  options.spacing =
      std::array<double, 3>{6.0, 6.0, 6.0};  // 122 x 101 x 30 at 3 mm -> 61 x 51 x 15: one padded 64^3 window
  Segmenter coarse(load(test::example_weights()), options);
  const auto ct = io::read_nifti(test::data_path("example_ct_sm.nii.gz"));
  const auto result = coarse.segment(ct);
  // MONAI's compute_shape_offset: the corners' extent + 1 rounded half to even (121 * 0.5 + 1 = 61.5
  // -> 62); along z the float64 chain lands just below 15.5.
  EXPECT_EQ(result.model_grid, (std::array<int64_t, 3>{62, 51, 15}));
  EXPECT_EQ(result.windows, 1);
  EXPECT_EQ(result.labels.sizes(), ct.data.sizes());
  // Which model voxel each input voxel takes (half-way ties included) is MONAI's, checked bit for bit
  // by Spacing.EqualsMonaiBitForBitAndInvertsAsInvertd and end to end by SegmentDefaultSpacing.
  EXPECT_EQ(result.labels.scalar_type(), at::kByte);
  // A CT given up (segment(Volume&&)): the same labels, its voxels released, its geometry kept.
  io::Volume given = ct;
  const auto from_given = coarse.segment(std::move(given));
  EXPECT_FALSE(given.data.defined());  // NOLINT(bugprone-use-after-move): the documented state
  EXPECT_TRUE(given.affine.equal(ct.affine));
  EXPECT_TRUE(from_given.labels.equal(result.labels));
}

// The probabilities API: the whole grid's softmax, whose argmax is segment()'s labels (RAS input,
// native spacing: the model grid is the input grid), on the model grid's affine.
TEST(Segment, ProbabilitiesArgmaxIsTheLabels) {
  auto ct = io::read_nifti(test::data_path("example_ct_sm.nii.gz"));
  // 96 x 80 x 30 of it (same origin): four 64^3 windows, two along x and two along y.
  ct.data = ct.data.slice(0, 0, 96).slice(1, 0, 80).contiguous();
  const auto labels = segmenter().segment(ct).labels;
  const auto p = segmenter().probabilities(ct);
  ASSERT_EQ(p.probabilities.dim(), 4);
  EXPECT_EQ(p.probabilities.size(0), 118);
  EXPECT_EQ(p.probabilities.sizes().slice(1), ct.data.sizes());
  EXPECT_LE((p.probabilities.sum(0) - 1).abs().max().item<double>(), 1e-5);
  EXPECT_LE((p.affine - ct.affine).abs().max().item<double>(), 1e-9);
  EXPECT_EQ(p.windows, 4);
  // Windows run in MONAI's order in both (the longest axis is the first): the same sums.
  EXPECT_TRUE(p.probabilities.argmax(0).to(at::kByte).equal(labels));
}

TEST(Segment, RejectsUnusableOptions) {
  SegmentOptions options = reference_options();
  options.roi_size = {50};
  EXPECT_THROW(Segmenter(load(test::example_weights()), options), Error);
  options = reference_options();
  options.hu_min = 10;
  options.hu_max = -10;
  EXPECT_THROW(Segmenter(load(test::example_weights()), options), Error);
}

TEST(Segment, KeepLabels) {
  const at::Tensor labels = at::tensor({0, 1, 2, 3, 5, 5, 117}, at::kByte);
  EXPECT_TRUE(at::equal(keep_labels(labels, {5, 117}), at::tensor({0, 0, 0, 0, 5, 5, 117}, at::kByte)));
}

// The default path: Orientationd RAS -> Spacingd (1.5 mm or three values, bilinear) ->
// ScaleIntensityRanged -> sliding windows (roi 64 keeps it fast) -> argmax -> Invertd(nearest_interp)
// back to the input grid and orientation, as the official MONAI 1.3 pipeline runs it
// (tools/make_segment_references.py labels15).
class SegmentDefaultSpacing
    : public ::testing::TestWithParam<std::tuple<std::string, std::string, std::array<double, 3>>> {};

TEST_P(SegmentDefaultSpacing, MatchesOfficialMonaiPipeline) {
  const auto& [input, expected, spacing] = GetParam();
  SegmentOptions options = reference_options();
  options.spacing = spacing;
  const Segmenter resampling(load(test::example_weights()), options);
  const auto ct = io::read_nifti(input.rfind("examples/", 0) == 0 ? test::source_path(input) : test::data_path(input));
  const auto reference = io::read_nifti(test::data_path(expected));
  const auto result = resampling.segment(ct);
  ASSERT_EQ(result.labels.sizes(), reference.data.sizes());
  EXPECT_LE((ct.affine - reference.affine).abs().max().item<double>(), 1e-6);
  const double match = agreement(result.labels, reference.data);
  std::cout << input << " at " << spacing[0] << " x " << spacing[1] << " x " << spacing[2] << " mm: " << result.windows
            << " windows on " << result.model_grid[0] << " x " << result.model_grid[1] << " x " << result.model_grid[2]
            << ", " << match * 100 << " % of voxels agree with the official pipeline, "
            << result.labels.ne(reference.data).sum().item<int64_t>() << " differ, " << result.seconds << " s\n";
  EXPECT_GE(match, 0.9999);
}

INSTANTIATE_TEST_SUITE_P(
    Official, SegmentDefaultSpacing,
    ::testing::Values(std::make_tuple("examples/data/example_ct.nii.gz", "example_ct_ref_labels_1p5.nii.gz",
                                      std::array<double, 3>{1.5, 1.5, 1.5}),
                      // 0.8 x 0.8 x 2.5 mm stored LPS: flips, and a finer grid resampled coarser in-plane.
                      std::make_tuple("example_ct_aniso_lps.nii.gz", "example_ct_aniso_lps_ref_labels_1p5.nii.gz",
                                      std::array<double, 3>{1.5, 1.5, 1.5}),
                      // Three values; 3 mm -> 2 mm along z puts every other inverse sample on a half-way tie.
                      std::make_tuple("example_ct_sm.nii.gz", "example_ct_sm_ref_labels_1p5x1p5x2.nii.gz",
                                      std::array<double, 3>{1.5, 1.5, 2.0})));

TEST(BodyCrop, LargestRegionAboveMinus500Hu) {
  at::Tensor hu = at::full({40, 30, 20}, -1000.0, at::kFloat);
  hu.slice(0, 5, 25).slice(1, 4, 20).slice(2, 2, 18).fill_(40.0);    // the body
  hu.slice(0, 30, 34).slice(1, 25, 28).slice(2, 0, 3).fill_(300.0);  // a smaller object apart from it
  hu[39][0][0] = 1000.0;                                             // one bright voxel
  const auto box = body_box(hu);
  ASSERT_TRUE(box.has_value());
  EXPECT_EQ(*box, (Box3{{{5, 25}, {4, 20}, {2, 18}}}));
  EXPECT_EQ(grow_box(*box, {8, 8, 8}, {40, 30, 20}), (Box3{{{0, 33}, {0, 28}, {0, 20}}}));
  EXPECT_FALSE(body_box(at::full({4, 4, 4}, -1000.0)).has_value());
}

TEST(BodyCrop, WindowsOnlyOverTheBody) {
  // The 30-slice crop in a field of air: 80 voxels of it on each side in x and y, 40 in z.
  auto ct = io::read_nifti(test::data_path("example_ct_sm.nii.gz"));
  ct.data = at::constant_pad_nd(ct.data.to(at::kFloat), {40, 40, 80, 80, 80, 80}, -1024.0);
  ct.affine = ct.affine.clone();
  for (int r = 0; r < 3; ++r) ct.affine[r][3] -= (ct.affine[r][0] * 80 + ct.affine[r][1] * 80 + ct.affine[r][2] * 40);
  SegmentOptions options = reference_options();
  options.spacing = std::array<double, 3>{6.0, 6.0, 6.0};
  options.crop_body = true;
  const Segmenter cropping(load(test::example_weights()), options);
  const auto result = cropping.segment(ct);
  SlidingWindowOptions sw;
  sw.roi_size = {64, 64, 64};
  const int64_t full_windows =
      SlidingWindowInferer(sw).window_count({result.model_grid[0], result.model_grid[1], result.model_grid[2]});
  std::cout << "crop body: " << result.windows << " windows instead of " << full_windows << " on a "
            << result.model_grid[0] << " x " << result.model_grid[1] << " x " << result.model_grid[2] << " grid\n";
  EXPECT_LT(result.windows, full_windows);
  // The region is the body (inside the original field of view: x 40..101, y 40..91 at 6 mm) grown by
  // half a window, so at most that wide; far outside it everything is background.
  EXPECT_LE(result.region[0][1] - result.region[0][0], 61 + 64 + 1);
  EXPECT_LE(result.region[1][1] - result.region[1][0], 51 + 64 + 1);
  EXPECT_GE(result.region[0][0], 40 - 32 - 1);
  EXPECT_EQ(result.labels.sizes(), ct.data.sizes());
  ASSERT_GT(result.region[0][0], 1);
  EXPECT_EQ(result.labels.slice(0, 0, 2 * result.region[0][0] - 2).max().item<int>(), 0);
  EXPECT_GT(result.labels.slice(0, 80, 202).max().item<int>(), 0);
}
