#include <swinsmt/pipeline/body_crop.hpp>

#include <swinsmt/error.hpp>

#include <ATen/ATen.h>

#include <algorithm>
#include <vector>

namespace swinsmt {

std::optional<Box3> body_box(const at::Tensor& hu, double threshold_hu) {
  if (hu.dim() != 3) throw Error("body_box: expected a 3-D volume, got " + std::to_string(hu.dim()) + " dimensions");
  const at::Tensor above = hu.to(at::kCPU).gt(threshold_hu).contiguous();
  const int64_t nx = above.size(0), ny = above.size(1), nz = above.size(2), n = above.numel();
  const bool* mask = above.data_ptr<bool>();
  // Breadth-first labelling with one visited flag per voxel; each component's size and box are
  // kept only while it is the largest so far.
  std::vector<uint8_t> seen(static_cast<size_t>(n), 0);
  std::vector<int64_t> queue;
  int64_t best_size = 0;
  Box3 best{};
  for (int64_t seed = 0; seed < n; ++seed) {
    if (!mask[seed] || seen[static_cast<size_t>(seed)]) continue;
    queue.assign(1, seed);
    seen[static_cast<size_t>(seed)] = 1;
    Box3 box{{{nx, 0}, {ny, 0}, {nz, 0}}};
    for (size_t head = 0; head < queue.size(); ++head) {
      const int64_t v = queue[head];
      const int64_t x = v / (ny * nz), y = (v / nz) % ny, z = v % nz;
      const int64_t at3[3] = {x, y, z};
      for (int a = 0; a < 3; ++a) {
        box[a][0] = std::min(box[a][0], at3[a]);
        box[a][1] = std::max(box[a][1], at3[a] + 1);
      }
      const int64_t neighbours[6][2] = {{x > 0, -ny * nz}, {x + 1 < nx, ny * nz}, {y > 0, -nz},
                                        {y + 1 < ny, nz},  {z > 0, -1},           {z + 1 < nz, 1}};
      for (const auto& [inside, step] : neighbours) {
        if (!inside) continue;
        const int64_t w = v + step;
        if (mask[w] && !seen[static_cast<size_t>(w)]) {
          seen[static_cast<size_t>(w)] = 1;
          queue.push_back(w);
        }
      }
    }
    if (static_cast<int64_t>(queue.size()) > best_size) {
      best_size = static_cast<int64_t>(queue.size());
      best = box;
    }
  }
  if (best_size == 0) return std::nullopt;
  return best;
}

Box3 grow_box(const Box3& box, const std::array<int64_t, 3>& margin, const std::array<int64_t, 3>& shape) {
  Box3 out;
  for (int a = 0; a < 3; ++a) {
    out[a][0] = std::max<int64_t>(0, box[a][0] - margin[a]);
    out[a][1] = std::min<int64_t>(shape[a], box[a][1] + margin[a]);
  }
  return out;
}

}  // namespace swinsmt
