#include "kernels/autograd_guard.hpp"
#include "kernels/cpu_matmul.hpp"
#include "kernels/soft_moe_block_softmax.hpp"
#include "nn/registration.hpp"

#include <swinsmt/error.hpp>
#include <swinsmt/nn/soft_moe.hpp>

#include <ATen/ATen.h>
#include <ATen/record_function.h>

#include <cmath>
#include <limits>
#include <vector>

namespace swinsmt {
namespace {

// The official code masks logits with -torch.finfo(dtype).max (not -inf): a row whose entries are
// all masked then softmaxes to a uniform distribution instead of NaN. We keep that exactly.
double lowest_finite(at::ScalarType type) {
  switch (type) {
    case at::kDouble:
      return -std::numeric_limits<double>::max();
    case at::kHalf:
      return -65504.0;
    case at::kBFloat16:
      return -3.3895313892515355e38;
    default:
      return -static_cast<double>(std::numeric_limits<float>::max());
  }
}

// Applies the key-padding masks of the official code to a block of logits.
// token_valid: (B, 1, n) or (B, c, 1); slot_valid: likewise along the other axis.
void apply_masks(at::Tensor& logits, const at::Tensor& token_valid, const at::Tensor& slot_valid) {
  const double low = lowest_finite(logits.scalar_type());
  logits.masked_fill_(token_valid.logical_not(), low);
  logits.masked_fill_(slot_valid.logical_not(), low);
}

}  // namespace

RMSNormImpl::RMSNormImpl(RMSNormOptions options_) : options(options_) { reset(); }

void RMSNormImpl::reset() {
  scale = std::sqrt(static_cast<double>(options.dim()));
  gamma = detail::register_or_replace_tensor(*this, "gamma", at::ones({options.dim()}));
}

void RMSNormImpl::pretty_print(std::ostream& stream) const {
  stream << "swinsmt::RMSNorm(dim=" << options.dim() << ")";
}

torch::Tensor RMSNormImpl::forward(const torch::Tensor& x) {
  // F.normalize(x, dim=-1): x / max(||x||_2, 1e-12), then * scale * gamma in that order.
  auto norm = at::linalg_vector_norm(x, 2, {-1}, /*keepdim=*/true).clamp_min_(1e-12);
  return x.div(norm).mul_(scale).mul_(gamma);
}

ExpertImpl::ExpertImpl(ExpertOptions options_) : options(options_) { reset(); }

void ExpertImpl::reset() {
  fc1 = detail::register_or_replace(*this, "0", torch::nn::Linear(options.dim(), options.hidden()));
  fc2 = detail::register_or_replace(*this, "3", torch::nn::Linear(options.hidden(), options.dim()));
}

void ExpertImpl::pretty_print(std::ostream& stream) const {
  stream << "swinsmt::Expert(dim=" << options.dim() << ", hidden=" << options.hidden() << ")";
}

torch::Tensor ExpertImpl::forward(const torch::Tensor& x) { return fc2(at::gelu(fc1(x))); }

SlotEmbedImpl::SlotEmbedImpl(SlotEmbedOptions options_) : options(options_) { reset(); }

void SlotEmbedImpl::reset() {
  const int64_t dim = options.dim();
  proj = detail::register_or_replace(
      *this, "0", torch::nn::Linear(torch::nn::LinearOptions(dim, dim * options.num_experts()).bias(false)));
  norm = detail::register_or_replace(*this, "2", RMSNorm(RMSNormOptions(dim)));
}

void SlotEmbedImpl::pretty_print(std::ostream& stream) const {
  stream << "swinsmt::SlotEmbed(dim=" << options.dim() << ", num_experts=" << options.num_experts() << ")";
}

torch::Tensor SlotEmbedImpl::forward(const torch::Tensor& means) {
  const int64_t b = means.size(0), s = means.size(1), d = means.size(2);
  // Rearrange('b n (e d) -> b e n d')
  auto slots = proj(means).view({b, s, options.num_experts(), d}).permute({0, 2, 1, 3});
  return norm(slots).contiguous();
}

SoftMoEImpl::SoftMoEImpl(SoftMoEOptions options_) : options(options_) { reset(); }

void SoftMoEImpl::reset() {
  const int64_t dim = options.dim(), e = options.num_experts();
  if (dim < 1 || e < 1)
    throw Error("SoftMoE: dim and num_experts must be >= 1, got dim " + std::to_string(dim) + ", num_experts " +
                std::to_string(e));
  norm = detail::register_or_replace(*this, "norm", RMSNorm(RMSNormOptions(dim)));
  to_slot_embeds = detail::register_or_replace(*this, "to_slot_embeds", SlotEmbed(SlotEmbedOptions(dim, e)));
  experts = detail::register_or_replace(*this, "experts", torch::nn::ModuleList());
  const auto hidden = static_cast<int64_t>(static_cast<double>(dim) * options.expert_mult());
  for (int64_t i = 0; i < e; ++i) experts->push_back(Expert(ExpertOptions(dim, hidden)));
}

void SoftMoEImpl::pretty_print(std::ostream& stream) const {
  static constexpr const char* kKernels[] = {"reference", "chunked", "chunked_aten"};
  stream << "swinsmt::SoftMoE(dim=" << options.dim() << ", num_experts=" << options.num_experts()
         << ", expert_mult=" << options.expert_mult() << ", kernel=" << kKernels[static_cast<int>(options.kernel())]
         << (options.bf16_products() ? ", bf16_products=true" : "") << ")";
}

torch::Tensor SoftMoEImpl::forward(const torch::Tensor& x_in, const std::optional<torch::Tensor>& mask_in) {
  // The fused CPU kernel writes through raw pointers, where autograd cannot follow, and no
  // gradient of the other kernels is tested against the official model: inference only.
  detail::require_no_gradient("SoftMoE", {x_in, norm->gamma, to_slot_embeds->proj->weight});
  RECORD_USER_SCOPE("swinsmt::SoftMoE");
  if (x_in.dim() != 3 || x_in.size(2) != options.dim())
    throw Error("SoftMoE: input must be (B, N, " + std::to_string(options.dim()) + "), got " + c10::str(x_in.sizes()));
  const int64_t b = x_in.size(0), seq_len = x_in.size(1), d = options.dim(), e = options.num_experts();
  if (mask_in && (mask_in->sizes() != at::IntArrayRef({b, seq_len}) || mask_in->scalar_type() != at::kBool))
    throw Error("SoftMoE: mask must be bool (B, N) = " + c10::str(at::IntArrayRef({b, seq_len})) + ", got " +
                c10::str(mask_in->scalar_type()) + " " + c10::str(mask_in->sizes()));

  auto x = norm(x_in);

  // Pad the tokens with zeros to a multiple of the expert count. Official quirk, kept: without a
  // user mask, the mask is built *after* padding (torch.ones(x.shape[:2])), so the zero padding
  // tokens count as valid tokens; only a user-given mask is padded with False.
  std::optional<at::Tensor> mask = mask_in;
  const int64_t n = (seq_len + e - 1) / e * e;
  if (n != seq_len) {
    x = at::constant_pad_nd(x, {0, 0, 0, n - seq_len}, 0);
    if (mask)
      mask = at::cat({*mask, at::zeros({b, n - seq_len}, mask->options())}, 1);
    else
      mask = at::ones({b, n}, x.options().dtype(at::kBool));
  }
  const int64_t s = n / e;  // slots per expert; e * s == n slots in all

  // Slot embeddings from the (masked) mean of each group of e consecutive tokens.
  auto grouped = x.view({b, s, e, d});
  at::Tensor means, slot_valid;  // slot_valid: (B, e*s) for slot (expert, index)
  if (mask) {
    auto grouped_mask = mask->view({b, s, e});
    auto num = grouped.masked_fill(grouped_mask.logical_not().unsqueeze(-1), 0.0).sum(2);
    auto den = grouped_mask.to(at::kFloat).sum(2, /*keepdim=*/true).clamp_min_(1e-5);
    means = num.div(den).to(x.scalar_type());
    slot_valid = grouped_mask.any(-1).unsqueeze(1).expand({b, e, s}).reshape({b, e * s});
  } else {
    means = grouped.mean(2);
  }
  auto slot_embeds = to_slot_embeds(means).view({b, e * s, d});

  if (options.kernel() == MoeKernel::reference) return reference_forward(x, slot_embeds, mask, slot_valid, seq_len);
  return chunked_forward(x, slot_embeds, mask, slot_valid, seq_len);
}

at::Tensor SoftMoEImpl::run_expert(int64_t index, const at::Tensor& slots) {
  return experts[index]->as<Expert>()->forward(slots);
}

at::Tensor SoftMoEImpl::reference_forward(const at::Tensor& x, const at::Tensor& slot_embeds,
                                          const std::optional<at::Tensor>& mask, const at::Tensor& slot_valid,
                                          int64_t seq_len) {
  // The official op sequence: one (B, n, e*s) logits tensor, softmax over tokens and over slots.
  const int64_t b = x.size(0), n = x.size(1), d = x.size(2), e = options.num_experts(), s = n / e;
  auto logits = at::matmul(x, slot_embeds.transpose(1, 2));
  if (mask) apply_masks(logits, mask->view({b, n, 1}), slot_valid.view({b, 1, e * s}));
  auto dispatch = at::softmax(logits, 1);
  auto combine = at::softmax(logits, -1);
  logits.reset();
  auto slots = at::matmul(dispatch.transpose(1, 2), x).view({b, e, s, d});
  dispatch.reset();
  std::vector<at::Tensor> outputs;
  for (int64_t i = 0; i < e; ++i) outputs.push_back(run_expert(i, slots.select(1, i)));
  auto expert_out = at::stack(outputs, 1).view({b, e * s, d});
  return at::matmul(combine, expert_out).narrow(1, 0, seq_len);
}

at::Tensor SoftMoEImpl::chunked_forward(const at::Tensor& x, const at::Tensor& slot_embeds,
                                        const std::optional<at::Tensor>& mask, const at::Tensor& slot_valid,
                                        int64_t seq_len) {
  // One pass over blocks of slots computes both softmax-attentions (scale 1) from a single block
  // of logits L = slots_embeds[block] . tokens^T (c x n), so no n x n tensor ever exists:
  //  - dispatch: softmax of L over tokens (complete within the block) -> slot inputs -> expert
  //    outputs Y for these slots (the experts are token-wise MLPs, so a block of slots is exact);
  //  - combine: softmax over all slots per token, accumulated across blocks with a running
  //    maximum (online softmax): acc = sum exp(L - m) Y, z = sum exp(L - m), out = acc / z.
  // Three matrix products per block instead of the reference's four n x n passes, and padded tokens
  // (beyond seq_len) are never combined since the official code drops them.
  if (options.kernel() == MoeKernel::chunked && x.device().is_cpu() && x.scalar_type() == at::kFloat)
    return fused_cpu_forward(x, slot_embeds, mask, slot_valid, seq_len);
  const int64_t b = x.size(0), n = x.size(1), d = x.size(2), e = options.num_experts(), s = n / e;
  const int64_t chunk = std::max<int64_t>(1, std::min(options.chunk_size(), s));
  auto tokens_t = x.transpose(1, 2);  // (B, d, n) keys for dispatch
  // The combine statistics accumulate over all blocks: keep them in fp32 even for fp16/bf16 inputs.
  const auto acc_options = x.options().dtype(at::kFloat);
  auto acc = at::zeros({b, seq_len, d}, acc_options);  // un-normalised combine output
  auto z = at::zeros({b, 1, seq_len}, acc_options);    // softmax denominators per token
  auto m = at::full({b, 1, seq_len}, -std::numeric_limits<double>::infinity(), acc_options);  // running max
  for (int64_t expert = 0; expert < e; ++expert) {
    for (int64_t j = 0; j < s; j += chunk) {
      const int64_t q0 = expert * s + j, c = std::min(chunk, s - j);
      auto logits = at::matmul(slot_embeds.narrow(1, q0, c), tokens_t);  // (B, c, n), slot-major
      if (mask) apply_masks(logits, mask->view({b, 1, n}), slot_valid.narrow(1, q0, c).view({b, c, 1}));
      // Combine statistics over this block's slots (rows) for every kept token (column), taken
      // before the dispatch softmax overwrites the logits.
      auto kept = logits.narrow(2, 0, seq_len);
      auto m_new = at::maximum(m, at::amax(kept, {1}, /*keepdim=*/true).to(at::kFloat));
      auto rescale = (m - m_new).exp_();  // (B, 1, seq_len)
      auto p = (kept - m_new).exp_();     // (B, c, seq_len), fp32
      z.mul_(rescale).add_(p.sum(1, /*keepdim=*/true));
      p = p.to(x.dtype());  // a no-op in fp32
      m = std::move(m_new);
      // Dispatch: softmax over tokens, in place (each row is read before it is written).
      at::_softmax_out(logits, logits, -1, false);
      auto y = run_expert(expert, at::matmul(logits, x));  // (B, c, d)
      logits.reset();
      acc.mul_(rescale.transpose(1, 2)).add_(at::matmul(p.transpose(1, 2), y).to(at::kFloat));
    }
  }
  z = z.transpose(1, 2);
  return acc.div_(z).to(x.dtype());
}

at::Tensor SoftMoEImpl::fused_cpu_forward(const at::Tensor& x, const at::Tensor& slot_embeds,
                                          const std::optional<at::Tensor>& mask, const at::Tensor& slot_valid,
                                          int64_t seq_len) {
  // The chunked algorithm with the logits of a slot block computed one token tile at a time, so
  // each tile is exponentiated while it is in cache (detail::tile_softmax), and every product in a
  // layout BLAS takes without copies (detail::matmul_into):
  //   tile logits (c, w)   = slot_embeds[block] (c, d) . tokens^T[:, tile] (d, w)
  //   dispatch (online)    : slot_acc (c, d) = slot_acc * row rescale + exp(logits - row max) . tokens[tile]
  //   combine weights      : combine[:, tile] = exp(logits - column max), kept for the block
  //   after the block      : Y = expert(slot_acc / row sums);
  //                          acc^T (d, n) = acc^T * column rescale + Y^T (d, c) . combine (c, n)
  // The normalisations divide the small (c, d) and (d, n) results instead of the weight matrices.
  const int64_t b = x.size(0), n = x.size(1), d = x.size(2), e = options.num_experts(), s = n / e;
  const int64_t chunk = std::max<int64_t>(1, std::min(options.chunk_size(), s));
  // Tiles of about 4M floats (16 MB): within the last-level cache of the CPUs we target.
  const int64_t tile =
      std::min(n, options.tile_size() > 0 ? options.tile_size() : std::max<int64_t>(256, (int64_t{4} << 20) / chunk));
  const auto fp32 = x.options();
  const double infinity = std::numeric_limits<double>::infinity();
  // With bf16_products the three products take bfloat16 operands (float32 accumulation): the
  // tokens and slot embeddings are rounded once per item, the exponentials as the softmax pass
  // writes them; logits, statistics, accumulators and the experts stay float32.
  const bool bf16 = options.bf16_products();
  const auto bf16_options = x.options().dtype(at::kBFloat16);
  auto tile_logits = at::empty({chunk, tile}, fp32);
  auto combine = at::empty({chunk, n}, bf16 ? bf16_options : fp32);
  auto tile_dispatch = bf16 ? at::empty({chunk, tile}, bf16_options) : tile_logits;
  auto slot_acc = at::empty({chunk, d}, fp32);
  auto row_max = at::empty({chunk}, fp32), row_sum = at::empty({chunk}, fp32), row_rescale = at::empty({chunk}, fp32);
  std::vector<at::Tensor> outputs;
  for (int64_t item = 0; item < b; ++item) {
    auto tokens = x[item].contiguous();            // (n, d)
    auto tokens_t = tokens.t().contiguous();       // (d, n)
    auto embeds = slot_embeds[item].contiguous();  // (e*s, d)
    if (bf16) {
      tokens = tokens.to(at::kBFloat16);
      tokens_t = tokens_t.to(at::kBFloat16);
      embeds = embeds.to(at::kBFloat16);
    }
    auto acc_t = at::zeros({d, n}, fp32);
    auto col_max = at::full({n}, -infinity, fp32), col_sum = at::zeros({n}, fp32), col_rescale = at::empty({n}, fp32);
    for (int64_t expert = 0; expert < e; ++expert) {
      for (int64_t j = 0; j < s; j += chunk) {
        const int64_t q0 = expert * s + j, c = std::min(chunk, s - j);
        auto block_combine = combine.narrow(0, 0, c);
        auto acc = slot_acc.narrow(0, 0, c);
        row_max.fill_(-infinity);
        row_sum.zero_();
        acc.zero_();
        for (int64_t t0 = 0; t0 < n; t0 += tile) {
          const int64_t w = std::min(tile, n - t0);
          auto logits = tile_logits.narrow(0, 0, c).narrow(1, 0, w);  // row stride: tile
          detail::matmul_into(logits, embeds.narrow(0, q0, c), tokens_t.narrow(1, t0, w));
          if (mask)
            apply_masks(logits, (*mask)[item].narrow(0, t0, w).view({1, w}),
                        slot_valid[item].narrow(0, q0, c).view({c, 1}));
          const detail::OnlineSoftmaxStats columns{col_max.data_ptr<float>() + t0, col_sum.data_ptr<float>() + t0,
                                                   col_rescale.data_ptr<float>() + t0};
          const detail::OnlineSoftmaxStats rows{row_max.data_ptr<float>(), row_sum.data_ptr<float>(),
                                                row_rescale.data_ptr<float>()};
          if (bf16)
            detail::tile_softmax_bf16(logits.data_ptr<float>(), tile, tile_dispatch.data_ptr<c10::BFloat16>(), tile,
                                      block_combine.data_ptr<c10::BFloat16>() + t0, n, c, w, columns, rows);
          else
            detail::tile_softmax(logits.data_ptr<float>(), tile, block_combine.data_ptr<float>() + t0, n, c, w, columns,
                                 rows);
          if (t0 > 0) acc.mul_(row_rescale.narrow(0, 0, c).unsqueeze(1));
          detail::matmul_into(acc, tile_dispatch.narrow(0, 0, c).narrow(1, 0, w), tokens.narrow(0, t0, w), 1.0f);
        }
        acc.div_(row_sum.narrow(0, 0, c).unsqueeze(1));
        const auto y = run_expert(expert, acc);  // (c, d)
        acc_t.mul_(col_rescale);
        detail::matmul_into(acc_t, bf16 ? y.t().to(at::kBFloat16) : y.t(), block_combine, 1.0f);
      }
    }
    outputs.push_back(acc_t.div_(col_sum).t().narrow(0, 0, seq_len));
  }
  return at::stack(outputs).contiguous();
}

}  // namespace swinsmt
