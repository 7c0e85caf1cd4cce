#include "kernels/winograd_conv3d.hpp"

#include "kernels/cpu_matmul.hpp"
#include "kernels/vector_exp.hpp"  // SWINSMT_ISA_CLONES

#include <swinsmt/error.hpp>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <ATen/record_function.h>

#include <algorithm>
#include <string>
#include <vector>

namespace swinsmt::detail {
namespace {

// F(2, 3) in one dimension (Lavin & Gray 2016), for cross-correlation as conv3d computes it:
//   y = A^T [(G g) * (B^T d)],  d = 4 inputs (x[2t-1] .. x[2t+2]), g = 3 taps, y = 2 outputs.
//   B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1],  G = [1 0 0; .5 .5 .5; .5 -.5 .5; 0 0 1],
//   A^T = [1 1 1 0; 0 1 -1 -1].
// In 3-D each transform is applied along W, H and D in turn: 4^3 = 64 transformed positions.
constexpr int64_t kPositions = 64;
// Tiles per block: the transformed input (Cin x 64 x tiles) and products (Cout x 64 x tiles) of one
// block stay in this core's caches between the input transform, the 64 products and the output
// transform; 64 tiles make products wide enough for oneDNN's sgemm kernels. Channel-major, so each
// transform writes or reads one contiguous run per channel (the products take the 64 positions as
// row-strided matrices): with position-major buffers the transforms scattered each channel over 64
// runs 4 KB or more apart, and a 128^3 48 -> 48 convolution took 7-11 % longer (96 -> 48: 4-7 %).
constexpr int64_t kTilesPerBlock = 64;
// Below this many output voxels the transforms and small products do not beat oneDNN's direct
// convolution (2 cores, AVX-512: 16^3 x 192 -> 192 channels 27 ms against 48 ms direct, 8^3 x
// 768 -> 384 channels 96 ms against 48 ms).
constexpr int64_t kMinVoxels = 16 * 16 * 16;

// U[p][co][ci] = (G x G x G) w[co][ci] for the 64 positions p = (pd * 4 + ph) * 4 + pw.
at::Tensor transform_filter(const at::Tensor& weight) {
  static constexpr float G[4][3] = {{1.f, 0.f, 0.f}, {.5f, .5f, .5f}, {.5f, -.5f, .5f}, {0.f, 0.f, 1.f}};
  const auto w = weight.contiguous();
  const int64_t pairs = w.size(0) * w.size(1);
  auto u = at::empty({kPositions, w.size(0), w.size(1)}, w.options());
  const float* wp = w.data_ptr<float>();
  float* up = u.data_ptr<float>();
  at::parallel_for(0, pairs, 256, [&](int64_t begin, int64_t end) {
    for (int64_t pair = begin; pair < end; ++pair) {
      const float* g = wp + pair * 27;  // g[z][y][x]
      float along_w[3][3][4], along_h[3][4][4];
      for (int z = 0; z < 3; ++z)
        for (int y = 0; y < 3; ++y)
          for (int a = 0; a < 4; ++a)
            along_w[z][y][a] =
                G[a][0] * g[(z * 3 + y) * 3] + G[a][1] * g[(z * 3 + y) * 3 + 1] + G[a][2] * g[(z * 3 + y) * 3 + 2];
      for (int z = 0; z < 3; ++z)
        for (int b = 0; b < 4; ++b)
          for (int a = 0; a < 4; ++a)
            along_h[z][b][a] = G[b][0] * along_w[z][0][a] + G[b][1] * along_w[z][1][a] + G[b][2] * along_w[z][2][a];
      for (int c = 0; c < 4; ++c)
        for (int b = 0; b < 4; ++b)
          for (int a = 0; a < 4; ++a)
            up[((c * 4 + b) * 4 + a) * pairs + pair] =
                G[c][0] * along_h[0][b][a] + G[c][1] * along_h[1][b][a] + G[c][2] * along_h[2][b][a];
    }
  });
  return u;
}

struct Geometry {
  int64_t depth, height, width;  // of input and output (stride 1, padding 1)
  int64_t tiles_h, tiles_w;      // 2x2x2 output tiles along H and W
};

// One block: the tiles of output slices 2*tile_d, 2*tile_d + 1, tile rows tile_h0 .. + rows - 1, all
// tiles along W; tile t = row * tiles_w + tile_w.
struct Block {
  int64_t tile_d, tile_h0, rows;
};

// B^T of four inputs, written to out[0], out[stride], out[2 stride], out[3 stride].
#define SWINSMT_WINOGRAD_BT(d0, d1, d2, d3, out, stride, i) \
  do {                                                      \
    const float s0 = (d0), s1 = (d1), s2 = (d2), s3 = (d3); \
    (out)[i] = s0 - s2;                                     \
    (out)[(stride) + (i)] = s1 + s2;                        \
    (out)[2 * (stride) + (i)] = s2 - s1;                    \
    (out)[3 * (stride) + (i)] = s1 - s3;                    \
  } while (0)

// Transforms one input channel of a block: v[p * position_stride + t] for the 64 positions p.
// scratch: (width + 2) + 2 * 64 * tiles_w floats.
SWINSMT_ISA_CLONES
void transform_input(const float* plane, const Geometry& g, const Block& blk, float* v, int64_t position_stride,
                     float* scratch) {
  const int64_t tw = g.tiles_w, width = g.width;
  float* padded = scratch;              // one input row with a zero on each side
  float* along_w = padded + width + 2;  // [z 4][y 4][a 4][tw]
  float* along_h = along_w + 64 * tw;   // [z 4][b 4][a 4][tw]
  padded[0] = 0.f;
  padded[width + 1] = 0.f;
  for (int64_t r = 0; r < blk.rows; ++r) {
    const int64_t tile_h = blk.tile_h0 + r;
    for (int z = 0; z < 4; ++z) {
      const int64_t d = 2 * blk.tile_d - 1 + z;
      for (int y = 0; y < 4; ++y) {
        const int64_t h = 2 * tile_h - 1 + y;
        float* out = along_w + (z * 4 + y) * 4 * tw;
        if (d < 0 || d >= g.depth || h < 0 || h >= g.height) {
          std::fill(out, out + 4 * tw, 0.f);
          continue;
        }
        std::copy_n(plane + (d * g.height + h) * width, width, padded + 1);
#pragma omp simd
        for (int64_t t = 0; t < tw; ++t)
          SWINSMT_WINOGRAD_BT(padded[2 * t], padded[2 * t + 1], padded[2 * t + 2], padded[2 * t + 3], out, tw, t);
      }
    }
    for (int z = 0; z < 4; ++z)
      for (int a = 0; a < 4; ++a) {
        const float* in = along_w + (z * 16 + a) * tw;  // y stride: 4 * tw
        float* out = along_h + (z * 16 + a) * tw;       // b stride: 4 * tw
#pragma omp simd
        for (int64_t t = 0; t < tw; ++t)
          SWINSMT_WINOGRAD_BT(in[t], in[4 * tw + t], in[8 * tw + t], in[12 * tw + t], out, 4 * tw, t);
      }
    for (int b = 0; b < 4; ++b)
      for (int a = 0; a < 4; ++a) {
        const float* in = along_h + (b * 4 + a) * tw;             // z stride: 16 * tw
        float* out = v + (b * 4 + a) * position_stride + r * tw;  // c stride: 16 positions
#pragma omp simd
        for (int64_t t = 0; t < tw; ++t)
          SWINSMT_WINOGRAD_BT(in[t], in[16 * tw + t], in[32 * tw + t], in[48 * tw + t], out, 16 * position_stride, t);
      }
  }
}
#undef SWINSMT_WINOGRAD_BT

// A^T of four products (one per transformed position along one axis) into two outputs.
inline void winograd_at(const float* m, int64_t stride, float* out, int64_t out_stride, int64_t n) {
#pragma omp simd
  for (int64_t t = 0; t < n; ++t) {
    const float m1 = m[stride + t], m2 = m[2 * stride + t];
    out[t] = m[t] + m1 + m2;
    out[out_stride + t] = m1 - m2 - m[3 * stride + t];
  }
}

// Transforms one output channel of a block back: m[p * position_stride + t] are the products of
// the 64 positions; writes the block's 2x2x2 tiles plus `bias` into `plane`. scratch: 56 * tiles.
SWINSMT_ISA_CLONES
void transform_output(const float* m, int64_t position_stride, float bias, const Geometry& g, const Block& blk,
                      float* plane, float* scratch) {
  const int64_t tiles = blk.rows * g.tiles_w, tw = g.tiles_w;
  float* along_w = scratch;               // [c 4][b 4][k 2][tiles]
  float* along_h = along_w + 32 * tiles;  // [c 4][j 2][k 2][tiles]
  float* along_d = along_h + 16 * tiles;  // [i 2][j 2][k 2][tiles]
  for (int cb = 0; cb < 16; ++cb)
    winograd_at(m + cb * 4 * position_stride, position_stride, along_w + cb * 2 * tiles, tiles, tiles);
  for (int c = 0; c < 4; ++c)
    for (int k = 0; k < 2; ++k)
      winograd_at(along_w + (c * 8 + k) * tiles, 2 * tiles, along_h + (c * 4 + k) * tiles, 2 * tiles, tiles);
  for (int jk = 0; jk < 4; ++jk) winograd_at(along_h + jk * tiles, 4 * tiles, along_d + jk * tiles, 4 * tiles, tiles);
  for (int64_t r = 0; r < blk.rows; ++r)
    for (int i = 0; i < 2; ++i)
      for (int j = 0; j < 2; ++j) {
        float* row = plane + ((2 * blk.tile_d + i) * g.height + 2 * (blk.tile_h0 + r) + j) * g.width;
        const float* even = along_d + ((i * 2 + j) * 2) * tiles + r * tw;
        const float* odd = even + tiles;
#pragma omp simd
        for (int64_t t = 0; t < tw; ++t) {
          row[2 * t] = even[t] + bias;
          row[2 * t + 1] = odd[t] + bias;
        }
      }
}

}  // namespace

bool cpu_float_parts_of_one_map(at::TensorList parts) {
  if (parts.empty()) return false;
  const auto& first = parts[0];
  return std::all_of(parts.begin(), parts.end(), [&](const at::Tensor& x) {
    return x.device().is_cpu() && x.scalar_type() == at::kFloat && x.dim() == 5 && first.dim() == 5 &&
           x.size(0) == first.size(0) && x.sizes().slice(2) == first.sizes().slice(2);
  });
}

bool winograd_conv3d_applies(at::TensorList inputs, const at::Tensor& weight) {
  if (!has_onednn_sgemm() || !cpu_float_parts_of_one_map(inputs) || weight.scalar_type() != at::kFloat ||
      !weight.device().is_cpu() || weight.dim() != 5 || weight.size(2) != 3 || weight.size(3) != 3 ||
      weight.size(4) != 3)
    return false;
  const auto& first = inputs[0];
  int64_t channels = 0;
  for (const auto& x : inputs) channels += x.size(1);
  const int64_t d = first.size(2), h = first.size(3), w = first.size(4);
  return channels == weight.size(1) && d % 2 == 0 && h % 2 == 0 && w % 2 == 0 && d * h * w >= kMinVoxels;
}

at::Tensor winograd_conv3d(at::TensorList inputs, const at::Tensor& weight, const at::Tensor& bias) {
  TORCH_INTERNAL_ASSERT(cpu_float_parts_of_one_map(inputs));
  RECORD_USER_SCOPE("swinsmt::winograd_conv3d");
  const auto& first = inputs[0];
  const int64_t batch = first.size(0), cout = weight.size(0), cin = weight.size(1);
  const Geometry g{first.size(2), first.size(3), first.size(4), first.size(3) / 2, first.size(4) / 2};
  std::vector<at::Tensor> parts;
  int64_t channels = 0;
  for (const auto& x : inputs) {
    channels += x.size(1);
    parts.push_back(x.contiguous());
  }
  if (channels != cin)
    throw Error("winograd_conv3d: the inputs have " + std::to_string(channels) + " channels, the weight expects " +
                std::to_string(cin));
  const auto u = transform_filter(weight);
  const auto b = bias.defined() ? bias.contiguous() : at::Tensor();
  auto out = at::empty({batch, cout, g.depth, g.height, g.width}, first.options());
  const int64_t rows_per_block = std::clamp<int64_t>((kTilesPerBlock + g.tiles_w - 1) / g.tiles_w, 1, g.tiles_h);
  const int64_t blocks_per_slab = (g.tiles_h + rows_per_block - 1) / rows_per_block;
  const int64_t tiles_d = g.depth / 2, blocks = batch * tiles_d * blocks_per_slab;
  const int64_t max_tiles = rows_per_block * g.tiles_w, volume = g.depth * g.height * g.width;
  const float* up = u.data_ptr<float>();
  const float* bp = b.defined() ? b.data_ptr<float>() : nullptr;
  float* op = out.data_ptr<float>();
  at::parallel_for(0, blocks, 1, [&](int64_t begin, int64_t end) {
    std::vector<float> v(kPositions * cin * max_tiles), m(kPositions * cout * max_tiles);
    std::vector<float> scratch(std::max((g.width + 2) + 128 * g.tiles_w, 56 * max_tiles));
    for (int64_t index = begin; index < end; ++index) {
      const int64_t n = index / (tiles_d * blocks_per_slab), in_sample = index % (tiles_d * blocks_per_slab);
      Block blk{in_sample / blocks_per_slab, (in_sample % blocks_per_slab) * rows_per_block, 0};
      blk.rows = std::min(rows_per_block, g.tiles_h - blk.tile_h0);
      const int64_t tiles = blk.rows * g.tiles_w;
      int64_t ci = 0;
      for (const auto& x : parts) {
        const float* xp = x.data_ptr<float>() + n * x.size(1) * volume;
        for (int64_t c = 0; c < x.size(1); ++c, ++ci)
          transform_input(xp + c * volume, g, blk, v.data() + ci * kPositions * tiles, tiles, scratch.data());
      }
      for (int64_t p = 0; p < kPositions; ++p)
        onednn_sgemm('N', 'N', cout, tiles, cin, 1.0f, up + p * cout * cin, cin, v.data() + p * tiles,
                     kPositions * tiles, 0.0f, m.data() + p * tiles, kPositions * tiles);
      for (int64_t co = 0; co < cout; ++co)
        transform_output(m.data() + co * kPositions * tiles, tiles, bp ? bp[co] : 0.f, g, blk,
                         op + (n * cout + co) * volume, scratch.data());
    }
  });
  return out;
}

}  // namespace swinsmt::detail
