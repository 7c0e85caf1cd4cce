// The source series of a DICOM output, read through DCMTK (headers only: large elements such as the
// pixel data are left on disk).
#include <swinsmt/io/dicom_source.hpp>

#include "io/dicom_output.hpp"

#include <swinsmt/error.hpp>
#include <swinsmt/io/dicom.hpp>

#include <dcmtk/config/osconfig.h>  // first of DCMTK's headers
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcmetinf.h>

#include <algorithm>
#include <filesystem>

namespace swinsmt::io {
namespace {

namespace fs = std::filesystem;

std::string text(DcmItem& item, const DcmTagKey& key) { return detail::text_value(item, key); }

template <size_t N>
std::array<double, N> numbers(DcmItem& item, const DcmTagKey& key, const std::string& what, const std::string& file) {
  std::array<double, N> out{};
  for (size_t i = 0; i < N; ++i) {
    Float64 v = 0;
    if (item.findAndGetFloat64(key, v, static_cast<unsigned long>(i)).bad())
      throw Error(file + ": " + what + " must hold " + std::to_string(N) + " numbers");
    out[i] = v;
  }
  return out;
}

/// `value` of `what` in `file`, which must be the same in every slice; throws when empty or different.
void same_in_every_slice(std::string& kept, const std::string& value, const std::string& what, const std::string& file,
                         const std::string& first_file) {
  if (value.empty())
    throw Error(file + " has no " + what +
                "; a DICOM SEG or RT-STRUCT must reference the study, series and frame of reference of its source, "
                "so this series cannot get DICOM outputs");
  if (kept.empty()) kept = value;
  if (kept != value)
    throw Error(file + " has " + what + " " + value + " but " + first_file + " has " + kept +
                "; expected one value per series");
}

}  // namespace

DicomSource read_dicom_source(const std::string& folder) {
  std::error_code ec;
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(folder, ec))
    if (entry.is_regular_file(ec)) files.push_back(entry.path());
  if (ec) throw Error(folder + ": cannot list the folder (" + ec.message() + ")");
  std::sort(files.begin(), files.end());  // the order read_dicom_series starts from

  DicomSource source;
  source.folder = folder;
  std::vector<std::string> from_meta;
  std::string first_file;
  for (const auto& path : files) {
    if (!is_dicom_file(path.string())) continue;
    const std::string file = path.string();
    DcmFileFormat format;
    // Elements over 4 KiB (the pixel data) stay on disk.
    if (const OFCondition status = format.loadFile(file.c_str()); status.bad())
      throw Error(file + ": DCMTK cannot read this DICOM file (" + status.text() + ")");
    DcmDataset& data = *format.getDataset();
    if (!data.tagExists(DCM_PixelData)) continue;
    if (first_file.empty()) first_file = file;
    DicomSourceSlice slice;
    slice.file = file;
    slice.sop_class_uid = text(data, DCM_SOPClassUID);
    slice.sop_instance_uid = text(data, DCM_SOPInstanceUID);
    if (slice.sop_instance_uid.empty()) {
      slice.sop_instance_uid = text(*format.getMetaInfo(), DCM_MediaStorageSOPInstanceUID);
      if (slice.sop_instance_uid.empty())
        throw Error(file +
                    " has no SOP Instance UID (0008,0018), nor a Media Storage SOP Instance UID (0002,0003) "
                    "in its file meta header; a DICOM output must reference every source image");
      from_meta.push_back(path.filename().string());
    }
    if (slice.sop_class_uid.empty()) slice.sop_class_uid = text(*format.getMetaInfo(), DCM_MediaStorageSOPClassUID);
    if (slice.sop_class_uid.empty())
      throw Error(file + " has no SOP Class UID (0008,0016); a DICOM output must reference every source image");
    same_in_every_slice(source.study_uid, text(data, DCM_StudyInstanceUID), "Study Instance UID (0020,000D)", file,
                        first_file);
    same_in_every_slice(source.series_uid, text(data, DCM_SeriesInstanceUID), "Series Instance UID (0020,000E)", file,
                        first_file);
    same_in_every_slice(source.frame_of_reference_uid, text(data, DCM_FrameOfReferenceUID),
                        "Frame of Reference UID (0020,0052)", file, first_file);
    slice.position = numbers<3>(data, DCM_ImagePositionPatient, "ImagePositionPatient (0020,0032)", file);
    if (source.slices.empty()) {
      source.orientation = numbers<6>(data, DCM_ImageOrientationPatient, "ImageOrientationPatient (0020,0037)", file);
      source.pixel_spacing = numbers<2>(data, DCM_PixelSpacing, "PixelSpacing (0028,0030)", file);
      Float64 thickness = 0;
      if (data.findAndGetFloat64(DCM_SliceThickness, thickness).good()) source.slice_thickness = thickness;
      Uint16 rows = 0, columns = 0;
      if (data.findAndGetUint16(DCM_Rows, rows).bad() || data.findAndGetUint16(DCM_Columns, columns).bad())
        throw Error(file + ": Rows (0028,0010) and Columns (0028,0011) must be present");
      source.rows = rows;
      source.columns = columns;
    }
    source.slices.push_back(std::move(slice));
  }
  if (source.slices.empty()) throw Error(folder + " holds no DICOM image; expected the files of one DICOM series");
  if (!from_meta.empty())
    source.notes.push_back(folder + ": " + std::to_string(from_meta.size()) + " of " +
                           std::to_string(source.slices.size()) + " slices (" + from_meta.front() +
                           (from_meta.size() > 1 ? ", ..." : "") +
                           ") have an empty SOP Instance UID (0008,0018); DICOM outputs reference them by the Media "
                           "Storage SOP Instance UID (0002,0003) of their file meta header");

  // The slice order of read_dicom_series: a stable sort along the normal of the first slice.
  const auto& o = source.orientation;
  const std::array<double, 3> normal{o[1] * o[5] - o[2] * o[4], o[2] * o[3] - o[0] * o[5], o[0] * o[4] - o[1] * o[3]};
  const auto along = [&](const DicomSourceSlice& s) {
    return s.position[0] * normal[0] + s.position[1] * normal[1] + s.position[2] * normal[2];
  };
  std::stable_sort(source.slices.begin(), source.slices.end(),
                   [&](const DicomSourceSlice& a, const DicomSourceSlice& b) { return along(a) < along(b); });
  return source;
}

}  // namespace swinsmt::io
