#include "inverse_linear_stream.hpp"

#include "common/strings.hpp"

#include <swinsmt/error.hpp>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <string>

namespace swinsmt::detail {

InverseLinearArgmax::InverseLinearArgmax(const c10::optional<SpacingPlan>& plan,
                                         const std::array<int64_t, 3>& model_grid, const Box3& region, int64_t channels)
    : resample_(plan && !plan->identity), model_(model_grid), input_(model_grid), region_(region), channels_(channels) {
  if (channels < 1 || channels > 256)
    throw Error("the probabilities have " + std::to_string(channels) + " channels; uint8 labels hold 1 to 256");
  if (plan && plan->output_shape != model_grid)
    throw Error("the resampling plan's grid " +
                join(std::vector<int64_t>(plan->output_shape.begin(), plan->output_shape.end()), " x ") +
                " is not the model grid " + join(std::vector<int64_t>(model_grid.begin(), model_grid.end()), " x "));
  region_voxels_ = 1;
  for (int a = 0; a < 3; ++a) region_voxels_ *= region_[a][1] - region_[a][0];
  missing_.assign(static_cast<size_t>(model_[0]), 0);
  for (int64_t x = region_[0][0]; x < region_[0][1]; ++x)
    missing_[static_cast<size_t>(x)] = (region_[1][1] - region_[1][0]) * (region_[2][1] - region_[2][0]);
  if (resample_) {
    input_ = plan->input_shape;
    // Invertd resamples from the recorded affine back to the input's (as spacing_inverse_linear_argmax).
    for (int a = 0; a < 3; ++a)
      taps_[a] = linear_taps(sample_positions(plan->recorded_spacing[a], plan->input_spacing[a], model_[a], input_[a]));
    needed_from_ = taps_[0].lower.front();
  }
  // Outside the region the labels are background: argmax of probability 1 for channel 0.
  labels_ = at::zeros({input_[0], input_[1], input_[2]}, at::kByte);
}

at::Tensor& InverseLinearArgmax::plane(int64_t x) {
  auto found = planes_.find(x);
  if (found != planes_.end()) return found->second;
  at::Tensor& data = planes_[x];
  data = at::empty({channels_, model_[1], model_[2]}, at::kFloat);
  const bool whole = region_[1][0] == 0 && region_[1][1] == model_[1] && region_[2][0] == 0 &&
                     region_[2][1] == model_[2] && x >= region_[0][0] && x < region_[0][1];
  if (!whole) {
    // Background with certainty wherever the region does not reach.
    data.zero_();
    data.select(0, 0).fill_(1);
  }
  held_bytes_ += static_cast<int64_t>(data.nbytes());
  peak_bytes_ = std::max(peak_bytes_, held_bytes_);
  return data;
}

void InverseLinearArgmax::add(const std::array<int64_t, 3>& begin, const at::Tensor& probabilities) {
  if (probabilities.dim() != 4 || probabilities.size(0) != channels_)
    throw Error("InverseLinearArgmax: expected (" + std::to_string(channels_) + ", X, Y, Z) probabilities, got " +
                join(probabilities.sizes().vec(), " x "));
  for (int a = 0; a < 3; ++a)
    if (begin[a] < region_[a][0] || begin[a] + probabilities.size(a + 1) > region_[a][1])
      throw Error("InverseLinearArgmax: a box along axis " + std::to_string(a) + " at " + std::to_string(begin[a]) +
                  " + " + std::to_string(probabilities.size(a + 1)) + " leaves the region " +
                  std::to_string(region_[a][0]) + " .. " + std::to_string(region_[a][1]));
  const at::Tensor box = probabilities.to(at::kCPU, at::kFloat);
  const int64_t e0 = box.size(1), e1 = box.size(2), e2 = box.size(3);
  added_voxels_ += e0 * e1 * e2;
  if (!resample_) {
    // The model grid is the input grid: argmax straight away (the first of equal maxima, as argmax(0)).
    labels_.narrow(0, begin[0], e0).narrow(1, begin[1], e1).narrow(2, begin[2], e2).copy_(box.argmax(0).to(at::kByte));
    return;
  }
  for (int64_t x = begin[0]; x < begin[0] + e0; ++x) {
    // A plane no input plane reads any more (between the taps of a coarser input grid) is only counted.
    if (x >= needed_from_) plane(x).narrow(1, begin[1], e1).narrow(2, begin[2], e2).copy_(box.select(1, x - begin[0]));
    missing_[static_cast<size_t>(x)] -= e1 * e2;
  }
  compute_ready_planes();
}

void InverseLinearArgmax::compute_ready_planes() {
  // Complete planes: every region voxel added, or outside the region along the first axis (background).
  while (complete_end_ < model_[0] && missing_[static_cast<size_t>(complete_end_)] == 0) ++complete_end_;
  const int64_t channel_stride = model_[1] * model_[2];
  while (next_input_plane_ < input_[0]) {
    const int64_t i = next_input_plane_;
    // Its taps read model planes lower and lower + 1 (the latter only inside the grid).
    const int64_t lower = taps_[0].lower[static_cast<size_t>(i)];
    const bool has_upper = lower + 1 < model_[0];
    if ((has_upper ? lower + 1 : lower) >= complete_end_) break;
    const float* lower_data = plane(lower).data_ptr<float>();
    const float* upper_data = has_upper ? plane(lower + 1).data_ptr<float>() : nullptr;
    uint8_t* dst = labels_.data_ptr<uint8_t>() + i * input_[1] * input_[2];
    const std::array<int64_t, 2> stride{model_[2], 1};
    at::parallel_for(0, input_[1], 1, [&](int64_t begin, int64_t end) {
      for (int64_t j = begin; j < end; ++j)
        for (int64_t k = 0; k < input_[2]; ++k)  // as spacing_inverse_linear_argmax
          dst[j * input_[2] + k] =
              static_cast<uint8_t>(trilinear_argmax(std::array<const float*, 2>{lower_data, upper_data}, channel_stride,
                                                    channels_, stride, model_, taps_, i, j, k));
    });
    ++next_input_plane_;
    // The input planes still to come read from their lower tap on (the taps never go back).
    needed_from_ = next_input_plane_ < input_[0] ? taps_[0].lower[static_cast<size_t>(next_input_plane_)] : model_[0];
    while (!planes_.empty() && planes_.begin()->first < needed_from_) {
      held_bytes_ -= static_cast<int64_t>(planes_.begin()->second.nbytes());
      planes_.erase(planes_.begin());
    }
  }
}

at::Tensor InverseLinearArgmax::labels() {
  if (resample_) compute_ready_planes();
  if (added_voxels_ != region_voxels_ || (resample_ && next_input_plane_ != input_[0]))
    throw Error("InverseLinearArgmax: " + std::to_string(added_voxels_) + " of the region's " +
                std::to_string(region_voxels_) + " voxels were added; the labels are not complete");
  return labels_;
}

}  // namespace swinsmt::detail
