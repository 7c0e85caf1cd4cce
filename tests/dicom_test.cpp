// DICOM series: geometry against the segmentation TotalSegmentator stored for the same series
// (tests/data/example_seg_dicom.nii.gz, stored LAS) and bad folders.
#include "fixtures.hpp"
#include "test_support.hpp"

#include <swinsmt/error.hpp>
#include <swinsmt/io/dicom.hpp>
#include <swinsmt/io/nifti.hpp>
#include <swinsmt/pipeline/preprocess.hpp>

#include <ATen/ATen.h>
#include <gdcmAttribute.h>
#include <gdcmReader.h>
#include <gdcmWriter.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

using namespace swinsmt;
namespace fs = std::filesystem;

namespace {

std::string series_folder() { return test::data_path("dicom_series"); }

std::vector<fs::path> series_files() {
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(series_folder())) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace

TEST(Dicom, SeriesGeometryMatchesTotalSegmentatorOutput) {
  const auto ct = io::read_dicom_series(series_folder());
  const auto seg = io::read_nifti(test::data_path("example_seg_dicom.nii.gz"));
  ASSERT_EQ(ct.data.sizes().vec(), (std::vector<int64_t>{512, 512, 20}));
  // Our volume is stored in DICOM order (column, row, slice), the reference as dcm2niix writes it
  // (rows flipped): the same grid once both are in RAS.
  const auto ct_ras = orient_to_ras(ct.data, ct.affine);
  const auto seg_ras = orient_to_ras(seg.data, seg.affine);
  EXPECT_EQ(ct_ras.data.sizes(), seg_ras.data.sizes());
  const double error = (ct_ras.affine - seg_ras.affine).abs().max().item<double>();
  EXPECT_LE(error, 1e-3) << "ours\n" << ct_ras.affine << "\nreference\n" << seg_ras.affine;
  for (int d = 0; d < 3; ++d) EXPECT_NEAR(ct.spacing[d], seg.spacing[d], 1e-4);
  // CT values are HU after RescaleSlope/Intercept: air about -1000, nothing below -1024 - 1000.
  EXPECT_LT(ct.data.min().item<double>(), -900);
  EXPECT_GT(ct.data.max().item<double>(), 300);
  EXPECT_EQ(ct.geometry.sform_code, 1);
  EXPECT_TRUE(io::is_dicom_folder(series_folder()));
}

TEST(Dicom, EmptyAndNonDicomFolders) {
  test::ScratchDir dir("dicom_empty");
  fs::create_directories(dir / "empty");
  EXPECT_NE(test::error_of([&] { io::read_dicom_series(dir / "empty"); }).find("is empty"), std::string::npos);
  fs::create_directories(dir / "notes");
  { std::ofstream(dir / "notes/readme.txt") << "no images here"; }
  EXPECT_NE(test::error_of([&] { io::read_dicom_series(dir / "notes"); }).find("no DICOM image"), std::string::npos);
  EXPECT_NE(test::error_of([&] { io::read_dicom_series(dir / "missing"); }).find("no such folder"), std::string::npos);
  EXPECT_FALSE(io::is_dicom_folder(dir / "notes"));
}

TEST(Dicom, MixedSeriesNamesEachSeries) {
  test::ScratchDir dir("dicom_mixed");
  const auto files = series_files();
  for (const auto& f : files) fs::copy_file(f, dir / f.filename().string());
  // Give two files another SeriesInstanceUID.
  const std::string other_uid = "1.2.826.0.1.3680043.2.1125.999";
  for (int i = 0; i < 2; ++i) {
    const std::string path = dir / files[i].filename().string();
    gdcm::Reader reader;
    reader.SetFileName(path.c_str());
    ASSERT_TRUE(reader.Read());
    gdcm::Attribute<0x0020, 0x000e> uid;
    uid.SetValue(other_uid.c_str());
    reader.GetFile().GetDataSet().Replace(uid.GetAsDataElement());
    gdcm::Writer writer;
    writer.SetFile(reader.GetFile());
    writer.SetFileName(path.c_str());
    writer.CheckFileMetaInformationOff();  // keep the file meta header as it is
    ASSERT_TRUE(writer.Write());
  }
  const auto message = test::error_of([&] { io::read_dicom_series(dir.path()); });
  EXPECT_NE(message.find("mixes 2 DICOM series"), std::string::npos) << message;
  EXPECT_NE(message.find(other_uid + " (2 files)"), std::string::npos) << message;
  EXPECT_NE(message.find("(18 files)"), std::string::npos) << message;
}

TEST(Dicom, MissingSliceIsInconsistentSpacing) {
  test::ScratchDir dir("dicom_gap");
  const auto series = io::read_dicom_series(series_folder());
  // Sort the files by their position to remove a middle slice.
  std::vector<std::pair<double, fs::path>> by_position;
  for (const auto& f : series_files()) {
    gdcm::Reader reader;
    reader.SetFileName(f.c_str());
    ASSERT_TRUE(reader.Read());
    gdcm::Attribute<0x0020, 0x0032> ipp;
    ipp.Set(reader.GetFile().GetDataSet());
    by_position.emplace_back(ipp[2], f);
  }
  std::sort(by_position.begin(), by_position.end());
  for (size_t i = 0; i < by_position.size(); ++i)
    if (i != 10) fs::copy_file(by_position[i].second, dir / by_position[i].second.filename().string());
  const auto message = test::error_of([&] { io::read_dicom_series(dir.path()); });
  EXPECT_NE(message.find("inconsistent slice spacing, gaps from 2 to 4 mm"), std::string::npos) << message;
}
