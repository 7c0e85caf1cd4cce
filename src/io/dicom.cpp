// DICOM series reading on GDCM (Debian libgdcm-dev): GDCM's PixmapReader decodes every common
// transfer syntax (raw, deflate, RLE, JPEG, JPEG-LS, JPEG 2000) with no codec setup, which DCMTK
// needs per codec family. Geometry and the rescale are computed here from the tags, not by GDCM's
// ImageReader or sorter, so that every inconsistency gets its own error message: ImageReader's
// geometry and Modality LUT code stops the process on assertions for inputs it does not expect
// (an MR slice with RescaleIntercept but no RescaleSlope aborts GDCM 3.0.21).
#include <swinsmt/io/dicom.hpp>

#include "dicom_structure.hpp"

#include <swinsmt/error.hpp>

#include <ATen/ATen.h>
#include <gdcmPixmap.h>
#include <gdcmPixmapReader.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <sstream>
#include <vector>

namespace swinsmt::io {
namespace {

namespace fs = std::filesystem;

struct Slice {
  std::string file;
  std::string series;
  std::string modality;                   // (0008,0060), "" when absent
  std::array<double, 3> position{};       // ImagePositionPatient, LPS mm
  std::array<double, 6> orientation{};    // ImageOrientationPatient: row then column cosines
  std::array<double, 2> pixel_spacing{};  // between rows, between columns (mm)
  double thickness = 0;                   // SliceThickness (0018,0050); 0 when absent
  int64_t rows = 0, columns = 0;
  double slope = 1, intercept = 0;
  at::Tensor pixels;  // (columns, rows) float32, rescaled
  double along_normal = 0;
};

bool has_dicom_magic(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  char head[132];
  return in.read(head, sizeof head) && has_dicom_preamble(reinterpret_cast<const uint8_t*>(head), sizeof head);
}

std::string format_decimal(double v) {
  std::ostringstream out;
  out.precision(4);
  out << v;
  return out.str();
}

template <typename T>
at::Tensor buffer_to_tensor(const std::vector<char>& buffer, int64_t rows, int64_t columns, at::ScalarType type) {
  return at::from_blob(const_cast<char*>(buffer.data()), {rows, columns}, type).to(at::kFloat);
}

/// Reads one file; returns false when it is not a DICOM Part 10 file or holds no image (no pixel
/// data). A Part 10 file whose structure is broken is an error: GDCM only sees checked bytes.
bool read_slice(const fs::path& file, Slice& s) {
  if (!has_dicom_magic(file)) return false;  // before reading a possibly large non-DICOM file
  const std::string path = file.string();
  // One single-frame CT slice is a few MB even uncompressed; a larger file is refused unread.
  constexpr uintmax_t max_slice_bytes = uintmax_t{1} << 30;
  std::error_code ec;
  const uintmax_t file_bytes = fs::file_size(file, ec);
  if (!ec && file_bytes > max_slice_bytes)
    throw Error(path + " has " + std::to_string(file_bytes) + " bytes; a single-frame DICOM slice is expected to be " +
                "under " + std::to_string(max_slice_bytes) + " bytes");
  std::ifstream in(file, std::ios::binary);
  if (!in) throw Error(path + ": cannot open the file");
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto* data = reinterpret_cast<const uint8_t*>(bytes.data());
  const DicomStructure structure = check_dicom_structure(data, bytes.size(), path);
  if (!structure.has_pixel_data) return false;
  // Everything GDCM would otherwise parse with assertions (image pixel module, geometry strings)
  // is checked and parsed here first; GDCM only decodes the pixel data.
  const DicomPixelModule module = check_pixel_module(structure, path);
  s.file = path;
  s.series = string_value(structure, 0x0020, 0x000e);
  s.modality = string_value(structure, 0x0008, 0x0060);
  if (has_value(structure, 0x0018, 0x0050))
    s.thickness = decimal_strings<1>(structure, 0x0018, 0x0050, "SliceThickness", path)[0];
  const auto position = decimal_strings<3>(structure, 0x0020, 0x0032, "ImagePositionPatient", path);
  const auto orientation = decimal_strings<6>(structure, 0x0020, 0x0037, "ImageOrientationPatient", path);
  const auto spacing = decimal_strings<2>(structure, 0x0028, 0x0030, "PixelSpacing", path);
  std::copy(position.begin(), position.end(), s.position.begin());
  std::copy(orientation.begin(), orientation.end(), s.orientation.begin());
  s.pixel_spacing = spacing;
  if (has_value(structure, 0x0028, 0x1053))
    s.slope = decimal_strings<1>(structure, 0x0028, 0x1053, "RescaleSlope", path)[0];
  if (has_value(structure, 0x0028, 0x1052))
    s.intercept = decimal_strings<1>(structure, 0x0028, 0x1052, "RescaleIntercept", path)[0];
  // A slope of 0 would map every pixel to the intercept (GDCM quietly reads it as 1 instead).
  if (s.slope == 0) throw Error(path + ": RescaleSlope (0028,1053) is 0; expected a nonzero number");

  std::istringstream checked(std::move(bytes));
  gdcm::PixmapReader reader;
  reader.SetStream(checked);
  if (!reader.Read()) throw Error(path + ": GDCM cannot read this DICOM image");

  // One frame and one sample per pixel were checked by check_pixel_module.
  const gdcm::Pixmap& image = reader.GetPixmap();
  const gdcm::PixelFormat& format = image.GetPixelFormat();
  s.columns = image.GetDimension(0);
  s.rows = image.GetDimension(1);
  if (s.columns != module.columns || s.rows != module.rows)
    throw Error(path + ": GDCM decoded " + std::to_string(s.columns) + " x " + std::to_string(s.rows) +
                " pixels but the header says " + std::to_string(module.columns) + " x " + std::to_string(module.rows));
  std::vector<char> buffer(image.GetBufferLength());
  const size_t expected_bytes = static_cast<size_t>(s.rows * s.columns) * format.GetPixelSize();
  if (buffer.size() < expected_bytes)
    throw Error(path + ": the decoded pixel data has " + std::to_string(buffer.size()) + " bytes; " +
                std::to_string(s.columns) + " x " + std::to_string(s.rows) + " pixels need " +
                std::to_string(expected_bytes));
  if (!image.GetBuffer(buffer.data())) throw Error(path + ": cannot decode the pixel data");
  at::Tensor raw;
  switch (format.GetScalarType()) {
    case gdcm::PixelFormat::UINT8:
      raw = buffer_to_tensor<uint8_t>(buffer, s.rows, s.columns, at::kByte);
      break;
    case gdcm::PixelFormat::INT8:
      raw = buffer_to_tensor<int8_t>(buffer, s.rows, s.columns, at::kChar);
      break;
    case gdcm::PixelFormat::INT16:
      raw = buffer_to_tensor<int16_t>(buffer, s.rows, s.columns, at::kShort);
      break;
    case gdcm::PixelFormat::INT32:
      raw = buffer_to_tensor<int32_t>(buffer, s.rows, s.columns, at::kInt);
      break;
    case gdcm::PixelFormat::FLOAT32:
      raw = buffer_to_tensor<float>(buffer, s.rows, s.columns, at::kFloat);
      break;
    case gdcm::PixelFormat::UINT16: {
      const auto* p = reinterpret_cast<const uint16_t*>(buffer.data());
      raw = at::empty({s.rows, s.columns}, at::kFloat);
      float* out = raw.data_ptr<float>();
      for (int64_t i = 0; i < s.rows * s.columns; ++i) out[i] = p[i];
      break;
    }
    default:
      throw Error(path + ": pixel type " + std::string(format.GetScalarTypeAsString()) + " is not supported");
  }
  // Rescale in float64 then store float32 (HU are integers for CT, exact either way).
  s.pixels = (raw.to(at::kDouble) * s.slope + s.intercept).to(at::kFloat).t().contiguous();  // (columns, rows)
  return true;
}

}  // namespace

bool is_dicom_file(const std::string& path) {
  std::error_code ec;
  return fs::is_regular_file(path, ec) && has_dicom_magic(path);
}

bool is_dicom_folder(const std::string& path) {
  std::error_code ec;
  if (!fs::is_directory(path, ec)) return false;
  for (const auto& entry : fs::directory_iterator(path, ec))
    if (entry.is_regular_file(ec) && has_dicom_magic(entry.path())) return true;
  return false;
}

Volume read_dicom_series(const std::string& folder) {
  std::error_code ec;
  if (!fs::exists(folder, ec)) throw Error(folder + ": no such folder (expected a DICOM series folder)");
  if (!fs::is_directory(folder, ec)) throw Error(folder + " is not a folder; expected a folder of DICOM files");
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(folder, ec))
    if (entry.is_regular_file(ec)) files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  if (files.empty()) throw Error(folder + " is empty; expected the files of one DICOM series");

