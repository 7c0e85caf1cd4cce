// back_to_input "probabilities_linear" streamed (issue 18): the softmax of each finished cell,
// resampled plane by plane to the input grid, against the whole-volume path it replaces (the model
// grid's softmax whole, then spacing_inverse_linear_argmax, validated against MONAI): the same labels,
// bit for bit, on every geometry; and it holds a slab of the model grid, not the whole of it.
#include "allocation_peak.hpp"
#include "fixtures.hpp"
#include "pipeline/channel_softmax.hpp"
#include "pipeline/inverse_linear_stream.hpp"
#include "test_support.hpp"

#include <swinsmt/io/nifti.hpp>
#include <swinsmt/pipeline/body_crop.hpp>
#include <swinsmt/pipeline/card_options.hpp>
#include <swinsmt/pipeline/preprocess.hpp>
#include <swinsmt/pipeline/segment.hpp>
#include <swinsmt/pipeline/sliding_window.hpp>
#include <swinsmt/pipeline/spacing.hpp>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <gtest/gtest.h>

#include <iostream>

using namespace swinsmt;

namespace {

/// Five channels that cross each other in space, sharp enough that the argmax changes from voxel to
/// voxel and near-ties occur.
at::Tensor five_channels(const at::Tensor& x) {
  const at::Tensor mean = x.mean({2, 3, 4}, /*keepdim=*/true);
  return at::cat(
      {x * 6.0 - 3.0, (x * 9.0).sin() * 2.0 + mean, (x * 7.0).cos() * 2.0, x * x * 4.0 - mean, 1.5 - x * 2.0}, 1);
}

/// Fourteen channels (BTCV's count): the five above and their mixtures.
at::Tensor fourteen_channels(const at::Tensor& x) {
  const at::Tensor f = five_channels(x);
  std::vector<at::Tensor> channels{f};
  for (int64_t c = 0; c < 9; ++c) channels.push_back(f.narrow(1, c % 5, 1) * 0.5 + f.narrow(1, (c + 2) % 5, 1) * 0.6);
  return at::cat(channels, 1);
}

Box3 whole_box(const std::array<int64_t, 3>& grid) { return Box3{{{0, grid[0]}, {0, grid[1]}, {0, grid[2]}}}; }

/// A grid at `spacing` mm (RAS, origin off zero) and the plan that resamples it to `target` (none: the
/// network runs on the grid itself).
c10::optional<SpacingPlan> plan_for(const std::array<int64_t, 3>& shape, const std::array<double, 3>& spacing,
                                    const c10::optional<std::array<double, 3>>& target) {
  if (!target) return c10::nullopt;
  at::Tensor affine = at::eye(4, at::kDouble);
  for (int a = 0; a < 3; ++a) affine[a][a] = spacing[a];
  affine[0][3] = -101.25;
  affine[1][3] = 17.5;
  affine[2][3] = -3.0;
  return plan_spacing(affine, shape, *target);
}

/// The path segment() took before: operator()'s logits whole, their softmax on the whole model grid
/// (background outside `region`), then spacing_inverse_linear_argmax (or the argmax in place).
at::Tensor whole_volume_labels(const SlidingWindowInferer& inferer, const Predictor& predictor, const at::Tensor& image,
                               const c10::optional<SpacingPlan>& plan, const std::array<int64_t, 3>& grid,
                               const Box3& region) {
  const at::Tensor logits = inferer(image, predictor)[0];
  at::Tensor probabilities = at::zeros({logits.size(0), grid[0], grid[1], grid[2]});
  probabilities.select(0, 0).fill_(1);
  probabilities.narrow(1, region[0][0], region[0][1] - region[0][0])
      .narrow(2, region[1][0], region[1][1] - region[1][0])
      .narrow(3, region[2][0], region[2][1] - region[2][0])
      .copy_(swinsmt::detail::softmax_channels(logits));
  return plan ? spacing_inverse_linear_argmax(probabilities, *plan) : probabilities.argmax(0).to(at::kByte);
}

/// What segment() does now: each finished cell's softmax into the streamed inverse.
at::Tensor streamed_labels(const SlidingWindowInferer& inferer, const Predictor& predictor, int64_t channels,
                           const at::Tensor& image, const c10::optional<SpacingPlan>& plan,
                           const std::array<int64_t, 3>& grid, const Box3& region,
                           int64_t* peak_planes_bytes = nullptr) {
  swinsmt::detail::InverseLinearArgmax inverse(plan, grid, region, channels);
  inferer.for_each_cell(image, predictor, {}, [&](const std::vector<int64_t>& begin, const at::Tensor& mean) {
    inverse.add({region[0][0] + begin[0], region[1][0] + begin[1], region[2][0] + begin[2]},
                swinsmt::detail::softmax_channels(mean[0]));
  });
  if (peak_planes_bytes) *peak_planes_bytes = inverse.peak_held_bytes();
  return inverse.labels();
}

}  // namespace

