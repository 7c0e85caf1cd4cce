#include "dicom_seg_support.hpp"

#include <ATen/ATen.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcitem.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <sstream>

namespace swinsmt::test {
namespace {

namespace fs = std::filesystem;

std::string text(DcmItem& item, const DcmTagKey& key) {
  OFString value;
  item.findAndGetOFStringArray(key, value);
  return value.c_str();
}

DcmItem* item_of(DcmItem& parent, const DcmTagKey& sequence, unsigned long index = 0) {
  DcmItem* item = nullptr;
  if (parent.findAndGetSequenceItem(sequence, item, static_cast<signed long>(index)).bad()) return nullptr;
  return item;
}

}  // namespace

std::vector<double> numbers_of(DcmItem& item, const DcmTagKey& key) {
  std::vector<double> out;
  Float64 v = 0;
  for (unsigned long i = 0; item.findAndGetFloat64(key, v, i).good(); ++i) out.push_back(v);
  return out;
}

std::string decimal_strings(const std::vector<double>& values) {
  std::string out;
  char buffer[32];
  for (double v : values) {
    std::snprintf(buffer, sizeof buffer, "%.10g", v);
    out += (out.empty() ? "" : "\\") + std::string(buffer);
  }
  return out;
}

DecodedSeg decode_seg(const std::string& path) {
  DecodedSeg seg;
  DcmFileFormat file;
  if (file.loadFile(path.c_str()).bad()) {
    ADD_FAILURE() << "DCMTK cannot read " << path;
    return seg;
  }
  DcmDataset& ds = *file.getDataset();
  seg.sop_class = text(ds, DCM_SOPClassUID);
  seg.study_uid = text(ds, DCM_StudyInstanceUID);
  seg.series_uid = text(ds, DCM_SeriesInstanceUID);
  seg.sop_instance_uid = text(ds, DCM_SOPInstanceUID);
  seg.frame_of_reference_uid = text(ds, DCM_FrameOfReferenceUID);
  seg.patient_id = text(ds, DCM_PatientID);
  seg.series_description = text(ds, DCM_SeriesDescription);
  seg.content_label = text(ds, DCM_ContentLabel);
  seg.content_description = text(ds, DCM_ContentDescription);
  seg.station_name = text(ds, DCM_StationName);
  Uint16 rows = 0, columns = 0;
  ds.findAndGetUint16(DCM_Rows, rows);
  ds.findAndGetUint16(DCM_Columns, columns);
  seg.rows = rows;
  seg.columns = columns;
  EXPECT_EQ(text(ds, DCM_SegmentationType), "BINARY");
  if (DcmItem* shared = item_of(ds, DCM_SharedFunctionalGroupsSequence)) {
    if (DcmItem* po = item_of(*shared, DCM_PlaneOrientationSequence)) {
      const auto v = numbers_of(*po, DCM_ImageOrientationPatient);
      EXPECT_EQ(v.size(), 6u);
      std::copy_n(v.begin(), std::min<size_t>(6, v.size()), seg.orientation.begin());
    }
    if (DcmItem* pm = item_of(*shared, DCM_PixelMeasuresSequence)) {
      const auto v = numbers_of(*pm, DCM_PixelSpacing);
      EXPECT_EQ(v.size(), 2u);
      std::copy_n(v.begin(), std::min<size_t>(2, v.size()), seg.pixel_spacing.begin());
    }
  }
  for (unsigned long i = 0; DcmItem* s = item_of(ds, DCM_SegmentSequence, i); ++i) {
    SegSegment segment;
    Uint16 number = 0;
    s->findAndGetUint16(DCM_SegmentNumber, number);
    segment.number = number;
    segment.label = text(*s, DCM_SegmentLabel);
    segment.algorithm_type = text(*s, DCM_SegmentAlgorithmType);
    if (DcmItem* c = item_of(*s, DCM_SegmentedPropertyCategoryCodeSequence)) {
      segment.category_code = text(*c, DCM_CodeValue);
      segment.category_scheme = text(*c, DCM_CodingSchemeDesignator);
      segment.category_meaning = text(*c, DCM_CodeMeaning);
    }
    if (DcmItem* t = item_of(*s, DCM_SegmentedPropertyTypeCodeSequence)) {
      segment.type_code = text(*t, DCM_CodeValue);
      segment.type_scheme = text(*t, DCM_CodingSchemeDesignator);
      segment.type_meaning = text(*t, DCM_CodeMeaning);
      if (DcmItem* m = item_of(*t, DCM_SegmentedPropertyTypeModifierCodeSequence)) {
        segment.modifier_code = text(*m, DCM_CodeValue);
        segment.modifier_meaning = text(*m, DCM_CodeMeaning);
      }
    }
    if (DcmItem* r = item_of(*s, DCM_AnatomicRegionSequence)) {
      segment.region_code = text(*r, DCM_CodeValue);
      segment.region_meaning = text(*r, DCM_CodeMeaning);
      if (DcmItem* m = item_of(*r, DCM_AnatomicRegionModifierSequence))
        segment.region_modifier_code = text(*m, DCM_CodeValue);
    }
    Uint16 lab = 0;
    for (unsigned long k = 0; s->findAndGetUint16(DCM_RecommendedDisplayCIELabValue, lab, k).good(); ++k)
      segment.lab.push_back(lab);
    seg.segments.push_back(segment);
  }
  if (DcmItem* series = item_of(ds, DCM_ReferencedSeriesSequence))
    for (unsigned long i = 0; DcmItem* r = item_of(*series, DCM_ReferencedInstanceSequence, i); ++i)
      seg.referenced_instances.push_back(text(*r, DCM_ReferencedSOPInstanceUID));

  Sint32 frames = 0;
  ds.findAndGetSint32(DCM_NumberOfFrames, frames);
  const Uint8* bits = nullptr;
  unsigned long bytes = 0;
  ds.findAndGetUint8Array(DCM_PixelData, bits, &bytes);
  const size_t frame_pixels = static_cast<size_t>(rows) * columns;
  EXPECT_GE(bytes * 8, frame_pixels * static_cast<size_t>(frames)) << path;
  for (Sint32 f = 0; f < frames; ++f) {
    SegFrame frame;
    DcmItem* group = item_of(ds, DCM_PerFrameFunctionalGroupsSequence, static_cast<unsigned long>(f));
    if (!group) {
      ADD_FAILURE() << path << ": no per-frame group " << f;
      break;
    }
    if (DcmItem* id = item_of(*group, DCM_SegmentIdentificationSequence)) {
      Uint16 number = 0;
      id->findAndGetUint16(DCM_ReferencedSegmentNumber, number);
      frame.segment = number;
    }
    if (DcmItem* pp = item_of(*group, DCM_PlanePositionSequence)) {
      const auto v = numbers_of(*pp, DCM_ImagePositionPatient);
      EXPECT_EQ(v.size(), 3u);
      std::copy_n(v.begin(), std::min<size_t>(3, v.size()), frame.position.begin());
    }
    if (DcmItem* d = item_of(*group, DCM_DerivationImageSequence))
      if (DcmItem* src = item_of(*d, DCM_SourceImageSequence))
        frame.source_sop_instance = text(*src, DCM_ReferencedSOPInstanceUID);
    frame.mask.resize(frame_pixels);
    // Binary frames are packed one bit per pixel, least significant bit first, frame after frame.
    for (size_t p = 0; p < frame_pixels && bits; ++p) {
      const size_t bit = static_cast<size_t>(f) * frame_pixels + p;
      frame.mask[p] = (bits[bit / 8] >> (bit % 8)) & 1;
    }
    seg.frames.push_back(std::move(frame));
  }
  return seg;
}

at::Tensor seg_mask_on_source(const DecodedSeg& seg, int number, const io::DicomSource& source) {
  const int64_t n = static_cast<int64_t>(source.slices.size());
  at::Tensor mask = at::zeros({n, seg.rows, seg.columns}, at::kByte);  // (slice, row, column)
  for (const auto& frame : seg.frames) {
    if (frame.segment != number) continue;
    int64_t k = -1;
    for (int64_t i = 0; i < n; ++i) {
      const auto& p = source.slices[static_cast<size_t>(i)].position;
      if (std::abs(p[0] - frame.position[0]) < 1e-6 && std::abs(p[1] - frame.position[1]) < 1e-6 &&
          std::abs(p[2] - frame.position[2]) < 1e-6)
        k = i;
    }
    if (k < 0) {
      ADD_FAILURE() << "a frame of segment " << number << " lies at " << frame.position[0] << ", " << frame.position[1]
                    << ", " << frame.position[2] << ", on no source slice";
      continue;
    }
    EXPECT_EQ(frame.source_sop_instance, source.slices[static_cast<size_t>(k)].sop_instance_uid);
    mask[k].copy_(at::from_blob(const_cast<uint8_t*>(frame.mask.data()), {seg.rows, seg.columns}, at::kByte));
  }
  return mask.permute({2, 1, 0}).contiguous();  // (column, row, slice)
}

void copy_series(const std::string& from, const std::string& to, const std::function<void(size_t, DcmDataset&)>& edit) {
  fs::create_directories(to);
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(from)) files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  for (size_t i = 0; i < files.size(); ++i) {
    DcmFileFormat file;
    ASSERT_TRUE(file.loadFile(files[i].c_str()).good()) << files[i];
    file.loadAllDataIntoMemory();
    edit(i, *file.getDataset());
    const std::string out = (fs::path(to) / files[i].filename()).string();
    // The file meta header as it was (an emptied SOP Instance UID stays in the meta header).
    ASSERT_TRUE(file.saveFile(out.c_str(), EXS_Unknown, EET_UndefinedLength, EGL_recalcGL, EPD_noChange, 0, 0,
                              EWM_dontUpdateMeta)
                    .good())
        << out;
  }
}

