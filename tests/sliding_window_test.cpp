// Sliding windows against MONAI 1.3.2 (tests/data/sliding_window_reference.safetensors, made by
// tools/make_segment_references.py windows).
#include "fixtures.hpp"
#include "pipeline/window_cells.hpp"
#include "test_support.hpp"

#include <swinsmt/error.hpp>
#include <swinsmt/pipeline/sliding_window.hpp>

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>

using namespace swinsmt;
namespace fs = std::filesystem;

namespace {

const test::Fixture& reference() {
  static const test::Fixture fixture("sliding_window_reference.safetensors");
  return fixture;
}

nlohmann::json cases() { return nlohmann::json::parse(reference().metadata().at("cases")); }

/// The predictor of the reference script: window-dependent (its mean), two output channels.
at::Tensor test_predictor(const at::Tensor& x) {
  const at::Tensor mean = x.mean({2, 3, 4}, /*keepdim=*/true);
  return at::cat({x * 2.0 + 1.0, x * x - mean}, 1);
}

std::vector<int64_t> starts_along(const std::vector<std::vector<int64_t>>& starts, size_t dim) {
  std::vector<int64_t> out;
  for (const auto& s : starts)
    if (std::find(out.begin(), out.end(), s[dim]) == out.end()) out.push_back(s[dim]);
  return out;
}

}  // namespace

TEST(SlidingWindow, IssueExamplePositions) {
  // 200 voxels, roi 96: starts 0, 72, 104 at overlap 0.25 and 0, 48, 96, 104 at 0.5 (MONAI's values).
  const std::vector<int64_t> image{200, 200, 200}, roi{96, 96, 96};
  EXPECT_EQ(starts_along(window_starts(image, roi, scan_interval(image, roi, 0.25)), 0),
            (std::vector<int64_t>{0, 72, 104}));
  EXPECT_EQ(starts_along(window_starts(image, roi, scan_interval(image, roi, 0.5)), 2),
            (std::vector<int64_t>{0, 48, 96, 104}));
}

TEST(SlidingWindow, StartsMatchMonaiDensePatchSlices) {
  int checked = 0;
  for (const auto& c : cases()) {
    const std::string name = c.at("name");
    if (name.rfind("starts.", 0) != 0) continue;
    const auto image = c.at("image").get<std::vector<int64_t>>();
    const auto roi = c.at("roi").get<std::vector<int64_t>>();
    const auto starts = window_starts(image, roi, scan_interval(image, roi, c.at("overlap").get<double>()));
    const at::Tensor expected = reference().at(name);
    ASSERT_EQ(static_cast<int64_t>(starts.size()), expected.size(0)) << name;
    for (size_t w = 0; w < starts.size(); ++w)
      for (int d = 0; d < 3; ++d) EXPECT_EQ(starts[w][d], expected[w][d].item<int64_t>()) << name << " window " << w;
    ++checked;
  }
  EXPECT_EQ(checked, 7);
}

TEST(SlidingWindow, ImportanceMapsMatchMonai) {
  for (const auto& size : std::vector<std::vector<int64_t>>{{7, 9, 11}, {8, 5, 6}, {16, 31, 64}, {3, 1, 2}}) {
    std::string key = std::to_string(size[0]) + "x" + std::to_string(size[1]) + "x" + std::to_string(size[2]);
    for (const auto& [mode, name] :
         {std::pair{BlendMode::gaussian, "gaussian"}, std::pair{BlendMode::constant, "constant"}}) {
      const at::Tensor expected = reference().at(std::string("importance.") + name + "." + key);
      const at::Tensor actual = importance_map(size, mode);
      ASSERT_EQ(actual.sizes(), expected.sizes());
      // Same float32 operations in the same order: identical bits.
      EXPECT_TRUE(at::equal(actual, expected))
          << name << " " << key << " max error " << (actual - expected).abs().max().item<double>();
    }
  }
}

TEST(SlidingWindow, WholeInferenceMatchesMonai) {
  int checked = 0;
  for (const auto& c : cases()) {
    const std::string name = c.at("name");
    if (name.rfind("swi.", 0) != 0) continue;
    SlidingWindowOptions options;
    options.roi_size = c.at("roi").get<std::vector<int64_t>>();
    options.overlap = c.at("overlap").get<double>();
    options.blend = parse_blend_mode(c.at("mode").get<std::string>());
    options.sw_batch_size = c.at("sw_batch_size").get<int64_t>();
    SlidingWindowInferer inferer(options);
    int64_t calls = 0, last_done = 0, last_total = 0;
    const at::Tensor input = reference().at(name + ".input");
    const at::Tensor actual = inferer(input, test_predictor, [&](int64_t done, int64_t total) {
      ++calls;
      last_done = done;
      last_total = total;
    });
    const std::vector<int64_t> spatial(input.sizes().begin() + 2, input.sizes().end());
    EXPECT_EQ(last_total, inferer.window_count(spatial)) << name;
    EXPECT_EQ(last_done, last_total) << name;
    EXPECT_EQ(calls, 1 + (last_total + options.sw_batch_size - 1) / options.sw_batch_size)
        << name;  // + the (0, total) call
    test::expect_close(name, actual, reference().at(name + ".output"), 1e-6);
    ++checked;
  }
  EXPECT_EQ(checked, 4);
}