TEST(ChannelSoftmax, EveryBoxGetsTheWholeGridsBits) {
  // The same numbers as at::softmax where ATen's kernel takes its vectorised path throughout (a
  // multiple of 16 voxels per thread), ...
  const int64_t voxels = 64 * 16 * at::get_num_threads();
  const at::Tensor flat = at::randn({14, voxels}) * 4.0;
  EXPECT_TRUE(swinsmt::detail::softmax_channels(flat).equal(at::softmax(flat, 0)));
  // ... and every box's softmax is the whole grid's there, bit for bit (at::softmax's are not: the
  // last voxels of each thread's share take a scalar path).
  const at::Tensor logits = at::randn({6, 37, 23, 19}) * 4.0;
  const at::Tensor whole = swinsmt::detail::softmax_channels(logits);
  EXPECT_LE((whole.sum(0) - 1).abs().max().item<double>(), 1e-6);
  for (const auto& box : std::vector<std::array<int64_t, 6>>{
           {0, 37, 0, 23, 0, 19}, {3, 17, 5, 11, 2, 19}, {36, 37, 0, 1, 18, 19}, {1, 30, 0, 23, 7, 8}}) {
    SCOPED_TRACE(::testing::PrintToString(box));
    const at::Tensor part =
        logits.narrow(1, box[0], box[1] - box[0]).narrow(2, box[2], box[3] - box[2]).narrow(3, box[4], box[5] - box[4]);
    EXPECT_TRUE(swinsmt::detail::softmax_channels(part).equal(whole.narrow(1, box[0], box[1] - box[0])
                                                                  .narrow(2, box[2], box[3] - box[2])
                                                                  .narrow(3, box[4], box[5] - box[4])));
  }
}

// The streamed inverse against the whole-volume one on grids that stress its bookkeeping: several
// rows of windows along the first axis, model grids finer and coarser than the input, padding, a
// region (body crop), spilled cells, no resampling.
TEST(ProbabilitiesLinear, StreamedEqualsWholeVolumeOnEveryGeometry) {
  struct Case {
    std::string name;
    std::array<int64_t, 3> input_shape;
    std::array<double, 3> input_spacing;
    c10::optional<std::array<double, 3>> target;
    std::vector<int64_t> roi;
    double overlap;
    c10::optional<Box3> region;  ///< of the model grid; none: all of it
    int64_t memory_bytes;
  };
  const std::vector<Case> cases = {
      {"finer input, anisotropic target, rows along x",
       {90, 30, 26},
       {1.0, 1.0, 1.25},
       {{1.5, 1.5, 2.0}},
       {16, 16, 16},
       0.5,
       c10::nullopt,
       -1},
      {"the same, every cell through the scratch file",
       {90, 30, 26},
       {1.0, 1.0, 1.25},
       {{1.5, 1.5, 2.0}},
       {16, 16, 16},
       0.5,
       c10::nullopt,
       0},
      {"coarser input (its planes skip model planes)",
       {20, 24, 12},
       {3.0, 1.0, 4.0},
       {{1.5, 1.5, 1.5}},
       {16, 12, 16},
       0.5,
       c10::nullopt,
       -1},
      {"smaller than the window: padded",
       {18, 10, 40},
       {1.0, 1.0, 1.0},
       {{1.5, 1.5, 1.5}},
       {16, 16, 16},
       0.25,
       c10::nullopt,
       -1},
      {"a body region, background around it",
       {90, 30, 26},
       {1.0, 1.0, 1.25},
       {{1.5, 1.5, 2.0}},
       {16, 16, 16},
       0.5,
       Box3{{{5, 50}, {2, 18}, {3, 16}}},
       1 << 16},
      {"identity plan",
       {40, 20, 18},
       {1.5, 1.5, 1.5},
       {{1.5, 1.5, 1.5}},
       {16, 16, 16},
       0.5,
       Box3{{{4, 40}, {0, 20}, {2, 18}}},
       -1},
      {"native spacing (no plan)", {40, 20, 18}, {1.5, 1.5, 1.5}, c10::nullopt, {16, 16, 16}, 0.5, c10::nullopt, -1},
  };
  test::ScratchDir spill("prob_spill");
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const auto plan = plan_for(c.input_shape, c.input_spacing, c.target);
    if (c.name == "identity plan") ASSERT_TRUE(plan && plan->identity);
    const std::array<int64_t, 3> grid = plan ? plan->output_shape : c.input_shape;
    const Box3 region = c.region.value_or(whole_box(grid));
    const at::Tensor image =
        at::rand({1, 1, region[0][1] - region[0][0], region[1][1] - region[1][0], region[2][1] - region[2][0]});
    SlidingWindowOptions options;
    options.roi_size = c.roi;
    options.overlap = c.overlap;
    options.accumulator_memory_bytes = c.memory_bytes;
    options.spill_folder = spill.path();
    const SlidingWindowInferer inferer(options);
    const at::Tensor expected = whole_volume_labels(inferer, five_channels, image, plan, grid, region);
    const at::Tensor labels = streamed_labels(inferer, five_channels, 5, image, plan, grid, region);
    ASSERT_EQ(labels.sizes(), expected.sizes());
    EXPECT_EQ(labels.ne(expected).sum().item<int64_t>(), 0);
    EXPECT_GE(std::get<0>(at::_unique(expected)).numel(), 3) << "classes change across the grid";
  }
}

