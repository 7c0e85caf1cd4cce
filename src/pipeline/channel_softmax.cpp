#include "channel_softmax.hpp"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <algorithm>

namespace swinsmt::detail {

namespace {
// Voxels per at::softmax call: ~1.8 MB of float32 at 14 channels, ~15 MB at 118.
constexpr int64_t kPieceVoxels = int64_t{1} << 15;
// The piece length is a multiple of this per thread: the widest vector ATen's CPU kernels use
// (16 floats, AVX-512) times 4, so each thread's share holds whole vectors only.
constexpr int64_t kVoxelsPerThreadMultiple = 64;
}  // namespace

at::Tensor softmax_channels(const at::Tensor& logits) {
  if (!logits.device().is_cpu()) return at::softmax(logits, 0);
  const int64_t channels = logits.size(0);
  const at::Tensor flat = logits.contiguous().view({channels, -1});
  const int64_t voxels = flat.size(1);
  at::Tensor out = at::empty_like(flat);
  // ATen splits [0, voxels) of a piece evenly over its threads: a piece of a multiple of
  // (multiple x threads) voxels gives each thread a multiple of the vector length.
  const int64_t unit = kVoxelsPerThreadMultiple * std::max<int64_t>(1, at::get_num_threads());
  const int64_t piece = std::max<int64_t>(unit, kPieceVoxels / unit * unit);
  at::Tensor in_buffer = at::empty({channels, std::min(piece, (voxels + unit - 1) / unit * unit)}, flat.options());
  at::Tensor out_buffer = at::empty_like(in_buffer);
  for (int64_t first = 0; first < voxels; first += piece) {
    const int64_t n = std::min(piece, voxels - first);
    const int64_t padded = (n + unit - 1) / unit * unit;  // the last piece: zeros after the voxels
    at::Tensor in = in_buffer, result = out_buffer;
    if (padded != in_buffer.size(1)) {  // a shorter last piece
      in = at::empty({channels, padded}, flat.options());
      result = at::empty_like(in);
    }
    in.narrow(1, 0, n).copy_(flat.narrow(1, first, n));
    if (padded > n) in.narrow(1, n, padded - n).zero_();
    at::_softmax_out(result, in, 0, false);
    out.narrow(1, first, n).copy_(result.narrow(1, 0, n));
  }
  return out.view(logits.sizes());
}

}  // namespace swinsmt::detail