std::array<double, 3> pixel_position(const std::array<double, 3>& position, const std::array<double, 6>& orientation,
                                     const std::array<double, 2>& spacing, int64_t column, int64_t row) {
  std::array<double, 3> p{};
  for (int i = 0; i < 3; ++i)
    p[i] = position[i] + static_cast<double>(column) * spacing[1] * orientation[i] +
           static_cast<double>(row) * spacing[0] * orientation[3 + i];
  return p;
}

std::vector<SeriesVariant> geometry_variants(const io::DicomSource& original) {
  const double columns = static_cast<double>(original.columns - 1), rows = static_cast<double>(original.rows - 1);
  const double dx = original.pixel_spacing[1], dy = original.pixel_spacing[0];
  const double z0 = original.slices.front().position[2];
  const auto shifted = [](DcmDataset& ds, int axis, double by, const char* orientation) {
    auto p = numbers_of(ds, DCM_ImagePositionPatient);
    p[static_cast<size_t>(axis)] += by;
    ds.putAndInsertString(DCM_ImagePositionPatient, decimal_strings(p).c_str());
    if (orientation) ds.putAndInsertString(DCM_ImageOrientationPatient, orientation);
  };
  return {
      {"feet_first", [=](size_t, DcmDataset& ds) { shifted(ds, 0, columns * dx, "-1\\0\\0\\0\\1\\0"); }},
      {"flipped_rows", [=](size_t, DcmDataset& ds) { shifted(ds, 1, rows * dy, "1\\0\\0\\0\\-1\\0"); }},
      {"tilted",
       [=](size_t, DcmDataset& ds) {
         const double z = numbers_of(ds, DCM_ImagePositionPatient)[2];
         shifted(ds, 1, (z - z0) * std::tan(15.0 * M_PI / 180.0), nullptr);
       }},
  };
}