// The memory bound, measured by an allocator that counts every CPU buffer, on model grids long along
// their first axis (the streaming axis), 14 channels: the whole-volume path holds the model grid's
// logits and probabilities, growing with the grid; the streamed one, besides the input-grid label map
// it returns, only the open cells (at most the accumulator budget while the predictor runs, plus the
// window being added), at most a window's thickness of probability planes and a window's prediction,
// whatever the grid's length.
TEST(ProbabilitiesLinear, StreamedHoldsASlabNotTheModelGrid) {
  const int64_t channels = 14, roi = 32;
  const int64_t budget = int64_t{1} << 20;
  test::ScratchDir spill("prob_memory");
  int64_t streamed_without_labels[2] = {0, 0};
  const int64_t lengths[2] = {256, 768};
  for (int run = 0; run < 2; ++run) {
    const int64_t length = lengths[run];
    SCOPED_TRACE(length);
    // 1 mm -> a length x 40 x 32 model grid at 1.5 mm.
    const auto plan = plan_for({length * 3 / 2, 60, 48}, {1.0, 1.0, 1.0}, {{1.5, 1.5, 1.5}});
    const std::array<int64_t, 3> grid = plan->output_shape;
    ASSERT_EQ(grid, (std::array<int64_t, 3>{length, 40, 32}));
    const int64_t probability_bytes = channels * grid[0] * grid[1] * grid[2] * 4;
    const int64_t plane_bytes = channels * grid[1] * grid[2] * 4;
    const int64_t window_bytes = (channels + 1) * roi * roi * roi * 4;  // a window's prediction and weights
    const at::Tensor image = at::rand({1, 1, grid[0], grid[1], grid[2]});
    SlidingWindowOptions options;
    options.roi_size = {roi};
    options.overlap = 0.5;
    options.accumulator_memory_bytes = budget;
    options.spill_folder = spill.path();
    const SlidingWindowInferer inferer(options);

    at::Tensor expected, labels;
    int64_t whole_peak = 0, streamed_peak = 0, planes_peak = 0;
    {
      const test::AllocationPeak peak;
      expected = whole_volume_labels(inferer, fourteen_channels, image, plan, grid, whole_box(grid));
      whole_peak = peak.peak_bytes();
    }
    {
      const test::AllocationPeak peak;
      labels = streamed_labels(inferer, fourteen_channels, channels, image, plan, grid, whole_box(grid), &planes_peak);
      streamed_peak = peak.peak_bytes();
    }
    std::cout << "model grid " << ::testing::PrintToString(grid) << ": probabilities " << probability_bytes / 1e6
              << " MB; peak allocated: whole volume " << whole_peak / 1e6 << " MB, streamed " << streamed_peak / 1e6
              << " MB (probability planes at most " << planes_peak / 1e6 << " MB, the input-grid labels "
              << labels.numel() / 1e6 << " MB)\n";
    EXPECT_TRUE(labels.equal(expected));
    // The old path holds at least the whole grid's probabilities (in fact its logits too).
    EXPECT_GE(whole_peak, probability_bytes);
    // The planes: a window's thickness along the first axis (the last row finishes all of its cells
    // at once), and the one before it that the interpolation still reads.
    EXPECT_LE(planes_peak, (roi + 2) * plane_bytes);
    streamed_without_labels[run] = streamed_peak - labels.numel();
    EXPECT_LE(streamed_without_labels[run], budget + (roi + 2) * plane_bytes + 4 * window_bytes);
    // On the long grid, in all (the label map included) under a quarter of its probabilities.
    if (run == 1) EXPECT_LE(streamed_peak, probability_bytes / 4);
  }
  // Three times the grid: the whole-volume path needs three times the memory, the streamed one the
  // same (besides its larger label map).
  EXPECT_LE(streamed_without_labels[1], streamed_without_labels[0] + 1'000'000);
}

