// The chunked Soft MoE kernel computes the same function as the official op sequence.
#include "fixtures.hpp"

#include <swinsmt/error.hpp>
#include <swinsmt/soft_moe.hpp>

#include <c10/core/InferenceMode.h>
#include <gtest/gtest.h>

using namespace swinsmt;

namespace {
struct Gaps {
  double chunked_vs_reference, chunked_vs_exact, reference_vs_exact;
};
// Runs the same layer with both kernels in fp32 and the reference op sequence in fp64 ("exact").
Gaps kernel_gaps(int64_t batch, int64_t tokens, int64_t dim, int64_t experts, int64_t chunk, bool with_mask) {
  c10::InferenceMode guard;
  at::manual_seed(tokens * 31 + dim);
  SoftMoE moe(SoftMoEOptions(dim, experts).chunk_size(chunk));
  // Perturb every parameter so no weight sits at its neutral initial value (gamma = 1).
  for (auto& p : moe->parameters()) p.add_(at::randn_like(p) * 0.1);
  const auto x = at::randn({batch, tokens, dim});
  std::optional<at::Tensor> mask;
  if (with_mask) {
    mask = at::rand({batch, tokens}) > 0.3;
    (*mask)[0].fill_(false);  // a fully masked sequence: every softmax row is uniform
  }
  moe->options.kernel(MoeKernel::reference);
  const auto reference = moe->forward(x, mask);
  moe->options.kernel(MoeKernel::chunked);
  const auto chunked = moe->forward(x, mask);
  moe->to(at::kDouble);
  moe->options.kernel(MoeKernel::reference);
  const auto exact = moe->forward(x.to(at::kDouble), mask);
  return {test::max_abs_error(chunked, reference), test::max_abs_error(chunked, exact),
          test::max_abs_error(reference, exact)};
}
}  // namespace

TEST(SoftMoEKernels, ChunkedEqualsReferenceOnOddSizes) {
  struct Case {
    int64_t batch, tokens, dim, experts, chunk;
    bool mask;
  };
  const Case cases[] = {
      {1, 4096, 24, 4, 512, false},  // stage 2 of a 64^3 window, feature 12
      {2, 1001, 16, 3, 100, false},  // padding (1001 % 3 != 0), chunk not dividing the slots
      {3, 777, 32, 4, 64, true},     // batch > 1, user mask, padding
      {2, 50, 8, 5, 7, true},       {1, 97, 12, 1, 1000, false},  // one expert, chunk larger than the slot count
  };
  for (const auto& c : cases) {
    const auto g = kernel_gaps(c.batch, c.tokens, c.dim, c.experts, c.chunk, c.mask);
    std::cout << "[ kernels  ] B " << c.batch << " N " << c.tokens << " d " << c.dim << " E " << c.experts << " chunk "
              << c.chunk << (c.mask ? " masked" : "") << ": max |chunked - reference| " << g.chunked_vs_reference
              << ", vs fp64: chunked " << g.chunked_vs_exact << ", reference " << g.reference_vs_exact << "\n";
    // Both fp32 kernels round differently; at large N the reference op sequence itself is ~1e-5 off
    // the fp64 result, so the bar is: chunked within 1e-5 of the fp64 function, and no worse than
    // the reference's own error plus 1e-6.
    EXPECT_LE(g.chunked_vs_exact, 1e-5);
    EXPECT_LE(g.chunked_vs_exact, g.reference_vs_exact + 1e-6);
    EXPECT_LE(g.chunked_vs_reference, g.reference_vs_exact + 1e-5);
  }
}

TEST(SoftMoEKernels, ChunkedEqualsReferenceOnOfficialCases) {
  for (const std::string name : {"softmoe_padded", "softmoe_masked"}) {
    c10::InferenceMode guard;
    test::Fixture fx(name + ".safetensors");
    const int64_t dim = fx.at("input").size(2);
    const int64_t experts = fx.at("weights.to_slot_embeds.0.weight").size(0) / dim;
    SoftMoE moe(SoftMoEOptions(dim, experts).chunk_size(5));
    StateDict weights;
    for (const auto& item : moe->named_parameters()) weights.insert(item.key(), fx.at("weights." + item.key()));
    load_state_dict(*moe, weights, true, name);
    std::optional<at::Tensor> mask;
    if (fx.has("mask")) mask = fx.at("mask");
    moe->options.kernel(MoeKernel::reference);
    const auto reference = moe->forward(fx.at("input"), mask);
    moe->options.kernel(MoeKernel::chunked);
    test::expect_close(name + " chunked vs reference kernel", moe->forward(fx.at("input"), mask), reference, 1e-5);
  }
}

TEST(SoftMoEKernels, RejectsBadShapes) {
  SoftMoE moe(SoftMoEOptions(8, 2));
  EXPECT_THROW(moe->forward(at::zeros({1, 10, 9})), Error);
  EXPECT_THROW(moe->forward(at::zeros({1, 10, 8}), at::ones({1, 9}).to(at::kBool)), Error);
  EXPECT_THROW(moe->forward(at::zeros({1, 10, 8}), at::ones({1, 10})), Error);
}
