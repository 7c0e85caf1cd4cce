#pragma once
// 3x3x3 "same" convolutions on CPU by Winograd's minimal filtering F(2x2x2, 3x3x3). SwinUNETR's
// residual conv blocks spend ~1.5 TFLOP per 128^3 window in 3x3x3 convolutions (70 % of it in the
// three full-resolution ones of encoder1 and decoder1), which oneDNN runs directly at close to this
// CPU's rate. Winograd computes each 2x2x2 output tile from a 4x4x4 input tile with 64 instead of
// 216 multiplications per channel pair: 64 matrix products (one per transformed position) of the
// transformed filters with the transformed input tiles. The transforms only add, subtract and halve,
// so the result differs from a direct convolution by rounding alone: tests/winograd_conv3d_test.cpp
// holds it within 2e-6 (relative) of a float64 convolution, and the whole-model fixtures compare it
// with the official implementation.

#include <ATen/core/Tensor.h>

namespace swinsmt::detail {

/// True when `parts` are float32 5-D CPU tensors of one batch and spatial size: channel parts of one
/// map that the CPU kernels can read without concatenating them.
bool cpu_float_parts_of_one_map(at::TensorList parts);

/// True when winograd_conv3d computes this convolution: float32 CPU tensors, 5-D inputs of one
/// batch and spatial size with even depth, height and width whose channels add up to the weight's
/// (Cout, Cin, 3, 3, 3), oneDNN's sgemm built in, and a map large enough for the transforms to pay
/// (the small deep stages stay with oneDNN's direct convolution).
bool winograd_conv3d_applies(at::TensorList inputs, const at::Tensor& weight);

/// conv3d(input, weight, bias, stride 1, padding 1) by F(2x2x2, 3x3x3); `bias` may be undefined.
/// The input is the concatenation along channels of `inputs` (one or more tensors of the same
/// batch and spatial size), so decoders need not build the concatenated map.
at::Tensor winograd_conv3d(at::TensorList inputs, const at::Tensor& weight, const at::Tensor& bias);

}  // namespace swinsmt::detail
