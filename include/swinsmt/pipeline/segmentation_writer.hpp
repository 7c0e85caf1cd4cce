#pragma once
// Where a segmentation run's results go and how they are written: the input list expanded into
// cases, every output path decided and checked before any inference, and each case's label map
// (or folder of masks), statistics and preview written atomically. The `swinsmt segment` command is
// this class plus argument parsing; applications use it the same way.

#include <swinsmt/checkpoint/model_card.hpp>
#include <swinsmt/io/dicom_source.hpp>
#include <swinsmt/io/segment_description.hpp>
#include <swinsmt/io/volume.hpp>
#include <swinsmt/pipeline/labels.hpp>

#include <ATen/core/Tensor.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace swinsmt {

/// One CT to segment.
struct CtInput {
  std::string path;    ///< NIfTI file or DICOM series folder
  bool dicom = false;  ///< a DICOM series folder
  std::string name;    ///< file name without .nii/.nii.gz (or the folder's name): names multi-input outputs
};

/// Expands each path: a NIfTI file, a DICOM series folder, a folder holding NIfTI files and DICOM
/// series folders (sorted by name), or "@FILE": a list file with one such path per line (blank lines
/// and lines starting with # skipped; relative paths relative to the list's folder). Throws
/// swinsmt::Error naming a path that does not exist (and the list file and line it came from) or a
/// folder that holds neither.
std::vector<CtInput> find_ct_inputs(const std::vector<std::string>& paths);

/// Reads a CtInput (io::read_nifti or io::read_dicom_series).
io::Volume read_ct(const CtInput& input);

enum class LabelOutput {
  label_map,  ///< one uint8 NIfTI holding every label
  masks,      ///< a folder with one <structure>.nii.gz (0/1) per kept structure
};

/// The files a label map is written as (`swinsmt segment --output-type`).
enum class OutputType {
  nifti,      ///< uint8 NIfTI label map (.nii.gz)
  dicom_seg,  ///< DICOM Segmentation (io::write_dicom_seg); needs a DICOM series input
  rtstruct,   ///< DICOM RT Structure Set (io::write_rtstruct); needs a DICOM series input
};

/// Parses "nifti", "dicom-seg" or "rtstruct". Throws swinsmt::Error naming the accepted values.
OutputType parse_output_type(const std::string& name);

struct WriterOptions {
  LabelOutput form = LabelOutput::label_map;
  /// What the label map is written as: one type or several (each at most once); DICOM types need
  /// LabelOutput::label_map and DICOM series inputs.
  std::vector<OutputType> types{OutputType::nifti};
  /// The run as DICOM outputs describe it (swinsmt's version, the checkpoint's name and SHA-256).
  io::DicomOutputInfo dicom;
  bool statistics = false;  ///< statistics.json: voxels, volume and mean HU per structure
  bool preview = false;     ///< preview.png: three orthogonal slices with the labels
  /// Replace the files swinsmt writes when they exist (otherwise an existing output is an error);
  /// never anything else, and never an input.
  bool overwrite = false;
  /// Label ids to keep (the others become background); empty keeps every structure.
  std::vector<int> keep;
  /// Structure names for masks, statistics, the preview's legend and DICOM outputs; empty: the
  /// names of `card_labels`, else swinsmt::labels().
  LabelTable names;
  /// The model card's labels (ModelCard::labels), by value: their codes and colours go into DICOM
  /// outputs and their colours into the preview (describe_label, preview_colour in
  /// label_descriptions.hpp). Empty: DICOM outputs take the built-in table's codes and colours by
  /// name, the preview label_colour.
  std::vector<CardLabel> card_labels;
  /// The cases this writer checks and writes (positions in `inputs`, ascending): a shard of a batch
  /// (shard.hpp); nullopt: all. The layout (one file, or a folder of cases) and name clashes are
  /// decided over all inputs, so every shard plans the same paths.
  std::optional<std::vector<size_t>> cases;
  /// What besides the input decides the labels: the checkpoint's SHA-256 and the settings. Recorded
  /// with each finished case; a case finished by a run with the same key on the same input is
  /// skipped when the batch runs again (finished()).
  std::string run_key;
};

