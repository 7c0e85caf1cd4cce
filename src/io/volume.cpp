#include <swinsmt/io/volume.hpp>

#include <ATen/ATen.h>

#include <cmath>

namespace swinsmt::io {

NiftiGeometry NiftiGeometry::from_affine(const at::Tensor& affine) {
  NiftiGeometry g;
  g.qform_code = 1;
  g.sform_code = 1;
  g.qform = affine.to(at::kDouble).clone();
  g.sform = g.qform.clone();
  g.pixdim = spacing_of(affine);
  g.xyz_units = 2;  // NIFTI_UNITS_MM
  return g;
}

std::array<double, 3> spacing_of(const at::Tensor& affine) {
  const auto a = affine.to(at::kDouble).contiguous();
  const double* m = a.data_ptr<double>();
  std::array<double, 3> s{};
  for (int c = 0; c < 3; ++c)
    s[c] = std::sqrt(m[0 * 4 + c] * m[0 * 4 + c] + m[1 * 4 + c] * m[1 * 4 + c] + m[2 * 4 + c] * m[2 * 4 + c]);
  return s;
}

std::string axis_codes(const at::Tensor& affine) {
  const auto a = affine.to(at::kDouble).contiguous();
  const double* m = a.data_ptr<double>();
  const char positive[] = {'R', 'A', 'S'}, negative[] = {'L', 'P', 'I'};
  std::string codes;
  bool used[3] = {false, false, false};
  for (int c = 0; c < 3; ++c) {
    int best = -1;
    for (int r = 0; r < 3; ++r)
      if (!used[r] && (best < 0 || std::abs(m[r * 4 + c]) > std::abs(m[best * 4 + c]))) best = r;
    used[best] = true;
    codes += m[best * 4 + c] >= 0 ? positive[best] : negative[best];
  }
  return codes;
}

}  // namespace swinsmt::io