int structure_blocks(const std::array<double, 3>& p) {
  static const int ids[] = {2, 3, 10, 12, 1, 0};
  const int x = static_cast<int>(std::floor((p[0] + 250.37) / 100));
  const int y = static_cast<int>(std::floor((p[1] + 440.37) / 100));
  const int z = static_cast<int>(std::floor((p[2] + 767.37) / 10));
  return ids[((x + 2 * y + z) % 6 + 6) % 6];
}

io::DicomOutputInfo test_output_info(char digit) {
  io::DicomOutputInfo info;
  info.algorithm_version = "0.1.0";
  info.checkpoint_name = "model.pth";
  info.checkpoint_sha256 = std::string(64, digit);
  return info;
}

std::string dciodvfy_errors(const std::string& output) {
  std::istringstream lines(output);
  std::string line, errors;
  while (std::getline(lines, line))
    if (line.rfind("Error", 0) == 0) errors += line + "\n";
  return errors;
}

at::Tensor labels_from_positions(const io::DicomSource& source,
                                 const std::function<int(const std::array<double, 3>&)>& f) {
  const int64_t n = static_cast<int64_t>(source.slices.size());
  at::Tensor labels = at::zeros({source.columns, source.rows, n}, at::kByte);
  auto a = labels.accessor<uint8_t, 3>();
  for (int64_t k = 0; k < n; ++k)
    for (int64_t r = 0; r < source.rows; ++r)
      for (int64_t c = 0; c < source.columns; ++c)
        a[c][r][k] = static_cast<uint8_t>(f(pixel_position(source.slices[static_cast<size_t>(k)].position,
                                                           source.orientation, source.pixel_spacing, c, r)));
  return labels;
}

}  // namespace swinsmt::test

