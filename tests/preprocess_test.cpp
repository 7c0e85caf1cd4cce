// Orientation against nibabel/MONAI (tests/data/orientation_reference.safetensors), its exact
// inverse, resampling and the HU window.
#include "fixtures.hpp"

#include <swinsmt/error.hpp>
#include <swinsmt/io/volume.hpp>
#include <swinsmt/pipeline/preprocess.hpp>
#include <swinsmt/pipeline/spacing.hpp>

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

using namespace swinsmt;

namespace {

const test::Fixture& reference() {
  static const test::Fixture fixture("orientation_reference.safetensors");
  return fixture;
}

}  // namespace

class OrientationMatchesMonai : public ::testing::TestWithParam<std::string> {};

TEST_P(OrientationMatchesMonai, OrntDataAndAffine) {
  const std::string name = "orientation." + GetParam();
  const at::Tensor affine = reference().at(name + ".affine").to(at::kDouble);
  const auto ornt = io_orientation(affine);
  const at::Tensor expected_ornt = reference().at(name + ".ornt");
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(ornt[i].world_axis, expected_ornt[i][0].item<int64_t>()) << name << " axis " << i;
    EXPECT_EQ(ornt[i].sign, expected_ornt[i][1].item<int64_t>()) << name << " axis " << i;
  }
  const at::Tensor data = at::arange(2 * 3 * 4 * 5, at::kFloat).view({2, 3, 4, 5});
  const auto ras = orient_to_ras(data, affine);
  EXPECT_TRUE(at::equal(ras.data.contiguous(), reference().at(name + ".output"))) << name;
  test::expect_close(name + " affine", ras.affine.to(at::kFloat), reference().at(name + ".output_affine"), 1e-5);
  // The inverse restores the stored layout exactly.
  EXPECT_TRUE(at::equal(orient_from_ras(ras.data, ornt).contiguous(), data)) << name;
}

INSTANTIATE_TEST_SUITE_P(Affines, OrientationMatchesMonai, ::testing::Values("ras", "las", "lps", "pir", "oblique"));

TEST(Preprocess, AxisCodes) {
  EXPECT_EQ(io::axis_codes(reference().at("orientation.las.affine").to(at::kDouble)), "LAS");
  EXPECT_EQ(io::axis_codes(reference().at("orientation.pir.affine").to(at::kDouble)), "PIL");
  EXPECT_TRUE(is_ras(io_orientation(at::eye(4, at::kDouble))));
}

TEST(Preprocess, ScaleIntensityMatchesMonai) {
  const at::Tensor x = reference().at("scale_intensity.input");
  EXPECT_TRUE(at::equal(scale_intensity(x, -1024, 1024), reference().at("scale_intensity.output")));
  EXPECT_TRUE(at::equal(scale_intensity(x, -160, 240), reference().at("scale_intensity.output_narrow")));
  EXPECT_THROW(scale_intensity(x, 100, 100), Error);
}

TEST(Preprocess, LinearResamplingIsExactOnLinearData) {
  // f(i, j, k) = 2i + 3j - k is reproduced exactly by trilinear interpolation at any position.
  const int64_t X = 9, Y = 7, Z = 5;
  const at::Tensor i = at::arange(X, at::kDouble).view({X, 1, 1}), j = at::arange(Y, at::kDouble).view({1, Y, 1}),
                   k = at::arange(Z, at::kDouble).view({1, 1, Z});
  const at::Tensor f = (2 * i + 3 * j - k).to(at::kFloat);
  const std::array<double, 3> from{3.0, 2.0, 2.5}, to{1.5, 1.0, 1.25};
  const auto plan = plan_spacing(at::diag(at::tensor({from[0], from[1], from[2], 1.0}, at::kDouble)), {X, Y, Z}, to);
  const at::Tensor g = spacing_linear(f, plan);
  EXPECT_EQ(plan.output_shape, (std::array<int64_t, 3>{17, 13, 9}));  // (n - 1) * from / to + 1
  ASSERT_EQ(g.sizes().vec(), (std::vector<int64_t>{17, 13, 9}));
  const at::Tensor gi = at::arange(17, at::kDouble).view({17, 1, 1}) * (1.5 / 3.0);
  const at::Tensor gj = at::arange(13, at::kDouble).view({1, 13, 1}) * (1.0 / 2.0);
  const at::Tensor gk = at::arange(9, at::kDouble).view({1, 1, 9}) * (1.25 / 2.5);
  test::expect_close("trilinear on a linear field", g, (2 * gi + 3 * gj - gk).to(at::kFloat), 1e-4);
  // Back with nearest neighbour onto the original grid: every original voxel centre is a sample
  // (the coarse spacings are multiples of the fine ones: 3 = 2 x 1.5, 2 = 2 x 1, 2.5 = 2 x 1.25).
  const at::Tensor back = spacing_inverse_nearest(g, plan);
  test::expect_close("nearest back", back, f, 1e-4);
}

TEST(Preprocess, ResampledAffineKeepsDirectionsAndOrigin) {
  at::Tensor a = reference().at("orientation.oblique.affine").to(at::kDouble);
  const at::Tensor b = plan_spacing(a, {10, 10, 10}, {1.5, 1.5, 1.5}).output_affine;
  const auto s = io::spacing_of(b);
  // MONAI keeps an input voxel size within 1e-3 mm of the target (this float32 affine's 1.4999999922).
  for (double v : s) EXPECT_NEAR(v, 1.5, 1e-3);
  EXPECT_TRUE(at::allclose(b.select(1, 3), a.select(1, 3)));
  EXPECT_EQ(io::axis_codes(b), io::axis_codes(a));
}