  std::vector<Slice> slices;
  for (const auto& file : files) {
    Slice s;
    if (read_slice(file, s)) slices.push_back(std::move(s));
  }
  if (slices.empty())
    throw Error(folder + " holds " + std::to_string(files.size()) +
                " files but no DICOM image; expected the files of one DICOM series");

  std::map<std::string, int> series;
  for (const auto& s : slices) ++series[s.series];
  if (series.size() > 1) {
    std::string list;
    for (const auto& [uid, count] : series)
      list += (list.empty() ? "" : ", ") + (uid.empty() ? "(none)" : uid) + " (" + std::to_string(count) + " files)";
    throw Error(folder + " mixes " + std::to_string(series.size()) + " DICOM series (SeriesInstanceUID " + list +
                "); expected one series per folder");
  }

  const Slice& first = slices.front();
  for (const auto& s : slices) {
    if (s.rows != first.rows || s.columns != first.columns)
      throw Error(s.file + " is " + std::to_string(s.columns) + " x " + std::to_string(s.rows) + " pixels, but " +
                  first.file + " is " + std::to_string(first.columns) + " x " + std::to_string(first.rows) +
                  "; expected one image size per series");
    for (int i = 0; i < 6; ++i)
      if (std::abs(s.orientation[i] - first.orientation[i]) > 1e-4)
        throw Error(s.file + " has another ImageOrientationPatient than " + first.file +
                    "; expected one orientation per series");
    for (int i = 0; i < 2; ++i)
      if (std::abs(s.pixel_spacing[i] - first.pixel_spacing[i]) > 1e-4)
        throw Error(s.file + " has PixelSpacing " + format_decimal(s.pixel_spacing[0]) + "\\" +
                    format_decimal(s.pixel_spacing[1]) + " but " + first.file + " has " +
                    format_decimal(first.pixel_spacing[0]) + "\\" + format_decimal(first.pixel_spacing[1]) +
                    "; expected one pixel spacing per series");
  }

