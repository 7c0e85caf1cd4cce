#include <ATen/ATen.h>
#include <iostream>
#include <swinsmt/io/nifti.hpp>
int main(int argc, char** argv) {
  auto a = swinsmt::io::read_nifti(argv[1]).data, b = swinsmt::io::read_nifti(argv[2]).data;
  std::cout << "voxels " << a.numel() << " differ " << a.ne(b).sum().item<int64_t>() << "\n";
}
