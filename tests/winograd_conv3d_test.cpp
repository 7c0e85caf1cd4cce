// The Winograd F(2x2x2, 3x3x3) convolution against ATen's direct conv3d computed in double, on
// shapes that exercise its tiling (partial row blocks, single-tile rows, batches, parts). The whole
// model's fixtures (model_test.cpp) check it against the official implementation as well.
#include "kernels/winograd_conv3d.hpp"
#include "kernels/cpu_matmul.hpp"

#include <swinsmt/error.hpp>
#include <swinsmt/nn/unetr_blocks.hpp>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

using namespace swinsmt;
namespace kernels = swinsmt::detail;

namespace {

// Max |a - b| relative to max |b|.
double relative_error(const at::Tensor& a, const at::Tensor& b) {
  return (a.to(at::kDouble) - b.to(at::kDouble)).abs().max().item<double>() /
         std::max(1e-30, b.to(at::kDouble).abs().max().item<double>());
}

at::Tensor direct_in_double(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b) {
  return at::conv3d(x.to(at::kDouble), w.to(at::kDouble), b.defined() ? b.to(at::kDouble) : at::Tensor(), 1, 1);
}

struct Shape {
  int64_t batch;
  std::vector<int64_t> part_channels;
  int64_t out_channels, depth, height, width;
  bool bias;
};

class WinogradShapes : public ::testing::TestWithParam<Shape> {};

}  // namespace

TEST_P(WinogradShapes, MatchesDirectConvolution) {
  if (!kernels::has_onednn_sgemm()) GTEST_SKIP() << "built without oneDNN: ConvLayer uses direct convolution only";
  c10::InferenceMode guard;
  const auto& s = GetParam();
  at::manual_seed(7);
  std::vector<at::Tensor> parts;
  int64_t cin = 0;
  for (const int64_t c : s.part_channels) {
    parts.push_back(at::randn({s.batch, c, s.depth, s.height, s.width}));
    cin += c;
  }
  const auto weight = at::randn({s.out_channels, cin, 3, 3, 3}) / 10.0;
  const auto bias = s.bias ? at::randn({s.out_channels}) : at::Tensor();
  const auto expected = direct_in_double(at::cat(parts, 1), weight, bias);
  const auto got = kernels::winograd_conv3d(parts, weight, bias);
  ASSERT_EQ(got.sizes(), expected.sizes());
  // fp32 direct convolution is ~1e-6 from the double result on these sizes; Winograd F(2, 3) only
  // adds, subtracts and halves around the same products.
  EXPECT_LT(relative_error(got, expected), 2e-6);
  EXPECT_LT(relative_error(at::conv3d(at::cat(parts, 1), weight, bias, 1, 1), expected), 2e-6);
}

INSTANTIATE_TEST_SUITE_P(Tilings, WinogradShapes,
                         ::testing::Values(Shape{1, {3}, 4, 2, 2, 2, true},   // one tile
                                           Shape{2, {5}, 7, 4, 6, 10, true},  // batch 2, rows of 5 tiles in one block
                                           Shape{1, {2, 3}, 6, 6, 70, 4, false},     // 35 tile rows: blocks of 32 and 3
                                           Shape{1, {8, 1, 4}, 5, 8, 8, 130, true},  // 65 tiles a row: one row a block
                                           Shape{2, {16}, 16, 12, 14, 16, false}));  // several channels, no bias

TEST(Winograd, AppliesOnlyWhereItComputesTheSameConvolution) {
  c10::InferenceMode guard;
  const auto w = at::zeros({4, 6, 3, 3, 3});
  const auto x = at::zeros({1, 6, 32, 32, 32});
  EXPECT_EQ(kernels::winograd_conv3d_applies({x}, w), kernels::has_onednn_sgemm());
  EXPECT_EQ(kernels::winograd_conv3d_applies({x.narrow(1, 0, 2), x.narrow(1, 2, 4)}, w), kernels::has_onednn_sgemm());
  EXPECT_FALSE(kernels::winograd_conv3d_applies({x.narrow(1, 0, 5)}, w));                  // channels differ
  EXPECT_FALSE(kernels::winograd_conv3d_applies({at::zeros({1, 6, 33, 32, 32})}, w));      // odd depth
  EXPECT_FALSE(kernels::winograd_conv3d_applies({at::zeros({1, 6, 8, 8, 8})}, w));         // too small to pay
  EXPECT_FALSE(kernels::winograd_conv3d_applies({x}, at::zeros({4, 6, 5, 5, 5})));         // not 3x3x3
  EXPECT_FALSE(kernels::winograd_conv3d_applies({x.to(at::kDouble)}, w.to(at::kDouble)));  // not float32
  EXPECT_FALSE(kernels::winograd_conv3d_applies({x, at::zeros({1, 0, 16, 32, 32})}, w));   // sizes differ
}