  // Slice normal = row cosines x column cosines; sort along it.
  const double* o = first.orientation.data();
  const std::array<double, 3> normal{o[1] * o[5] - o[2] * o[4], o[2] * o[3] - o[0] * o[5], o[0] * o[4] - o[1] * o[3]};
  for (auto& s : slices)
    s.along_normal = s.position[0] * normal[0] + s.position[1] * normal[1] + s.position[2] * normal[2];
  std::stable_sort(slices.begin(), slices.end(),
                   [](const Slice& a, const Slice& b) { return a.along_normal < b.along_normal; });

  const int64_t n = static_cast<int64_t>(slices.size());
  std::array<double, 3> step{0, 0, 0};
  Volume v;
  if (n > 1) {
    double min_gap = 1e300, max_gap = 0;
    for (int64_t k = 1; k < n; ++k) {
      const double gap = slices[k].along_normal - slices[k - 1].along_normal;
      if (gap < 1e-4)
        throw Error(folder + ": " + slices[k - 1].file + " and " + slices[k].file +
                    " are at the same position; duplicate slices");
      min_gap = std::min(min_gap, gap);
      max_gap = std::max(max_gap, gap);
    }
    // A tolerance of 1% (and 0.01 mm) absorbs the rounding of positions written as decimal strings.
    if (max_gap - min_gap > std::max(0.01, 0.01 * min_gap))
      throw Error(folder + ": inconsistent slice spacing, gaps from " + format_decimal(min_gap) + " to " +
                  format_decimal(max_gap) +
                  " mm along the slice normal (missing slices?); expected evenly spaced slices");
    for (int i = 0; i < 3; ++i) step[i] = (slices.back().position[i] - first.position[i]) / static_cast<double>(n - 1);
  } else {
    // One slice says nothing of the distance to the next: its SliceThickness if recorded, else 1 mm,
    // said in a warning (the segmentation pipeline refuses a one-slice volume anyway).
    const double thickness = first.thickness > 0 ? first.thickness : 1.0;
    for (int i = 0; i < 3; ++i) step[i] = normal[i] * thickness;
    v.warnings.push_back(folder + " holds a single slice: its third voxel size is " +
                         (first.thickness > 0 ? "its SliceThickness, " : "not recorded; assumed ") +
                         format_decimal(thickness) + " mm");
  }
  // Gantry tilt: consecutive slices are offset within their plane, so the grid is sheared. A qform
  // (rotation and voxel sizes) cannot hold a shear; only the sform keeps the exact geometry.
  const double along = step[0] * normal[0] + step[1] * normal[1] + step[2] * normal[2];
  const double across =
      std::sqrt(std::max(0.0, step[0] * step[0] + step[1] * step[1] + step[2] * step[2] - along * along));
  const double tilt_degrees = std::atan2(across, along) * 180.0 / M_PI;
  std::set<std::string> modalities;
  for (const auto& s : slices) modalities.insert(s.modality);
  if (modalities.size() > 1)
    throw Error(folder + " mixes modalities (" + *modalities.begin() + ", " + *std::next(modalities.begin()) +
                "); expected one series of one modality");

