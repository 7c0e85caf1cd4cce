// DICOM SEG through DCMTK's dcmseg: DcmSegmentation with one DcmSegment per structure present and
// one frame per segment and source slice where it has voxels.
#include <swinsmt/io/dicom_seg_writer.hpp>

#include "io/dicom_output.hpp"

#include <swinsmt/error.hpp>

#include <ATen/ATen.h>
#include <dcmtk/config/osconfig.h>  // first of DCMTK's headers
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcuid.h>
#include <dcmtk/dcmfg/fgderimg.h>
#include <dcmtk/dcmfg/fgfracon.h>
#include <dcmtk/dcmfg/fgpixmsr.h>
#include <dcmtk/dcmfg/fgplanor.h>
#include <dcmtk/dcmfg/fgplanpo.h>
#include <dcmtk/dcmiod/cielabutil.h>
#include <dcmtk/dcmiod/iodreferences.h>
#include <dcmtk/dcmseg/segdoc.h>
#include <dcmtk/dcmseg/segment.h>
#include <dcmtk/oflog/oflog.h>

#include <cmath>
#include <filesystem>
#include <memory>

namespace swinsmt::io {
namespace {

using detail::check;

CodeSequenceMacro code_of(const CodedConcept& c) { return CodeSequenceMacro(c.value, c.scheme, c.meaning); }

/// The segment of `d`, owned by the caller until added to the segmentation.
std::unique_ptr<DcmSegment> make_segment(const SegmentDescription& d, const DicomOutputInfo& info,
                                         const std::string& path) {
  const std::string& name = d.name;
  DcmSegment* raw = nullptr;
  check(DcmSegment::create(raw, name, code_of(d.category), code_of(d.type), DcmSegTypes::SAT_AUTOMATIC,
                           info.algorithm_name),
        path, "the segment " + name);
  std::unique_ptr<DcmSegment> segment(raw);
  if (d.modifier)
    segment->getSegmentedPropertyTypeModifierCode().push_back(new CodeSequenceMacro(code_of(*d.modifier)));
  if (d.region) {
    GeneralAnatomyMacro& anatomy = segment->getGeneralAnatomyCode();
    anatomy.getAnatomicRegion() = code_of(*d.region);
    if (d.modifier) anatomy.getAnatomicRegionModifier().push_back(new CodeSequenceMacro(code_of(*d.modifier)));
  }
  double L = 0, a = 0, b = 0;
  IODCIELabUtil::rgb2DicomLab(L, a, b, d.rgb[0] / 255.0, d.rgb[1] / 255.0, d.rgb[2] / 255.0);
  check(segment->setRecommendedDisplayCIELabValue(static_cast<Uint16>(std::lround(L)),
                                                  static_cast<Uint16>(std::lround(a)),
                                                  static_cast<Uint16>(std::lround(b))),
        path, "the colour of " + name);
  return segment;
}

}  // namespace

std::vector<std::string> write_dicom_seg(const std::string& path, const DicomSource& source, const at::Tensor& labels,
                                         const std::map<int, std::string>& structures, const DicomOutputInfo& info) {
  return write_dicom_seg(path, source, labels, segment_descriptions(structures), info);
}

std::vector<std::string> write_dicom_seg(const std::string& path, const DicomSource& source, const at::Tensor& labels,
                                         const std::map<int, SegmentDescription>& descriptions,
                                         const DicomOutputInfo& info) {
  detail::check_labels_on_source(path, source, labels);
  std::map<int, std::string> structures;
  for (const auto& [id, d] : descriptions) structures.emplace(id, d.name);
  // (slices, rows, columns): each frame's bytes row by row, as DICOM stores them.
  const at::Tensor frames = labels.permute({2, 1, 0}).contiguous();
  auto [present, note] = detail::present_structures(path, frames, structures, "SEG");
  std::vector<std::string> notes;
  if (!note.empty()) notes.push_back(note);

  IODGeneralEquipmentModule::EquipmentInfo equipment;
  equipment.m_Manufacturer = info.algorithm_name.c_str();
  equipment.m_ManufacturerModelName = info.algorithm_name.c_str();
  equipment.m_DeviceSerialNumber = "1";
  equipment.m_SoftwareVersions = info.algorithm_version.c_str();
  const ContentIdentificationMacro content("1", "SWINSMT", info.checkpoint_sha256.c_str(), info.algorithm_name.c_str());
  DcmSegmentation* raw = nullptr;
  check(DcmSegmentation::createBinarySegmentation(raw, static_cast<Uint16>(source.rows),
                                                  static_cast<Uint16>(source.columns), equipment, content),
        path, "the segmentation");
  std::unique_ptr<DcmSegmentation> seg(raw);
  // Patient, Study and Frame of Reference of the source (read_dicom_source checked the UIDs).
  check(seg->importFromSourceImage(source.slices.front().file.c_str()), path,
        "the patient and study of " + source.slices.front().file);
  check(seg->getFrameOfReference().setFrameOfReferenceUID(source.frame_of_reference_uid.c_str()), path,
        "the Frame of Reference UID");
  check(seg->getSeries().setSeriesInstanceUID(detail::new_uid(SITE_SERIES_UID_ROOT).c_str()), path,
        "the Series Instance UID");
  check(seg->getSOPCommon().setSOPInstanceUID(detail::new_uid(SITE_INSTANCE_UID_ROOT).c_str()), path,
        "the SOP Instance UID");
  check(seg->getSeries().setSeriesDescription(detail::series_description(info).c_str()), path,
        "the Series Description");
  check(seg->getSegmentationSeriesModule().setSeriesNumber("901"), path, "the Series Number");

  // Shared by every frame: the source's pixel spacing, thickness and plane orientation.
  FGPixelMeasures measures;
  check(measures.setPixelSpacing(
            (detail::decimal_string(source.pixel_spacing[0]) + "\\" + detail::decimal_string(source.pixel_spacing[1]))
                .c_str()),
        path, "the Pixel Spacing");
  if (source.slice_thickness > 0)
    check(measures.setSliceThickness(detail::decimal_string(source.slice_thickness).c_str()), path,
          "the Slice Thickness");
  check(seg->addForAllFrames(measures), path, "the Pixel Measures");
  std::vector<std::string> o;
  for (double v : source.orientation) o.push_back(detail::decimal_string(v));
  std::unique_ptr<FGPlaneOrientationPatient> orientation(FGPlaneOrientationPatient::createMinimal(
      o[0].c_str(), o[1].c_str(), o[2].c_str(), o[3].c_str(), o[4].c_str(), o[5].c_str()));
  if (!orientation) throw Error(path + ": DCMTK refused the plane orientation " + detail::orientation_string(source));
  check(seg->addForAllFrames(*orientation), path, "the Plane Orientation");

  // Frames are indexed by segment, then by position in the series.
  const std::string dimension_uid = detail::new_uid(SITE_INSTANCE_UID_ROOT);
  IODMultiframeDimensionModule& dimensions = seg->getDimensions();
  check(dimensions.addDimensionIndex(DCM_ReferencedSegmentNumber, dimension_uid.c_str(),
                                     DCM_SegmentIdentificationSequence, "ReferencedSegmentNumber"),
        path, "the segment dimension");
  check(dimensions.addDimensionIndex(DCM_ImagePositionPatient, dimension_uid.c_str(), DCM_PlanePositionSequence,
                                     "ImagePositionPatient"),
        path, "the position dimension");

  // Every source instance, in the Referenced Series Sequence.
  IODReferences references;
  for (const auto& s : source.slices)
    references.add(new IODImageReference("", source.study_uid.c_str(), source.series_uid.c_str(),
                                         s.sop_instance_uid.c_str(), s.sop_class_uid.c_str()));
  seg->getCommonInstanceReference().addReferences(references, source.study_uid.c_str());

  const int64_t slice_bytes = source.rows * source.columns;
  for (const auto& [id, name] : present) {
    Uint16 number = 0;
    std::unique_ptr<DcmSegment> segment = make_segment(descriptions.at(id), info, path);
    check(seg->addSegment(segment.get(), number), path, "the segment " + name);
    segment.release();  // owned by the segmentation now
    const at::Tensor mask = frames.eq(id).to(at::kByte).contiguous();
    const at::Tensor any = mask.flatten(1).amax(1);
    for (int64_t k = 0; k < mask.size(0); ++k) {
      if (any[k].item<uint8_t>() == 0) continue;
      const DicomSourceSlice& s = source.slices[static_cast<size_t>(k)];
      std::unique_ptr<FGPlanePosPatient> position(FGPlanePosPatient::createMinimal(
          detail::decimal_string(s.position[0]).c_str(), detail::decimal_string(s.position[1]).c_str(),
          detail::decimal_string(s.position[2]).c_str()));
      if (!position) throw Error(path + ": DCMTK refused the position of " + s.file);
      FGFrameContent frame_content;
      check(frame_content.setDimensionIndexValues(number, 0), path, "the frame's segment index");
      check(frame_content.setDimensionIndexValues(static_cast<Uint32>(k + 1), 1), path, "the frame's position index");
      ImageSOPInstanceReferenceMacro* raw_reference = nullptr;
      check(ImageSOPInstanceReferenceMacro::create(s.sop_class_uid.c_str(), s.sop_instance_uid.c_str(), raw_reference),
            path, "the reference to " + s.file);
      std::unique_ptr<ImageSOPInstanceReferenceMacro> reference(raw_reference);
      OFVector<ImageSOPInstanceReferenceMacro> derived_from;
      derived_from.push_back(*reference);
      std::unique_ptr<FGDerivationImage> derivation(DcmSegmentation::createDerivationImageFG(
          derived_from, "Segmented by " + OFString(info.algorithm_name.c_str())));
      if (!derivation) throw Error(path + ": DCMTK refused the derivation reference to " + s.file);
      OFVector<FGBase*> per_frame;
      per_frame.push_back(position.get());
      per_frame.push_back(&frame_content);
      per_frame.push_back(derivation.get());
      auto* bytes = const_cast<Uint8*>(mask.data_ptr<uint8_t>() + k * slice_bytes);
      check(seg->addFrame(bytes, number, per_frame), path, "frame " + std::to_string(k + 1) + " of " + name);
    }
  }

  DcmFileFormat file;
  {
    // dcmiod checks the dimension index against the per-frame groups before it has written them and
    // warns on stderr that there are none; the frames' groups are complete (addFrame checked them).
    OFLogger dcmiod = OFLog::getLogger("dcmtk.dcmiod");
    // getLogLevel() is log4cplus's NOT_SET (-1, no OFLogger::LogLevel) when the logger inherits its
    // level: casting that is undefined behaviour, so it is restored as DCMTK's default, WARN.
    const int level = dcmiod.getLogLevel();
    const bool valid = level == OFLogger::TRACE_LOG_LEVEL || level == OFLogger::DEBUG_LOG_LEVEL ||
                       level == OFLogger::INFO_LOG_LEVEL || level == OFLogger::WARN_LOG_LEVEL ||
                       level == OFLogger::ERROR_LOG_LEVEL || level == OFLogger::FATAL_LOG_LEVEL ||
                       level == OFLogger::OFF_LOG_LEVEL;
    dcmiod.setLogLevel(OFLogger::ERROR_LOG_LEVEL);
    const OFCondition written = seg->writeDataset(*file.getDataset());
    dcmiod.setLogLevel(valid ? static_cast<OFLogger::LogLevel>(level) : OFLogger::WARN_LOG_LEVEL);
    check(written, path, "the SEG data set");
  }
  // importFromSourceImage also brings the scanner's station and institution (General Equipment);
  // this object's equipment is swinsmt.
  for (const DcmTagKey& key :
       {DCM_StationName, DCM_InstitutionName, DCM_InstitutionAddress, DCM_InstitutionalDepartmentName})
    file.getDataset()->findAndDeleteElement(key);
  detail::save_dicom_atomically(file, path);
  return notes;
}

}  // namespace swinsmt::io