// segment() with probabilities_linear against Segmenter::probabilities then
// spacing_inverse_linear_argmax and the inverse orientation, as segment() ran before: the network of
// the BTCV card (14 channels, tests/data/btcv_swinunetr_f12.pth) at roi 64 to keep it quick.
TEST(ProbabilitiesLinear, SegmentEqualsTheWholeVolumePath) {
  LoadOptions load_options;
  load_options.card = read_model_card(test::source_path("weights/btcv_swinunetr.card.json"));
  const LoadedModel model = load(test::data_path("btcv_swinunetr_f12.pth"), load_options);
  SegmentOptions base = segment_options(*model.card);
  ASSERT_EQ(base.back_to_input, BackToInput::probabilities_linear);
  base.roi_size = {64, 64, 64};

  struct Case {
    std::string name, file;
    std::array<int64_t, 3> crop;  ///< voxels kept from the start of each axis (0: all)
    int64_t accumulator_mib;
    bool crop_body, native;
  };
  const std::vector<Case> cases = {
      {"LPS, anisotropic voxels", "example_ct_aniso_lps.nii.gz", {0, 0, 0}, 512, false, false},
      {"LPS, every cell through the scratch file", "example_ct_aniso_lps.nii.gz", {0, 0, 0}, 0, false, false},
      {"smaller than the window: padded", "example_ct_sm.nii.gz", {20, 18, 0}, 512, false, false},
      {"body crop", "example_ct_sm.nii.gz", {60, 50, 0}, 512, true, false},
      {"native spacing", "example_ct_sm.nii.gz", {70, 40, 0}, 512, false, true},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    io::Volume ct = io::read_nifti(test::data_path(c.file));
    for (int64_t a = 0; a < 3; ++a)
      if (c.crop[a] > 0) ct.data = ct.data.narrow(a, 0, c.crop[a]);
    ct.data = ct.data.contiguous();
    // Air over the first 40 columns: the body box (grown by half a window) leaves part of x out.
    if (c.crop_body) ct.data.narrow(0, 0, 40).fill_(-1024);
    SegmentOptions options = base;
    options.accumulator_memory_mib = c.accumulator_mib;
    options.crop_body = c.crop_body;
    if (c.native) options.spacing = c10::nullopt;
    const Segmenter segmenter(model, options);
    const Segmentation result = segmenter.segment(ct);

    const ModelGridProbabilities whole = segmenter.probabilities(ct);
    const OrientedImage ras = orient_to_ras(ct.data, ct.affine);
    at::Tensor expected = whole.probabilities.argmax(0).to(at::kByte);
    if (options.spacing)
      expected = spacing_inverse_linear_argmax(
          whole.probabilities,
          plan_spacing(ras.affine, {ras.data.size(0), ras.data.size(1), ras.data.size(2)}, *options.spacing));
    expected = orient_from_ras(expected, io_orientation(ct.affine)).contiguous();
    std::cout << c.name << ": " << result.input_axis_codes << " " << ct.data.sizes() << " -> model grid "
              << ::testing::PrintToString(result.model_grid) << ", windows over "
              << ::testing::PrintToString(result.region) << ": " << result.windows << "\n";
    ASSERT_EQ(result.labels.sizes(), expected.sizes());
    EXPECT_EQ(result.labels.ne(expected).sum().item<int64_t>(), 0);
    EXPECT_GT(std::get<0>(at::_unique(expected)).numel(), 1);
    if (c.crop_body) EXPECT_GT(result.region[0][0], 0) << "the body crop leaves out part of the grid";
  }
}

TEST(ProbabilitiesLinear, IncompleteOrMisplacedBoxesAreNamed) {
  const auto plan = plan_for({30, 12, 9}, {1.0, 1.0, 1.0}, {{1.5, 1.5, 1.5}});
  const std::array<int64_t, 3> grid = plan->output_shape;
  swinsmt::detail::InverseLinearArgmax inverse(plan, grid, whole_box(grid), 3);
  const auto outside = test::error_of([&] { inverse.add({grid[0] - 1, 0, 0}, at::rand({3, 2, 1, 1})); });
  EXPECT_NE(outside.find("leaves the region"), std::string::npos) << outside;
  inverse.add({0, 0, 0}, at::rand({3, 4, grid[1], grid[2]}));
  const auto incomplete = test::error_of([&] { inverse.labels(); });
  EXPECT_NE(incomplete.find("not complete"), std::string::npos) << incomplete;
  EXPECT_NE(test::error_of([] {
              swinsmt::detail::InverseLinearArgmax(c10::nullopt, {4, 4, 4}, whole_box({4, 4, 4}), 300);
            }).find("256"),
            std::string::npos);
}