/// The files one case writes; statistics, preview and the output types not asked for are empty.
struct OutputPaths {
  std::string labels;     ///< the NIfTI label map file, or with LabelOutput::masks the folder
  std::string dicom_seg;  ///< the DICOM SEG file
  std::string rtstruct;   ///< the RT-STRUCT file
  std::string statistics, preview;
  /// The case's record (pipeline/case_record.hpp): <label map without .nii.gz>.swinsmt.json beside
  /// the label map, or swinsmt.json inside the masks folder; written last.
  std::string record;
};

class SegmentationWriter {
 public:
  /// Plans the outputs of `inputs` under `output` and checks that they can be written. One input
  /// and one output type: `output` is the label map file (.nii.gz or .nii; .dcm for DICOM types; with
  /// masks, the folder) and the extras go beside it (inside the folder with masks). Several inputs
  /// and one output type: `output` is a folder holding <name>.nii.gz (or <name>.dcm),
  /// <name>_statistics.json, <name>_preview.png, <name>.swinsmt.json (with masks <name>/). Several
  /// output types: the folder of one input (`output` itself, or <output>/<name> with several inputs)
  /// holds seg.nii.gz, seg.dcm, rtstruct.dcm, statistics.json, preview.png and swinsmt.json (those
  /// of the types asked for). A trailing "/" is
  /// ignored. DICOM output types with masks or with an input that is not a DICOM series are errors,
  /// and so is a structure a DICOM output may hold (every kept one) without codes in options.card_labels
  /// or the built-in table (describe_label). A case (of options.cases) whose record says it was finished by a run with
  /// the same run_key on the same input, with every output still there, is finished() and left alone (unless
  /// `overwrite`). Throws swinsmt::Error before any inference on a name clash, an existing output without `overwrite`
  /// that is not swinsmt's own unfinished output of this case, an output that is (or, in a masks folder, would replace)
  /// an input, or a place where nothing can be written. Creates nothing: folders appear when write() needs them. Inputs
  /// are only ever read.
  SegmentationWriter(std::string output, const std::vector<CtInput>& inputs, WriterOptions options);

  size_t size() const { return paths_.size(); }
  const OutputPaths& paths(size_t index) const { return paths_.at(index); }
  const WriterOptions& options() const { return options_; }
  /// The cases this writer takes: options().cases, or all.
  const std::vector<size_t>& cases() const { return cases_; }
  /// True when case `index` was finished by an earlier run with the same run_key (see above).
  bool finished(size_t index) const { return finished_.at(index); }

  /// True when the output types include a DICOM one: write() then needs the input's DicomSource.
  bool needs_dicom_source() const;

  /// Writes case `index`: `labels` (uint8 on the grid of `ct`, 0..num_structures) restricted to
  /// options().keep, as every output type asked for, the statistics of the kept structures and the
  /// preview. DICOM outputs reference `source` (read from the input when null). Every file is written
  /// under a temporary name and renamed into place. A new masks folder is built under a temporary
  /// name and renamed, so it only ever appears complete; with `overwrite` an existing one gets the
  /// files swinsmt writes (<structure>.nii.gz, statistics.json, preview.png) replaced and keeps
  /// everything else. The case's record comes last (for a label map, a record marking the outputs
  /// as being written comes first). Throws swinsmt::Error; a failed write leaves no temporary file
  /// or folder. Returns what the log should say (structures left out of a DICOM SEG because empty,
  /// or the RT-STRUCT because empty, identifiers taken from the file meta header).
  std::vector<std::string> write(size_t index, const io::Volume& ct, const at::Tensor& labels, int num_structures,
                                 const io::DicomSource* source = nullptr) const;

 private:
  /// options_.names, else the names of options_.card_labels, else swinsmt::labels().
  const LabelTable& names() const { return names_; }

  std::string output_;
  WriterOptions options_;
  LabelTable names_;
  /// With DICOM output types: what they say about each kept structure, decided before any inference.
  std::map<int, io::SegmentDescription> descriptions_;
  std::vector<CtInput> inputs_;
  std::vector<OutputPaths> paths_;
  std::vector<size_t> cases_;
  std::vector<bool> finished_, replace_;  // per input: done before; its existing outputs are swinsmt's to replace
};

}  // namespace swinsmt
