// The library API in a few lines: read a CT (NIfTI file or DICOM folder), segment it with a
// checkpoint, write the label map in the CT's geometry with statistics.json beside it (the writer
// `swinsmt segment` uses) and print the largest structures.
//   segment_ct CT OUT.nii.gz CKPT
#include <swinsmt/swinsmt.hpp>

#include <algorithm>
#include <iostream>

int main(int argc, char** argv) {
  if (argc != 4) {
    std::cerr << "usage: segment_ct CT OUT.nii.gz CKPT\n";
    return 2;
  }
  try {
    // Reuse freed activations across layers and windows instead of faulting in fresh memory each time
    // (process-wide; the swinsmt CLI does the same).
    swinsmt::use_cpu_buffer_pool();
    const auto inputs = swinsmt::find_ct_inputs({argv[1]});
    swinsmt::WriterOptions outputs;
    outputs.statistics = true;
    // Every output path is checked before the minutes of inference (existing files are kept).
    const swinsmt::SegmentationWriter writer(argv[2], inputs, outputs);
    const swinsmt::io::Volume ct = swinsmt::read_ct(inputs.at(0));
    swinsmt::SegmentOptions options;  // roi 128, overlap 0.5, gaussian, 1.5 mm, HU -1024..1024
    options.roi_size = {64};          // cheaper windows for a small example
    options.spacing = c10::nullopt;   // keep the CT's grid
    swinsmt::Segmenter segmenter(swinsmt::load(argv[3]), options);
    const swinsmt::Segmentation result = segmenter.segment(
        ct, [](int64_t done, int64_t total) { std::cerr << "\rwindow " << done << "/" << total << std::flush; });
    std::cerr << "\n";
    writer.write(0, ct, result.labels, 117);

    auto statistics = swinsmt::compute_statistics(result.labels, ct, 117);
    std::sort(statistics.begin(), statistics.end(), [](const auto& a, const auto& b) { return a.voxels > b.voxels; });
    for (size_t i = 0; i < 5 && i < statistics.size(); ++i)
      std::cout << statistics[i].name << ": " << statistics[i].volume_mm3 / 1000.0 << " ml, mean "
                << statistics[i].mean_hu << " HU\n";
  } catch (const std::exception& e) {
    std::cerr << "segment_ct: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
