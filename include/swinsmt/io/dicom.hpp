#pragma once
// DICOM series (one folder, one single-frame image per file) through GDCM.

#include <swinsmt/io/volume.hpp>

#include <string>

namespace swinsmt::io {

/// Reads the DICOM series in `folder` (files directly inside it; files that are not DICOM images,
/// such as DICOMDIR or notes, are ignored) into a Volume:
/// - slices sorted by ImagePositionPatient projected on the slice normal (row x column cosines);
/// - values = stored value * RescaleSlope + RescaleIntercept, float32 (HU for CT);
/// - data indexed (column, row, slice), like ITK/SimpleITK/MONAI's DICOM readers;
/// - affine from ImageOrientationPatient, PixelSpacing and the slice positions, converted from
///   DICOM's LPS to RAS+ (x and y negated); geometry = NiftiGeometry::from_affine(affine).
/// - Volume::modality from (0008,0060); a gantry-tilted series (slices offset within their plane)
///   keeps its sheared grid with qform_code 0 (sform only) and a warning in Volume::warnings.
/// Throws swinsmt::Error when the folder does not exist, has no DICOM image, holds several series
/// (naming each SeriesInstanceUID with its file count), or its slices disagree in size, orientation,
/// pixel spacing or modality, or are unevenly spaced (missing or duplicate slices). A one-slice
/// series takes its SliceThickness (else 1 mm) as third voxel size, with a warning.
Volume read_dicom_series(const std::string& folder);

/// True when `path` is a file that starts like a DICOM file (the "DICM" magic at byte 128).
bool is_dicom_file(const std::string& path);

/// True when `path` is a folder holding at least one file that starts like a DICOM file (the "DICM"
/// magic at byte 128). Cheap: reads 132 bytes of files until one matches.
bool is_dicom_folder(const std::string& path);

}  // namespace swinsmt::io
