// RT-STRUCT through DCMTK's dcmrt (DRTStructureSetIOD): ROIs from a label map, contours traced along
// voxel edges (io/mask_contours.hpp).
#include <swinsmt/io/rtstruct_writer.hpp>

#include "io/dicom_output.hpp"
#include "io/mask_contours.hpp"

#include <swinsmt/error.hpp>

#include <ATen/ATen.h>
#include <dcmtk/config/osconfig.h>  // first of DCMTK's headers
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcuid.h>
#include <dcmtk/dcmrt/drtstrct.h>

#include <ctime>

namespace swinsmt::io {
namespace {

using detail::check;

std::string text(DcmItem& item, const DcmTagKey& key) { return detail::text_value(item, key); }

template <typename Sequence>
typename Sequence::Item& add_item(Sequence& sequence, const std::string& path, const std::string& what) {
  typename Sequence::Item* item = nullptr;
  check(sequence.addItem(item), path, what);
  return *item;
}

}  // namespace

std::vector<std::string> write_rtstruct(const std::string& path, const DicomSource& source, const at::Tensor& labels,
                                        const std::map<int, std::string>& structures, const DicomOutputInfo& info) {
  return write_rtstruct(path, source, labels, segment_descriptions(structures), info);
}

std::vector<std::string> write_rtstruct(const std::string& path, const DicomSource& source, const at::Tensor& labels,
                                        const std::map<int, SegmentDescription>& descriptions,
                                        const DicomOutputInfo& info) {
  detail::check_labels_on_source(path, source, labels);
  std::map<int, std::string> structures;
  for (const auto& [id, d] : descriptions) structures.emplace(id, d.name);
  const at::Tensor planes = labels.permute({2, 1, 0}).contiguous();  // (slice, row, column)
  auto [present, note] = detail::present_structures(path, planes, structures, "RT-STRUCT");
  std::vector<std::string> notes;
  if (!note.empty()) notes.push_back(note);

  // Patient and study of the source.
  DcmFileFormat first;
  const std::string& first_file = source.slices.front().file;
  check(first.loadFile(first_file.c_str()), path, "to read " + first_file);
  DcmDataset& from = *first.getDataset();
  DRTStructureSetIOD rt;
  check(rt.setSpecificCharacterSet(text(from, DCM_SpecificCharacterSet).c_str()), path, "the character set");
  check(rt.setPatientName(text(from, DCM_PatientName).c_str()), path, "the Patient's Name");
  check(rt.setPatientID(text(from, DCM_PatientID).c_str()), path, "the Patient ID");
  check(rt.setPatientBirthDate(text(from, DCM_PatientBirthDate).c_str()), path, "the Patient's Birth Date");
  check(rt.setPatientSex(text(from, DCM_PatientSex).c_str()), path, "the Patient's Sex");
  check(rt.setStudyInstanceUID(source.study_uid.c_str()), path, "the Study Instance UID");
  check(rt.setStudyDate(text(from, DCM_StudyDate).c_str()), path, "the Study Date");
  check(rt.setStudyTime(text(from, DCM_StudyTime).c_str()), path, "the Study Time");
  check(rt.setReferringPhysicianName(text(from, DCM_ReferringPhysicianName).c_str()), path, "the Referring Physician");
  check(rt.setStudyID(text(from, DCM_StudyID).c_str()), path, "the Study ID");
  check(rt.setAccessionNumber(text(from, DCM_AccessionNumber).c_str()), path, "the Accession Number");
  check(rt.setStudyDescription(text(from, DCM_StudyDescription).c_str()), path, "the Study Description");
  // This object's series and instance.
  check(rt.setModality("RTSTRUCT"), path, "the Modality");
  check(rt.setFrameOfReferenceUID(source.frame_of_reference_uid.c_str()), path, "the Frame of Reference UID");
  check(rt.setPositionReferenceIndicator(text(from, DCM_PositionReferenceIndicator).c_str()), path,
        "the Position Reference Indicator");
  check(rt.setSeriesInstanceUID(detail::new_uid(SITE_SERIES_UID_ROOT).c_str()), path, "the Series Instance UID");
  check(rt.setSeriesNumber("902"), path, "the Series Number");
  check(rt.setSeriesDescription(detail::series_description(info).c_str()), path, "the Series Description");
  check(rt.setSOPInstanceUID(detail::new_uid(SITE_INSTANCE_UID_ROOT).c_str()), path, "the SOP Instance UID");
  check(rt.setInstanceNumber("1"), path, "the Instance Number");
  check(rt.setManufacturer(info.algorithm_name.c_str()), path, "the Manufacturer");
  check(rt.setManufacturerModelName(info.algorithm_name.c_str()), path, "the Manufacturer's Model Name");
  check(rt.setSoftwareVersions(info.algorithm_version.c_str()), path, "the Software Versions");
  check(rt.setStructureSetLabel("SWINSMT"), path, "the Structure Set Label");
  check(rt.setStructureSetDescription(info.checkpoint_sha256.c_str()), path, "the Structure Set Description");
  char date[16], time_of_day[16];
  const std::time_t now = std::time(nullptr);
  std::tm local{};
  localtime_r(&now, &local);
  std::strftime(date, sizeof date, "%Y%m%d", &local);
  std::strftime(time_of_day, sizeof time_of_day, "%H%M%S", &local);
  check(rt.setStructureSetDate(date), path, "the Structure Set Date");
  check(rt.setStructureSetTime(time_of_day), path, "the Structure Set Time");

  // The frame of reference > study > series > every slice.
  auto& frame = add_item(rt.getReferencedFrameOfReferenceSequence(), path, "the referenced frame of reference");
  check(frame.setFrameOfReferenceUID(source.frame_of_reference_uid.c_str()), path, "the Frame of Reference UID");
  auto& study = add_item(frame.getRTReferencedStudySequence(), path, "the referenced study");
  check(study.setReferencedSOPClassUID(UID_RETIRED_DetachedStudyManagementSOPClass), path, "the study reference");
  check(study.setReferencedSOPInstanceUID(source.study_uid.c_str()), path, "the study reference");
  auto& series = add_item(study.getRTReferencedSeriesSequence(), path, "the referenced series");
  check(series.setSeriesInstanceUID(source.series_uid.c_str()), path, "the series reference");
  for (const auto& s : source.slices) {
    auto& image = add_item(series.getContourImageSequence(), path, "the reference to " + s.file);
    check(image.setReferencedSOPClassUID(s.sop_class_uid.c_str()), path, "the reference to " + s.file);
    check(image.setReferencedSOPInstanceUID(s.sop_instance_uid.c_str()), path, "the reference to " + s.file);
  }

  const auto& o = source.orientation;
  const double dx = source.pixel_spacing[1], dy = source.pixel_spacing[0];
  int number = 0;
  for (const auto& [id, name] : present) {
    ++number;
    const std::string roi_number = std::to_string(number);
    const auto& rgb = descriptions.at(id).rgb;
    auto& roi = add_item(rt.getStructureSetROISequence(), path, "the ROI " + name);
    check(roi.setROINumber(roi_number.c_str()), path, "the ROI Number of " + name);
    check(roi.setReferencedFrameOfReferenceUID(source.frame_of_reference_uid.c_str()), path,
          "the frame of reference of " + name);
    check(roi.setROIName(name.c_str()), path, "the ROI Name " + name);
    check(roi.setROIGenerationAlgorithm("AUTOMATIC"), path, "the ROI Generation Algorithm of " + name);
    auto& observation = add_item(rt.getRTROIObservationsSequence(), path, "the observation of " + name);
    check(observation.setObservationNumber(roi_number.c_str()), path, "the Observation Number of " + name);
    check(observation.setReferencedROINumber(roi_number.c_str()), path, "the ROI of the observation of " + name);
    check(observation.setRTROIInterpretedType("ORGAN"), path, "the RT ROI Interpreted Type of " + name);
    check(observation.setROIInterpreter(""), path, "the ROI Interpreter of " + name);

    auto& contours = add_item(rt.getROIContourSequence(), path, "the contours of " + name);
    check(contours.setReferencedROINumber(roi_number.c_str()), path, "the ROI of the contours of " + name);
    check(contours.setROIDisplayColor(
              (std::to_string(rgb[0]) + "\\" + std::to_string(rgb[1]) + "\\" + std::to_string(rgb[2])).c_str()),
          path, "the ROI Display Color of " + name);
    const at::Tensor mask = planes.eq(id).to(at::kByte).contiguous();
    const at::Tensor any = mask.flatten(1).amax(1);
    int contour_number = 0;
    for (int64_t k = 0; k < mask.size(0); ++k) {
      if (any[k].item<uint8_t>() == 0) continue;
      const DicomSourceSlice& s = source.slices[static_cast<size_t>(k)];
      const auto outlines = detail::trace_outlines(mask.data_ptr<uint8_t>() + k * source.rows * source.columns,
                                                   source.rows, source.columns);
      for (const auto& outline : outlines) {
        auto& contour = add_item(contours.getContourSequence(), path, "a contour of " + name);
        auto& image = add_item(contour.getContourImageSequence(), path, "the image of a contour of " + name);
        check(image.setReferencedSOPClassUID(s.sop_class_uid.c_str()), path, "the image of a contour of " + name);
        check(image.setReferencedSOPInstanceUID(s.sop_instance_uid.c_str()), path, "the image of a contour of " + name);
        check(contour.setContourNumber(std::to_string(++contour_number).c_str()), path, "the Contour Number");
        check(contour.setContourGeometricType("CLOSED_PLANAR"), path, "the Contour Geometric Type");
        check(contour.setNumberOfContourPoints(std::to_string(outline.size()).c_str()), path,
              "the Number of Contour Points");
        // Corner (x, y) lies half a pixel before the centre of pixel (row y, column x).
        std::string data;
        data.reserve(outline.size() * 3 * 14);
        for (const auto& [x, y] : outline) {
          const double u = (x - 0.5) * dx, v = (y - 0.5) * dy;
          for (int i = 0; i < 3; ++i) {
            if (!data.empty()) data += '\\';
            data += detail::decimal_string(s.position[static_cast<size_t>(i)] + u * o[static_cast<size_t>(i)] +
                                           v * o[static_cast<size_t>(3 + i)]);
          }
        }
        check(contour.setContourData(data.c_str(), OFFalse), path, "the Contour Data of " + name);
      }
    }
  }

  DcmFileFormat file;
  check(rt.write(*file.getDataset()), path, "the RT-STRUCT data set");
  detail::save_dicom_atomically(file, path);
  return notes;
}

}  // namespace swinsmt::io
