// Embedding the network in your own code: load a checkpoint with swinsmt::load, run one forward
// pass on a 64^3 tensor you prepared yourself, and print the most frequent predicted classes in
// each 32^3 octant ("window") of the output.
//
//   swinsmt_example_embed CKPT [CT.nii.gz]
//
// With a CT, the input is a 64^3 crop around the volume centre (HU window -1024..1024 -> [0, 1]);
// without one, a synthetic tensor (a bright sphere in a dark box) is used.
#include <swinsmt/swinsmt.hpp>

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <algorithm>
#include <iostream>
#include <string>
#include <utility>
#include <vector>

namespace {

constexpr int64_t kCrop = 64;  // the network needs sides divisible by 32

// (1, 1, 64, 64, 64) float32 in [0, 1]: a crop of the CT (zero-padded where the CT is smaller).
at::Tensor crop_of_ct(const std::string& path) {
  const swinsmt::io::Volume ct = swinsmt::io::read_nifti(path);
  const auto ras = swinsmt::orient_to_ras(ct.data.to(at::kFloat), ct.affine);
  const at::Tensor scaled = swinsmt::scale_intensity(ras.data, -1024, 1024);
  at::Tensor crop = at::zeros({kCrop, kCrop, kCrop});
  std::vector<at::indexing::TensorIndex> from, to;
  for (int64_t d = 0; d < 3; ++d) {
    const int64_t size = scaled.size(d), n = std::min(size, kCrop), start = (size - n) / 2;
    from.emplace_back(at::indexing::Slice(start, start + n));
    to.emplace_back(at::indexing::Slice(0, n));
  }
  crop.index_put_(to, scaled.index(from));
  return crop.reshape({1, 1, kCrop, kCrop, kCrop});
}

at::Tensor synthetic_input() {
  const auto axis = at::linspace(-1, 1, kCrop);
  const auto grids = at::meshgrid({axis, axis, axis}, "ij");
  const auto r2 = grids[0] * grids[0] + grids[1] * grids[1] + grids[2] * grids[2];
  return at::where(r2 < 0.4, at::full({}, 0.6), at::full({}, 0.1)).to(at::kFloat).reshape({1, 1, kCrop, kCrop, kCrop});
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || argc > 3) {
    std::cerr << "usage: swinsmt_example_embed CKPT [CT.nii.gz]\n";
    return 2;
  }
  try {
    // Configuration (feature size, MoE layers, classes) is inferred from the tensors.
    swinsmt::LoadedModel loaded = swinsmt::load(argv[1]);
    std::cout << "loaded " << loaded.info.path << " (" << swinsmt::container_name(loaded.info.container)
              << "): " << swinsmt::describe(loaded.config) << "\n";

    const at::Tensor input = argc == 3 ? crop_of_ct(argv[2]) : synthetic_input();
    c10::InferenceMode no_autograd;
    const at::Tensor logits = loaded.model->forward(input);  // (1, classes, 64, 64, 64) float32
    const at::Tensor labels = logits.argmax(1)[0];           // (64, 64, 64) int64
    std::cout << "forward " << input.sizes() << " -> " << logits.sizes() << "\n";

    const int64_t classes = logits.size(1), half = kCrop / 2;
    for (int64_t w = 0; w < 8; ++w) {
      const int64_t i = (w >> 2 & 1) * half, j = (w >> 1 & 1) * half, k = (w & 1) * half;
      using at::indexing::Slice;
      const at::Tensor window = labels.index({Slice(i, i + half), Slice(j, j + half), Slice(k, k + half)});
      const at::Tensor counts = at::bincount(window.flatten(), {}, classes);
      const auto [top_counts, top_ids] = counts.topk(3);
      std::cout << "window (" << i << ", " << j << ", " << k << "):";
      for (int64_t t = 0; t < 3; ++t) {
        const int64_t id = top_ids[t].item<int64_t>(), n = top_counts[t].item<int64_t>();
        if (n == 0) break;
        std::cout << "  " << (id == 0 ? std::string("background") : swinsmt::label_name(static_cast<int>(id))) << " "
                  << 100.0 * static_cast<double>(n) / static_cast<double>(window.numel()) << "%";
      }
      std::cout << "\n";
    }
  } catch (const std::exception& e) {
    std::cerr << "embed: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