  v.source = folder;
  std::vector<at::Tensor> planes;
  planes.reserve(slices.size());
  for (const auto& s : slices) planes.push_back(s.pixels);
  v.data = at::stack(planes, 2).contiguous();  // (columns, rows, slices)

  // LPS affine: i (column index) moves along the row cosines by the column spacing (PixelSpacing[1]),
  // j (row index) along the column cosines by the row spacing (PixelSpacing[0]).
  at::Tensor affine = at::eye(4, at::kDouble);
  const Slice& origin = slices.front();
  for (int r = 0; r < 3; ++r) {
    affine[r][0] = o[r] * first.pixel_spacing[1];
    affine[r][1] = o[3 + r] * first.pixel_spacing[0];
    affine[r][2] = step[r];
    affine[r][3] = origin.position[r];
  }
  affine.slice(0, 0, 2).neg_();  // LPS -> RAS
  v.affine = affine;
  v.spacing = spacing_of(affine);
  v.geometry = NiftiGeometry::from_affine(affine);
  v.modality = first.modality;
  if (tilt_degrees > 0.05) {
    v.geometry.qform_code = 0;
    v.warnings.push_back(folder + ": the slices are tilted by " + format_decimal(tilt_degrees) +
                         " degrees against their normal (gantry tilt); the volume keeps the series' own sheared "
                         "grid, and outputs carry it in the sform only (a qform cannot hold a shear)");
  }
  return v;
}

}  // namespace swinsmt::io
