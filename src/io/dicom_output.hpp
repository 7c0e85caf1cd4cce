#pragma once
// What the DICOM writers (SEG, RT-STRUCT) share: checking a label map against its source series,
// new UIDs, decimal strings, and saving a DCMTK data set atomically. Internal to io/.

#include <swinsmt/io/dicom_source.hpp>

#include <ATen/core/Tensor.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

class DcmFileFormat;
class DcmItem;
class DcmTagKey;
class OFCondition;

namespace swinsmt::io::detail {

/// Throws swinsmt::Error naming `path` unless `labels` is a uint8 (columns, rows, slices) tensor on
/// the grid of `source`.
void check_labels_on_source(const std::string& path, const DicomSource& source, const at::Tensor& labels);

/// Throws swinsmt::Error "<path>: DCMTK refused <what> (<DCMTK's reason>)" when `status` is bad.
void check(const OFCondition& status, const std::string& path, const std::string& what);

/// A top-level text value of `item` with trailing spaces removed; "" when absent.
std::string text_value(DcmItem& item, const DcmTagKey& key);

/// The entries of `structures` (label id -> name) with at least one voxel in `labels`, in label
/// order, and the log note naming the empty ones ("<path>: N empty structures left out of the
/// <object> (...)", empty when none). Throws swinsmt::Error when no structure has a voxel.
std::pair<std::vector<std::pair<int, std::string>>, std::string> present_structures(
    const std::string& path, const at::Tensor& labels, const std::map<int, std::string>& structures,
    const std::string& object);

/// "<algorithm> <version> <checkpoint file name>", cut to the 64 characters of a Series Description.
std::string series_description(const DicomOutputInfo& info);

/// A new UID under DCMTK's root for `what` (SITE_SERIES_UID_ROOT, SITE_INSTANCE_UID_ROOT).
std::string new_uid(const char* root);

/// `v` as a DICOM decimal string (DS, at most 16 characters).
std::string decimal_string(double v);

/// The source's row/column cosines as six decimal strings, backslash-separated.
std::string orientation_string(const DicomSource& source);

/// Saves `file` (explicit VR little endian, with a file meta header) to `path` through a
/// temporary file renamed into place; a failed write leaves nothing behind. Throws swinsmt::Error.
void save_dicom_atomically(DcmFileFormat& file, const std::string& path);

}  // namespace swinsmt::io::detail
