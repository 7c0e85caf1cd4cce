// bfloat16 products on the CPU (`--dtype bfloat16`): the Soft MoE products take bfloat16 operands and
// accumulate in float32; everything else stays float32. Where the CPU lacks AVX512-BF16 (or the
// build lacks oneDNN) loading a model in bfloat16 on the CPU must be a clear error instead.
#include "fixtures.hpp"
#include "kernels/cpu_matmul.hpp"
#include "kernels/soft_moe_block_softmax.hpp"
#include "test_support.hpp"

#include <swinsmt/checkpoint/load.hpp>
#include <swinsmt/error.hpp>
#include <swinsmt/io/nifti.hpp>
#include <swinsmt/kernels/runtime_info.hpp>
#include <swinsmt/nn/soft_moe.hpp>

#include <c10/core/InferenceMode.h>
#include <gtest/gtest.h>

#include <limits>
#include <vector>

using namespace swinsmt;

namespace {

/// The (c, w) tile softmax of `logits` with fresh statistics, in float32 or into bfloat16 outputs.
struct TileResult {
  at::Tensor dispatch, combine;  // float32 (the bfloat16 outputs widened)
  at::Tensor col_max, col_sum, row_max, row_sum;
};

TileResult run_tile(const at::Tensor& logits_in, bool bf16) {
  const int64_t c = logits_in.size(0), w = logits_in.size(1);
  const double infinity = std::numeric_limits<double>::infinity();
  at::Tensor logits = logits_in.clone();
  TileResult r;
  r.col_max = at::full({w}, -infinity), r.col_sum = at::zeros({w});
  r.row_max = at::full({c}, -infinity), r.row_sum = at::zeros({c});
  at::Tensor col_rescale = at::empty({w}), row_rescale = at::empty({c});
  const swinsmt::detail::OnlineSoftmaxStats columns{r.col_max.data_ptr<float>(), r.col_sum.data_ptr<float>(),
                                                    col_rescale.data_ptr<float>()};
  const swinsmt::detail::OnlineSoftmaxStats rows{r.row_max.data_ptr<float>(), r.row_sum.data_ptr<float>(),
                                                 row_rescale.data_ptr<float>()};
  if (bf16) {
    at::Tensor dispatch = at::empty({c, w}, at::kBFloat16), combine = at::empty({c, w}, at::kBFloat16);
    swinsmt::detail::tile_softmax_bf16(logits.data_ptr<float>(), w, dispatch.data_ptr<c10::BFloat16>(), w,
                                       combine.data_ptr<c10::BFloat16>(), w, c, w, columns, rows);
    EXPECT_TRUE(at::equal(logits, logits_in)) << "the bfloat16 variant leaves the logits as they are";
    r.dispatch = dispatch.to(at::kFloat), r.combine = combine.to(at::kFloat);
  } else {
    at::Tensor combine = at::empty({c, w});
    swinsmt::detail::tile_softmax(logits.data_ptr<float>(), w, combine.data_ptr<float>(), w, c, w, columns, rows);
    r.dispatch = logits, r.combine = combine;
  }
  return r;
}

}  // namespace

TEST(Bf16Products, TileSoftmaxWritesTheFloatExponentialsRounded) {
  at::manual_seed(3);
  // 300 columns: several runs of 256 and a short one; a row of large logits exercises the two-exp path.
  for (const double spread : {1.0, 30.0}) {
    const at::Tensor logits = at::randn({37, 300}) * spread;
    const TileResult f = run_tile(logits, false), b = run_tile(logits, true);
    // Same float32 values, rounded to nearest even (ATen's float -> bfloat16 conversion rounds the same way).
    EXPECT_TRUE(at::equal(b.dispatch, f.dispatch.to(at::kBFloat16).to(at::kFloat))) << "spread " << spread;
    EXPECT_TRUE(at::equal(b.combine, f.combine.to(at::kBFloat16).to(at::kFloat))) << "spread " << spread;
    // The statistics are those of the float32 exponentials.
    for (const auto& [x, y] :
         {std::pair{b.col_max, f.col_max}, {b.col_sum, f.col_sum}, {b.row_max, f.row_max}, {b.row_sum, f.row_sum}})
      EXPECT_TRUE(at::equal(x, y)) << "spread " << spread;
  }
}

