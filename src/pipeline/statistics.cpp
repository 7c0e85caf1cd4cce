#include <swinsmt/pipeline/statistics.hpp>

#include <swinsmt/error.hpp>
#include <swinsmt/pipeline/labels.hpp>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <limits>

namespace swinsmt {

std::vector<StructureStatistics> compute_statistics(const at::Tensor& labels, const io::Volume& ct, int max_label,
                                                    const LabelTable& names) {
  if (labels.sizes() != ct.data.sizes())
    throw Error("label map " + c10::str(labels.sizes()) + " and CT " + c10::str(ct.data.sizes()) + " (" + ct.source +
                ") differ in shape");
  const double voxel_mm3 = std::abs(ct.affine.slice(0, 0, 3).slice(1, 0, 3).det().item<double>());
  // One pass with bincount: counts and HU sums per label (float64 sums keep large organs exact).
  const at::Tensor flat = labels.flatten().to(at::kLong);
  const int64_t bins = max_label + 1;
  const at::Tensor counts = at::bincount(flat, {}, bins).to(at::kLong);
  const at::Tensor sums = at::bincount(flat, ct.data.flatten().to(at::kDouble), bins);
  std::vector<StructureStatistics> out;
  for (int id = 1; id <= max_label; ++id) {
    StructureStatistics s;
    s.label = id;
    s.name = label_name(id, names);
    s.voxels = counts[id].item<int64_t>();
    s.volume_mm3 = static_cast<double>(s.voxels) * voxel_mm3;
    s.mean_hu =
        s.voxels ? sums[id].item<double>() / static_cast<double>(s.voxels) : std::numeric_limits<double>::quiet_NaN();
    out.push_back(s);
  }
  return out;
}

std::string statistics_json(const std::vector<StructureStatistics>& statistics) {
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  for (const auto& s : statistics) {
    nlohmann::ordered_json entry;
    entry["label"] = s.label;
    entry["voxels"] = s.voxels;
    entry["volume_mm3"] = std::round(s.volume_mm3 * 1000.0) / 1000.0;
    if (std::isnan(s.mean_hu))
      entry["mean_hu"] = nullptr;
    else
      entry["mean_hu"] = std::round(s.mean_hu * 1000.0) / 1000.0;
    j[s.name] = entry;
  }
  return j.dump(2) + "\n";
}

}  // namespace swinsmt
