#pragma once
// The record a finished case leaves beside its outputs, so that a batch started again skips what is
// done (SegmentationWriter). It names the input (with a fingerprint of its content: sizes and
// modification times), the run (checkpoint SHA-256 and the settings that change the labels) and
// every output with its size. A record with status "writing" is written before a label map's
// outputs and marks them as swinsmt's own, incomplete: a later run may replace them. Internal to
// pipeline/.

#include <swinsmt/pipeline/segmentation_writer.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>

namespace swinsmt::detail {

struct CaseRecord {
  std::string status;  ///< "writing" or "done"
  std::string input, input_fingerprint, run_key, swinsmt_version;
  /// Output file -> bytes, file names relative to the record's folder; -1 while "writing".
  std::map<std::string, int64_t> outputs;
};

/// A NIfTI file's size and modification time; a DICOM folder's file count, total size and latest
/// modification time. Changes when the input is replaced or edited. Throws swinsmt::Error when the
/// input cannot be read.
std::string input_fingerprint(const CtInput& input);

/// The record at `path`, or nullopt when there is none or the file is not a swinsmt case record.
std::optional<CaseRecord> read_case_record(const std::string& path);

/// Writes `record` to `path` atomically (temporary file renamed into place). Throws swinsmt::Error.
void write_case_record(const std::string& path, const CaseRecord& record);

/// True when every output of a "done" record exists with its recorded size (names relative to
/// `folder`).
bool outputs_intact(const CaseRecord& record, const std::string& folder);

}  // namespace swinsmt::detail
