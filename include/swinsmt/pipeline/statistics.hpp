#pragma once
// Per-structure measurements of a label map on its CT.

#include <swinsmt/io/volume.hpp>
#include <swinsmt/pipeline/labels.hpp>

#include <string>
#include <vector>

namespace swinsmt {

struct StructureStatistics {
  int label = 0;
  std::string name;
  int64_t voxels = 0;
  double volume_mm3 = 0;  ///< voxels * |det(affine 3x3)|
  double mean_hu = 0;     ///< mean CT value inside the structure; NaN when it is empty
};

/// One entry per label id 1..max_label (empty structures included, with 0 voxels), names from
/// `names` (default: swinsmt::labels()). labels: uint8 on the grid of `ct` (same shape). Throws swinsmt::Error when the
/// shapes differ.
std::vector<StructureStatistics> compute_statistics(const at::Tensor& labels, const io::Volume& ct, int max_label,
                                                    const LabelTable& names = swinsmt::labels());

/// JSON text {"spleen": {"label": 1, "voxels": n, "volume_mm3": v, "mean_hu": m|null}, ...} in label order.
std::string statistics_json(const std::vector<StructureStatistics>& statistics);

}  // namespace swinsmt