TEST(SlidingWindow, SmallerThanRoiIsPaddedAndCroppedBack) {
  // A constant predictor output must come back unchanged whatever the padding.
  SlidingWindowOptions options;
  options.roi_size = {8, 8, 8};
  SlidingWindowInferer inferer(options);
  const at::Tensor input = at::rand({1, 1, 5, 9, 3});
  const at::Tensor out = inferer(input, [](const at::Tensor& x) { return x * 0 + 3.0; });
  ASSERT_EQ(out.sizes().vec(), (std::vector<int64_t>{1, 1, 5, 9, 3}));
  EXPECT_NEAR((out - 3.0).abs().max().item<double>(), 0.0, 1e-6);
  // The identity predictor returns the input: the crop is at the right place.
  const at::Tensor same = inferer(input, [](const at::Tensor& x) { return x.clone(); });
  test::expect_close("identity through padding", same, input, 1e-6);
}

TEST(SlidingWindow, RejectsBadOptionsAndPredictorShapes) {
  SlidingWindowOptions bad;
  bad.overlap = 1.0;
  EXPECT_THROW(SlidingWindowInferer{bad}, Error);
  bad.overlap = 0.5;
  bad.sw_batch_size = 0;
  EXPECT_THROW(SlidingWindowInferer{bad}, Error);
  SlidingWindowOptions options;
  options.roi_size = {4};
  SlidingWindowInferer inferer(options);
  EXPECT_THROW(inferer(at::rand({1, 1, 6, 6, 6}), [](const at::Tensor& x) { return x.slice(2, 0, 2); }), Error);
  EXPECT_THROW(parse_blend_mode("median"), Error);
}

// Cell-by-cell aggregation (SlidingWindowInferer::argmax) against the whole-volume aggregation then
// argmax: the same labels, whether the open cells stay in memory or wait in the scratch file.
TEST(SlidingWindow, CellArgmaxEqualsWholeVolumeArgmax) {
  // A predictor whose channels cross each other in space, so the argmax changes across the volume.
  const auto predictor = [](const at::Tensor& x) {
    const at::Tensor mean = x.mean({2, 3, 4}, /*keepdim=*/true);
    return at::cat({x * 2.0 - 0.7, x.sin() + mean, (x * 3.0).cos(), x * x - mean}, 1);
  };
  struct Case {
    std::vector<int64_t> size, roi;
    int64_t batch;
    double overlap;
  };
  const std::vector<Case> cases = {
      {{61, 30, 25}, {16, 16, 16}, 1, 0.5},   // longest axis first: MONAI's own order, bit for bit
      {{20, 27, 53}, {16, 12, 16}, 1, 0.5},   // longest axis last: windows reordered
      {{24, 40, 18}, {16, 16, 16}, 2, 0.25},  // a batch of two images, longest axis in the middle
      {{10, 33, 7}, {8, 16, 8}, 1, 0.7},      // smaller than the window along z: padded
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(::testing::PrintToString(c.size));
    SlidingWindowOptions options;
    options.roi_size = c.roi;
    options.overlap = c.overlap;
    options.accumulator_memory_bytes = -1;  // never spill
    const SlidingWindowInferer inferer(options);
    std::vector<int64_t> shape{c.batch, 1};
    shape.insert(shape.end(), c.size.begin(), c.size.end());
    const at::Tensor input = at::rand(shape, at::TensorOptions().dtype(at::kFloat));
    const at::Tensor whole = inferer(input, predictor).argmax(1).to(at::kByte);
    int64_t last_done = 0, last_total = 0;
    const at::Tensor slabs = inferer.argmax(input, predictor, [&](int64_t done, int64_t total) {
      last_done = done;
      last_total = total;
    });
    ASSERT_EQ(slabs.sizes(), whole.sizes());
    EXPECT_EQ(last_done, last_total);
    EXPECT_EQ(last_total, c.batch * inferer.window_count(c.size));
    const int64_t differ = slabs.ne(whole).sum().item<int64_t>();
    if (c.size[0] == *std::max_element(c.size.begin(), c.size.end()) && c.batch == 1) EXPECT_EQ(differ, 0);
    // Elsewhere only the order of the float sums differs: an argmax can flip only at a near tie.
    EXPECT_LE(static_cast<double>(differ), 1e-5 * static_cast<double>(whole.numel()) + 1);
    // Spilling every open cell before each window changes where the sums wait, not their order.
    options.accumulator_memory_bytes = 0;
    const at::Tensor spilled = SlidingWindowInferer(options).argmax(input, predictor);
    EXPECT_TRUE(spilled.equal(slabs));
  }
}