TEST(Winograd, ConvLayerReadsConcatenatedPartsWithoutConcatenating) {
  c10::InferenceMode guard;
  at::manual_seed(3);
  const std::vector<at::Tensor> parts = {at::randn({2, 3, 32, 32, 32}), at::randn({2, 5, 32, 32, 32})};
  const auto whole = at::cat(parts, 1);
  for (const int64_t kernel : {1, 3}) {
    ConvLayer layer(ConvOptions(8, 4, kernel).bias(kernel == 1));
    for (auto& p : layer->parameters()) p.copy_(at::randn(p.sizes()) / 10.0);
    const auto reference =
        at::conv3d(whole.to(at::kDouble), layer->conv->weight.to(at::kDouble),
                   layer->conv->bias.defined() ? layer->conv->bias.to(at::kDouble) : at::Tensor(), 1, (kernel - 1) / 2);
    EXPECT_LT(relative_error(layer->forward_concatenated(parts), reference), 2e-6) << "kernel " << kernel;
    EXPECT_LT(relative_error(layer->forward(whole), reference), 2e-6) << "kernel " << kernel;
  }
}

TEST(Winograd, PointwiseLayerWritesOverTheFirstPartOnlyWhenNothingElseHoldsIt) {
  // UnetResBlock's projection (conv3) overwrites the decoder's upsampled map it no longer needs; a
  // map the caller still holds must stay untouched. 48^3 voxels: more than one block of voxels.
  c10::InferenceMode guard;
  at::manual_seed(4);
  ConvLayer layer(ConvOptions(10, 4, 1).bias(true));
  for (auto& p : layer->parameters()) p.copy_(at::randn(p.sizes()) / 10.0);
  const auto first = at::randn({2, 4, 48, 48, 48}), second = at::randn({2, 6, 48, 48, 48});
  const auto reference = at::conv3d(at::cat({first, second}, 1).to(at::kDouble), layer->conv->weight.to(at::kDouble),
                                    layer->conv->bias.to(at::kDouble));

  std::vector<at::Tensor> held = {first, second};  // `first` is still held here
  const auto copy = first.clone();
  const auto out_held = layer->forward_concatenated_over_first(held);
  EXPECT_NE(out_held.data_ptr(), first.data_ptr());
  EXPECT_TRUE(at::equal(first, copy)) << "a map the caller holds was overwritten";
  EXPECT_LT(relative_error(out_held, reference), 2e-6);

  std::vector<at::Tensor> owned = {first.clone(), second};
  const void* storage = owned[0].data_ptr();
  const auto out_owned = layer->forward_concatenated_over_first(owned);
  EXPECT_EQ(out_owned.data_ptr(), storage) << "the owned first part was not reused";
  EXPECT_LT(relative_error(out_owned, reference), 2e-6);

  // A contiguous view whose storage another tensor (`base`) still holds.
  const auto base = at::cat({first, first}, 0);
  std::vector<at::Tensor> view = {base.narrow(0, 0, 2), second};
  const auto out_view = layer->forward_concatenated_over_first(view);
  EXPECT_NE(out_view.data_ptr(), base.data_ptr());
  EXPECT_TRUE(at::equal(base, at::cat({first, first}, 0))) << "a view's storage was overwritten";
  EXPECT_LT(relative_error(out_view, reference), 2e-6);
}

TEST(Winograd, ConvLayerRejectsPartsOfTheWrongChannelCount) {
  c10::InferenceMode guard;
  ConvLayer layer(ConvOptions(8, 4, 3));
  try {
    layer->forward_concatenated({at::zeros({1, 3, 4, 4, 4}), at::zeros({1, 4, 4, 4, 4})});
    FAIL() << "7 channels accepted by an 8-channel layer";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("7 channels in all, the layer expects 8"), std::string::npos) << e.what();
  }
}

TEST(Winograd, GradientsFlowWhereAutogradRecords) {
  // The fused kernels write through raw pointers; with autograd recording, ConvLayer must take the
  // ATen path so the gradient reaches the weight, equal to the direct convolution's.
  at::manual_seed(5);
  ConvLayer layer(ConvOptions(4, 3, 3));
  const std::vector<at::Tensor> parts = {at::randn({1, 2, 16, 16, 16}), at::randn({1, 2, 16, 16, 16})};
  const auto out = layer->forward_concatenated(parts);
  ASSERT_TRUE(out.requires_grad());
  out.square().sum().backward();
  auto weight = layer->conv->weight.detach().clone().requires_grad_(true);
  at::conv3d(at::cat(parts, 1), weight, {}, 1, 1).square().sum().backward();
  ASSERT_TRUE(layer->conv->weight.grad().defined());
  EXPECT_TRUE(at::allclose(layer->conv->weight.grad(), weight.grad(), 1e-4, 1e-3));
}