TEST(Bf16Products, MatmulOfBfloat16OperandsIsTheirExactProductSummedInFloat) {
  at::manual_seed(4);
  const auto a = at::randn({70, 45}).to(at::kBFloat16), b = at::randn({45, 33}).to(at::kBFloat16);
  // The products of bfloat16 values are exact in float32; only the float32 sums round.
  const at::Tensor exact = at::mm(a.to(at::kDouble), b.to(at::kDouble));
  const at::Tensor start = at::randn({70, 33});
  for (const bool transposed_a : {false, true}) {
    for (const float beta : {0.0f, 1.0f}) {
      // A transposed view of a row-major matrix, as the Soft MoE kernel passes y^T.
      const at::Tensor a_view = transposed_a ? a.t().contiguous().t() : a;
      at::Tensor out = start.clone();
      swinsmt::detail::matmul_into(out, a_view, b, beta);
      const at::Tensor expected = exact + (beta != 0.0f ? start.to(at::kDouble) : at::zeros_like(exact));
      EXPECT_LE(test::max_abs_error(out, expected.to(at::kFloat)), 1e-4)
          << "transposed a " << transposed_a << ", beta " << beta;
    }
  }
}

TEST(Bf16Products, SoftMoeStaysWithinBfloat16RoundingOfTheExactLayer) {
  c10::InferenceMode guard;
  at::manual_seed(5);
  // Stage 2 of a 64^3 window at feature 12 (4096 tokens of dimension 24), in several token tiles.
  SoftMoE moe(SoftMoEOptions(24, 4).chunk_size(512).tile_size(1000));
  for (auto& p : moe->parameters()) p.add_(at::randn_like(p) * 0.1);
  const auto x = at::randn({1, 4096, 24});
  const at::Tensor fp32 = moe->forward(x);
  moe->options.bf16_products(true);
  const at::Tensor bf16 = moe->forward(x);
  moe->options.bf16_products(false);
  moe->to(at::kDouble);
  moe->options.kernel(MoeKernel::reference);
  const at::Tensor exact = moe->forward(x.to(at::kDouble));
  const double scale = exact.abs().max().item<double>();
  const double bf16_error = test::max_abs_error(bf16, exact), fp32_error = test::max_abs_error(fp32, exact);
  std::cout << "[ bf16     ] Soft MoE N 4096 d 24: max |output| " << scale << ", max error vs fp64: bfloat16 products "
            << bf16_error << ", float32 " << fp32_error << "\n";
  // bfloat16 keeps 8 significant bits (relative rounding 2^-9 = 0.2 % per operand; 1.1 % of the largest output
  // after three products over thousands of terms here): within 3 % of the largest output, while a wrong layout or
  // operand would be off by the output's size; and it is the bfloat16 path that ran (its error is far above
  // float32's).
  EXPECT_LE(bf16_error, 0.03 * scale);
  EXPECT_GT(bf16_error, 10 * fp32_error);
}

TEST(Bf16Products, LoadingInBfloat16OnTheCpuKeepsFloatParametersOrSaysWhyNot) {
  LoadOptions options;
  options.dtype = at::kBFloat16;
  if (!cpu_bf16_products_available()) {
    const std::string message = test::error_of([&] { load(test::example_weights(), options); });
    EXPECT_NE(message.find("bfloat16 on the CPU needs a CPU with AVX512-BF16"), std::string::npos) << message;
    return;
  }
  const LoadedModel loaded = load(test::example_weights(), options);
  for (const auto& p : loaded.model->parameters()) EXPECT_EQ(p.scalar_type(), at::kFloat);
  int moe_layers = 0;
  for (const auto& module : loaded.model->modules(/*include_self=*/false))
    if (const auto* moe = module->as<SoftMoE>()) {
      EXPECT_TRUE(moe->options.bf16_products());
      ++moe_layers;
    }
  EXPECT_GT(moe_layers, 0);
}

TEST(Bf16Products, SegmentInBfloat16AgreesWithFloat32OrIsRefused) {
  test::ScratchDir dir("bf16_segment");
  const std::string ct = test::data_path("example_ct_sm.nii.gz");
  const auto fp32 = test::run_swinsmt(test::fast_segment_args(ct, dir / "fp32.nii.gz"));
  ASSERT_EQ(fp32.code, 0) << fp32.output;
  const auto bf16 = test::run_swinsmt(test::fast_segment_args(ct, dir / "bf16.nii.gz") + " --dtype bfloat16");
  if (!cpu_bf16_products_available()) {
    EXPECT_NE(bf16.code, 0);
    EXPECT_NE(bf16.output.find("bfloat16 on the CPU needs a CPU with AVX512-BF16"), std::string::npos) << bf16.output;
    return;
  }
  ASSERT_EQ(bf16.code, 0) << bf16.output;
  const at::Tensor a = io::read_nifti(dir / "fp32.nii.gz").data, b = io::read_nifti(dir / "bf16.nii.gz").data;
  const double agreement = a.eq(b).to(at::kDouble).mean().item<double>();
  std::cout << "[ bf16     ] labels agreeing with float32 on example_ct_sm (random feature-12 weights): "
            << agreement * 100 << " %\n";
  // Random weights leave many voxels with near-ties between classes, which a 0.2 % rounding flips;
  // the agreement on a real model is measured by bench/segment_end_to_end.sh.
  EXPECT_GE(agreement, 0.98);
}
