// MONAI 1.3.2 Spacing(pixdim, mode="bilinear") after Orientation("RAS"), and its inverse as
// Invertd(nearest_interp=True) runs it, against MONAI's own outputs on small images
// (tests/data/spacing_reference.safetensors, tools/make_segment_references.py spacing).
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
  static const test::Fixture fixture("spacing_reference.safetensors");
  return fixture;
}

struct Case {
  std::string name;
  std::array<double, 3> pixdim;
  std::array<int64_t, 3> spaced_shape;
};

std::vector<Case> cases() {
  std::vector<Case> out;
  for (const auto& c : nlohmann::json::parse(reference().metadata().at("cases")))
    out.push_back({c.at("name"), c.at("pixdim").get<std::array<double, 3>>(),
                   c.at("spaced_shape").get<std::array<int64_t, 3>>()});
  return out;
}

}  // namespace

TEST(Spacing, EqualsMonaiBitForBitAndInvertsAsInvertd) {
  int checked = 0;
  for (const auto& c : cases()) {
    // A sheared grid (gantry tilt) is re-centred by MONAI; swinsmt keeps its own axes (spacing.hpp).
    if (c.name == "sheared") continue;
    SCOPED_TRACE(c.name);
    ++checked;
    const at::Tensor input = reference().at(c.name + ".input");
    const at::Tensor affine = reference().at(c.name + ".affine");
    const auto ras = orient_to_ras(input, affine);
    EXPECT_LE((ras.affine - reference().at(c.name + ".oriented_affine")).abs().max().item<double>(), 1e-12);
    const auto plan = plan_spacing(ras.affine, {ras.data.size(0), ras.data.size(1), ras.data.size(2)}, c.pixdim);
    EXPECT_EQ(plan.output_shape, c.spaced_shape);
    const at::Tensor spaced = spacing_linear(ras.data, plan);
    const at::Tensor expected = reference().at(c.name + ".spaced");
    ASSERT_EQ(spaced.sizes(), expected.sizes());
    // Bit for bit; an oblique grid's directions go through a Cholesky factor in MONAI (1 ulp apart).
    const double tolerance = c.name == "oblique" ? 1e-6 * expected.abs().max().item<double>() : 0.0;
    EXPECT_LE((spaced - expected).abs().max().item<double>(), tolerance);
    const at::Tensor spaced_affine = reference().at(c.name + ".spaced_affine");
    EXPECT_LE((plan.output_affine - spaced_affine).abs().max().item<double>(), 1e-9);
    // The labels on the spaced grid, back onto the input grid and orientation.
    const at::Tensor back =
        orient_from_ras(spacing_inverse_nearest(reference().at(c.name + ".pred"), plan), io_orientation(affine));
    const at::Tensor inverted = reference().at(c.name + ".inverted");
    ASSERT_EQ(back.sizes(), inverted.sizes());
    EXPECT_EQ(back.ne(inverted).sum().item<int64_t>(), 0);
  }
  EXPECT_EQ(checked, 8);
}

TEST(Spacing, NearlyEqualSpacingIsLeftAlone) {
  // Within 1e-3 mm of the target and the same shape: MONAI returns the image unchanged.
  const auto plan =
      plan_spacing(at::diag(at::tensor({1.5004, 1.4999, 1.5, 1.0}, at::kDouble)), {5, 6, 7}, {1.5, 1.5, 1.5});
  EXPECT_TRUE(plan.identity);
  const at::Tensor image = at::rand({5, 6, 7});
  EXPECT_TRUE(at::equal(spacing_linear(image, plan), image));
  EXPECT_THROW(plan_spacing(at::eye(4, at::kDouble), {5, 6, 7}, {0.0, 1.0, 1.0}), Error);
}
