// Your own pre- and post-processing around the network, built from the public API instead of
// swinsmt::Segmenter: a coarser model grid (5 mm), a soft-tissue HU window, constant blending
// with 25 % overlap through swinsmt::SlidingWindowInferer, then only a few abdominal organs kept
// and their volumes computed on the model grid.
//
//   swinsmt_example_custom_pipeline CT.nii.gz CKPT [OUT.nii.gz]
//
// OUT (optional) is the kept label map on the 5 mm RAS grid the network saw.
#include <swinsmt/swinsmt.hpp>

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <cmath>
#include <iostream>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  if (argc < 3 || argc > 4) {
    std::cerr << "usage: swinsmt_example_custom_pipeline CT.nii.gz CKPT [OUT.nii.gz]\n";
    return 2;
  }
  try {
    const swinsmt::io::Volume ct = swinsmt::io::read_nifti(argv[1]);
    swinsmt::LoadedModel loaded = swinsmt::load(argv[2]);

    // Pre-processing: RAS orientation, 5 mm isotropic voxels, HU window -200..300 -> [0, 1].
    const std::array<double, 3> spacing{5.0, 5.0, 5.0};
    const swinsmt::OrientedImage ras = swinsmt::orient_to_ras(ct.data.to(at::kFloat), ct.affine);
    const swinsmt::SpacingPlan plan =
        swinsmt::plan_spacing(ras.affine, {ras.data.size(0), ras.data.size(1), ras.data.size(2)}, spacing);
    const at::Tensor resampled = swinsmt::spacing_linear(ras.data, plan);
    const at::Tensor input = swinsmt::scale_intensity(resampled, -200, 300).unsqueeze(0).unsqueeze(0);

    // Inference: 64^3 windows, 25 % overlap, every window weighted equally.
    swinsmt::SlidingWindowOptions window_options;
    window_options.roi_size = {64};
    window_options.overlap = 0.25;
    window_options.blend = swinsmt::BlendMode::constant;
    const swinsmt::SlidingWindowInferer inferer(window_options);
    c10::InferenceMode no_autograd;
    const at::Tensor logits = inferer(input, [&](const at::Tensor& windows) { return loaded.model->forward(windows); });
    std::cout << "model grid " << input.sizes().slice(2) << ", " << inferer.window_count(input.sizes().slice(2).vec())
              << " windows\n";

    // Post-processing: argmax, keep four organs, volumes from the voxel count.
    const std::vector<std::string> organs{"liver", "spleen", "kidney_left", "kidney_right"};
    const at::Tensor labels =
        swinsmt::keep_labels(logits.argmax(1)[0].to(at::kByte), swinsmt::label_ids(organs));  // (X, Y, Z) uint8
    const double voxel_mm3 = spacing[0] * spacing[1] * spacing[2];
    for (const int id : swinsmt::label_ids(organs)) {
      const int64_t voxels = labels.eq(id).sum().item<int64_t>();
      std::cout << swinsmt::label_name(id) << ": " << voxels << " voxels, "
                << static_cast<double>(voxels) * voxel_mm3 / 1000.0 << " ml\n";
    }
    if (argc == 4) {
      swinsmt::io::write_nifti(argv[3], labels, swinsmt::io::NiftiGeometry::from_affine(plan.output_affine));
      std::cout << "wrote " << argv[3] << "\n";
    }
  } catch (const std::exception& e) {
    std::cerr << "custom_pipeline: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