TEST(SlidingWindow, PointwiseHeadAppliedPerCellEqualsHeadOfWholeWindows) {
  // features then a head that maps each voxel on its own (elementwise, so every box gives the same
  // bits): argmax(features, head) must equal argmax(head o features), spilled or not, including a
  // window larger than the head's pieces (kHeadVoxels) and a batch of two.
  const auto features = [](const at::Tensor& x) {
    const at::Tensor mean = x.mean({2, 3, 4}, /*keepdim=*/true);
    return at::cat({x * 2.0 - 0.7, x.sin() + mean}, 1);
  };
  const auto head = [](const at::Tensor& f) {
    const at::Tensor a = f.narrow(1, 0, 1), b = f.narrow(1, 1, 1);
    return at::cat({a, b, a * b, (a - b).cos(), b * b - a}, 1);
  };
  struct Case {
    std::vector<int64_t> size, roi;
    int64_t batch;
    double overlap;
  };
  // The last case: cells of 64^3 voxels (no overlap), several head calls each.
  for (const auto& c : std::vector<Case>{{{61, 30, 25}, {16, 16, 16}, 1, 0.5},
                                         {{20, 27, 53}, {16, 12, 16}, 2, 0.5},
                                         {{128, 64, 64}, {64, 64, 64}, 1, 0.0}}) {
    SCOPED_TRACE(::testing::PrintToString(c.size));
    SlidingWindowOptions options;
    options.roi_size = c.roi;
    options.overlap = c.overlap;
    std::vector<int64_t> shape{c.batch, 1};
    shape.insert(shape.end(), c.size.begin(), c.size.end());
    const at::Tensor input = at::rand(shape);
    const at::Tensor expected =
        SlidingWindowInferer(options).argmax(input, [&](const at::Tensor& x) { return head(features(x)); });
    int64_t head_calls = 0;
    const auto counted_head = [&](const at::Tensor& f) {
      ++head_calls;
      return head(f);
    };
    EXPECT_TRUE(SlidingWindowInferer(options).argmax(input, features, counted_head).equal(expected));
    EXPECT_GT(head_calls, c.batch * SlidingWindowInferer(options).window_count(c.size));
    if (c.overlap == 0.0) EXPECT_GE(head_calls, 2 * 4);  // two windows, each one cell in four pieces
    options.accumulator_memory_bytes = 0;                // every open cell through the scratch file
    EXPECT_TRUE(SlidingWindowInferer(options).argmax(input, features, head).equal(expected));
  }
  // A head that changes the box is named.
  const auto message = test::error_of([&] {
    SlidingWindowOptions options;
    options.roi_size = {8};
    SlidingWindowInferer(options).argmax(at::rand({1, 1, 16, 8, 8}), features,
                                         [](const at::Tensor& f) { return f.narrow(2, 0, 1); });
  });
  EXPECT_NE(message.find("the pointwise head returned"), std::string::npos) << message;
}

// The cells themselves: held bytes bounded by the budget while the predictor would run, the scratch
// file used and unlinked (nothing in its folder), every cell finished at the end.
TEST(SlidingWindow, CellAccumulatorHoldsAtMostItsBudget) {
  const std::vector<int64_t> size{40, 24, 20}, roi{16, 16, 16};
  const auto starts = window_starts(size, roi, scan_interval(size, roi, 0.5));
  const at::Tensor weight = importance_map(roi, BlendMode::gaussian).unsqueeze(0).unsqueeze(0);
  const int64_t channels = 3;
  const int64_t window_bytes = 16 * 16 * 16 * (channels + 1) * 4;
  test::ScratchDir dir("spill");
  at::Tensor labels = at::zeros(size, at::kByte);
  swinsmt::detail::CellAccumulator cells(size, roi, starts, weight, labels, window_bytes / 4, dir.path());
  const int64_t open_at_start = cells.open_cells();
  EXPECT_GT(open_at_start, static_cast<int64_t>(starts.size()));
  int64_t held_before_predictor = 0;
  for (size_t p = 0; p < starts.size(); ++p) {
    cells.before_window();
    // Nothing but the unlinked scratch file's handle: the folder stays empty.
    EXPECT_TRUE(fs::is_empty(dir.path()));
    held_before_predictor = std::max(held_before_predictor, cells.held_memory_bytes());
    cells.add(p, at::rand({1, channels, 16, 16, 16}) * weight);
  }
  EXPECT_LE(held_before_predictor, window_bytes / 4);
  EXPECT_GT(cells.spill_file_bytes(), 0);
  EXPECT_EQ(cells.open_cells(), 0);
  EXPECT_EQ(cells.held_memory_bytes(), 0);
  EXPECT_LT(labels.max().item<int>(), channels);
}

TEST(SlidingWindow, UnusableSpillFolderIsNamed) {
  SlidingWindowOptions options;
  options.roi_size = {8};
  options.accumulator_memory_bytes = 0;
  options.spill_folder = "/nonexistent/swinsmt-spill";
  const auto message = test::error_of([&] {
    SlidingWindowInferer(options).argmax(at::rand({1, 1, 20, 12, 12}), [](const at::Tensor& x) { return x; });
  });
  EXPECT_NE(message.find("/nonexistent/swinsmt-spill"), std::string::npos) << message;
  EXPECT_NE(message.find("--temp-dir"), std::string::npos) << message;
}
