#pragma once
// Instance norm (+ leaky ReLU) of the UNETR conv blocks in two passes over memory. ATen takes five
// for the same result at 128^3: statistics (mean, then variance), subtract, multiply, activation,
// each over a 400 MB map; the blocks normalise 15 such maps per window. Here each (sample, channel)
// plane is read once for its statistics (accumulated in double, so E[x^2] - mean^2 loses nothing
// that matters at these sizes) and once more to be normalised and activated in place.

#include <ATen/core/Tensor.h>

#include <optional>

namespace swinsmt::detail {

/// True when instance_norm_cpu_ handles `x`: a contiguous float32 CPU tensor (B, C, ...) with at
/// least one element, where no gradient is being recorded.
bool instance_norm_cpu_applies(const at::Tensor& x);

/// In place: x = (x - mean) / sqrt(var + eps) per (sample, channel) plane, biased variance, no
/// affine parameters (InstanceNorm3d as MONAI builds it); then, when `leaky_slope` is given,
/// x = x > 0 ? x : x * slope.
void instance_norm_cpu_(at::Tensor& x, double eps, std::optional<double> leaky_slope);

}  // namespace swinsmt::detail