namespace swinsmt::test {

DecodedRtStruct decode_rtstruct(const std::string& path) {
  DecodedRtStruct rt;
  DcmFileFormat file;
  if (file.loadFile(path.c_str()).bad()) {
    ADD_FAILURE() << "DCMTK cannot read " << path;
    return rt;
  }
  DcmDataset& ds = *file.getDataset();
  rt.sop_class = text(ds, DCM_SOPClassUID);
  rt.modality = text(ds, DCM_Modality);
  rt.study_uid = text(ds, DCM_StudyInstanceUID);
  rt.series_uid = text(ds, DCM_SeriesInstanceUID);
  rt.structure_set_label = text(ds, DCM_StructureSetLabel);
  if (DcmItem* frame = item_of(ds, DCM_ReferencedFrameOfReferenceSequence)) {
    rt.frame_of_reference_uid = text(*frame, DCM_FrameOfReferenceUID);
    if (DcmItem* study = item_of(*frame, DCM_RTReferencedStudySequence))
      if (DcmItem* series = item_of(*study, DCM_RTReferencedSeriesSequence)) {
        rt.referenced_series = text(*series, DCM_SeriesInstanceUID);
        for (unsigned long i = 0; DcmItem* image = item_of(*series, DCM_ContourImageSequence, i); ++i)
          rt.referenced_images.push_back(text(*image, DCM_ReferencedSOPInstanceUID));
      }
  }
  std::map<std::string, RtRoi> by_number;
  for (unsigned long i = 0; DcmItem* r = item_of(ds, DCM_StructureSetROISequence, i); ++i) {
    RtRoi roi;
    roi.number = std::stoi(text(*r, DCM_ROINumber));
    roi.name = text(*r, DCM_ROIName);
    roi.generation_algorithm = text(*r, DCM_ROIGenerationAlgorithm);
    rt.rois.push_back(roi);
  }
  for (auto& roi : rt.rois) {
    for (unsigned long i = 0; DcmItem* o = item_of(ds, DCM_RTROIObservationsSequence, i); ++i)
      if (text(*o, DCM_ReferencedROINumber) == std::to_string(roi.number))
        roi.interpreted_type = text(*o, DCM_RTROIInterpretedType);
    for (unsigned long i = 0; DcmItem* c = item_of(ds, DCM_ROIContourSequence, i); ++i) {
      if (text(*c, DCM_ReferencedROINumber) != std::to_string(roi.number)) continue;
      roi.colour = text(*c, DCM_ROIDisplayColor);
      for (unsigned long j = 0; DcmItem* contour = item_of(*c, DCM_ContourSequence, j); ++j) {
        RtContour out;
        out.geometric_type = text(*contour, DCM_ContourGeometricType);
        if (DcmItem* image = item_of(*contour, DCM_ContourImageSequence))
          out.image_sop_instance = text(*image, DCM_ReferencedSOPInstanceUID);
        const auto values = numbers_of(*contour, DCM_ContourData);
        EXPECT_EQ(values.size() % 3, 0u);
        for (size_t k = 0; k + 2 < values.size(); k += 3)
          out.points.push_back({values[k], values[k + 1], values[k + 2]});
        EXPECT_EQ(text(*contour, DCM_NumberOfContourPoints), std::to_string(out.points.size()));
        roi.contours.push_back(std::move(out));
      }
    }
  }
  return rt;
}

at::Tensor rasterise_roi(const RtRoi& roi, const io::DicomSource& source, double plane_tolerance) {
  const int64_t n = static_cast<int64_t>(source.slices.size());
  at::Tensor mask = at::zeros({n, source.rows, source.columns}, at::kByte);  // (slice, row, column)
  auto m = mask.accessor<uint8_t, 3>();
  const auto& o = source.orientation;
  const std::array<double, 3> normal{o[1] * o[5] - o[2] * o[4], o[2] * o[3] - o[0] * o[5], o[0] * o[4] - o[1] * o[3]};
  for (const auto& contour : roi.contours) {
    EXPECT_EQ(contour.geometric_type, "CLOSED_PLANAR");
    int64_t k = -1;
    for (int64_t i = 0; i < n; ++i)
      if (source.slices[static_cast<size_t>(i)].sop_instance_uid == contour.image_sop_instance) k = i;
    if (k < 0) {
      ADD_FAILURE() << roi.name << ": a contour references " << contour.image_sop_instance << ", no source slice";
      continue;
    }
    const auto& ipp = source.slices[static_cast<size_t>(k)].position;
    // Pixel coordinates (u along the rows, v down the columns) of each point.
    std::vector<std::pair<double, double>> polygon;
    for (const auto& p : contour.points) {
      const std::array<double, 3> d{p[0] - ipp[0], p[1] - ipp[1], p[2] - ipp[2]};
      const double off_plane = d[0] * normal[0] + d[1] * normal[1] + d[2] * normal[2];
      EXPECT_LE(std::abs(off_plane), plane_tolerance) << roi.name << " slice " << k;
      polygon.emplace_back((d[0] * o[0] + d[1] * o[1] + d[2] * o[2]) / source.pixel_spacing[1],
                           (d[0] * o[3] + d[1] * o[4] + d[2] * o[5]) / source.pixel_spacing[0]);
    }
    // Even-odd fill at pixel centres: each edge crossing row v toggles the pixels right of it.
    for (int64_t v = 0; v < source.rows; ++v) {
      std::vector<uint8_t> toggles(static_cast<size_t>(source.columns) + 1, 0);
      bool any = false;
      for (size_t i = 0; i < polygon.size(); ++i) {
        const auto& [x1, y1] = polygon[i];
        const auto& [x2, y2] = polygon[(i + 1) % polygon.size()];
        const double y = static_cast<double>(v);
        if ((y1 <= y) == (y2 <= y)) continue;
        const double x = x1 + (y - y1) * (x2 - x1) / (y2 - y1);
        const int64_t first = std::max<int64_t>(0, static_cast<int64_t>(std::ceil(x)));
        if (first < source.columns) toggles[static_cast<size_t>(first)] ^= 1;
        any = true;
      }
      if (!any) continue;
      uint8_t inside = 0;
      for (int64_t c = 0; c < source.columns; ++c) {
        inside ^= toggles[static_cast<size_t>(c)];
        m[k][v][c] ^= inside;
      }
    }
  }
  return mask.permute({2, 1, 0}).contiguous();
}

}  // namespace swinsmt::test
