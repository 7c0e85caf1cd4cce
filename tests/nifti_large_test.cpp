// A label map larger than 4 GiB uncompressed round-trips through .nii.gz: zlib counts in 32 bits,
// so the writer must feed it in chunks and check that every byte went in (a whole-body CT at a
// fine grid gets there). Sparse labels keep the file small; the test needs about 13 GB of memory.
#include "test_support.hpp"

#include <swinsmt/io/nifti.hpp>

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <filesystem>

using namespace swinsmt;

TEST(NiftiLarge, LabelMapOver4GiBRoundTripsThroughGzip) {
  test::ScratchDir dir("nifti_large");
  const int64_t x = 2048, y = 2048, z = 1025;  // 4,299,161,600 bytes > 2^32
  ASSERT_GT(x * y * z, int64_t{1} << 32);
  at::Tensor labels = at::zeros({x, y, z}, at::kByte);
  labels[0][0][0] = 1;
  labels[1000][1500][700] = 42;
  labels[x - 1][y - 1][z - 1] = 117;  // the very last byte: a cut stream would lose it
  const auto geometry = io::NiftiGeometry::from_affine(at::diag(at::tensor({0.8, 0.8, 1.0, 1.0}, at::kDouble)));
  const std::string path = dir / "large.nii.gz";
  io::write_nifti(path, labels, geometry);
  labels = at::Tensor();  // free before reading back
  EXPECT_LT(std::filesystem::file_size(path), uintmax_t{64} << 20);

  io::NiftiReadOptions options;
  options.max_voxels = int64_t{1} << 33;
  const auto read = io::read_nifti(path, options);
  ASSERT_EQ(read.data.sizes(), at::IntArrayRef({x, y, z}));
  EXPECT_EQ(read.data[0][0][0].item<int>(), 1);
  EXPECT_EQ(read.data[1000][1500][700].item<int>(), 42);
  EXPECT_EQ(read.data[x - 1][y - 1][z - 1].item<int>(), 117);
  // Nothing else set: three non-zero voxels in all (nonzero() lists them without widening 4 GB).
  EXPECT_EQ(read.data.nonzero().size(0), 3);
}
