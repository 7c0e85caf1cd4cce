#pragma once
// A model card: everything needed to run a checkpoint that its tensors do not say — the network
// options the weights cannot show (merging version, normalize), the preprocessing (orientation,
// spacing, intensity window), the sliding windows (roi, overlap, blending), how the results go back
// to the input grid, the label table and where the weights came from. As GGUF does for llama.cpp:
// `convert --card` embeds it in the safetensors metadata, so the file cannot be run the wrong way.
// The JSON schema is versioned and documented in docs/model-card.md; parsing is strict (unknown
// keys, wrong types, out-of-range values and an unknown version are errors naming the key).

#include <swinsmt/checkpoint/config_inference.hpp>
#include <swinsmt/checkpoint/safetensors.hpp>
#include <swinsmt/nn/options.hpp>

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace swinsmt {

/// The schema version this build reads and writes ("version" in the card).
constexpr int kModelCardVersion = 1;
/// The value of the card's "schema" key, so a card is recognisable as one.
constexpr const char* kModelCardSchema = "swinsmt-model-card";
/// The safetensors `__metadata__` key `convert --card` stores the card under (as JSON text).
constexpr const char* kModelCardMetadataKey = "model_card";

/// How the network's output goes back to the input grid.
enum class BackToInput {
  /// argmax on the model grid, then nearest-neighbour labels (TotalSegmentator; Invertd nearest_interp=True).
  labels_nearest,
  /// softmax, linear resampling of the probabilities, then argmax (MONAI bundles' Invertd
  /// nearest_interp=False).
  probabilities_linear,
};
/// "labels_nearest" | "probabilities_linear"; throws swinsmt::Error otherwise.
BackToInput parse_back_to_input(const std::string& name);
const char* back_to_input_name(BackToInput mode);

/// A coded concept for DICOM output (SNOMED CT by default).
struct CodedConcept {
  std::string code;
  std::string scheme = "SCT";
  std::string meaning;
};

/// One label of the card. The codes say what the label is in DICOM outputs (SEG segments); they
/// come as a set: `type` and `category` together, `modifier` and `region` only with them, so a
/// label's codes are either all the card's or all the built-in table's (io::structure_code).
struct CardLabel {
  int value = 0;  ///< 1..255; 0 is the background
  std::string name;
  std::optional<CodedConcept> type;      ///< the structure (Segmented Property Type)
  std::optional<CodedConcept> category;  ///< its category (Segmented Property Category)
  /// Segmented Property Type Modifier (SCT 7771000 Left, SCT 24028007 Right, ...); also the
  /// Anatomic Region Modifier when `region` is given.
  std::optional<CodedConcept> modifier;
  std::optional<CodedConcept> region;       ///< Anatomic Region, where the type alone does not say it (a cyst's organ)
  std::optional<std::array<int, 3>> color;  ///< [r, g, b] 0..255: DICOM outputs and the preview
};

/// MONAI ScaleIntensityRange: (x - a_min) / (a_max - a_min) * (b_max - b_min) + b_min, clipped to
/// [b_min, b_max] when `clip`.
struct IntensityTransform {
  double a_min = -1024, a_max = 1024, b_min = 0, b_max = 1;
  bool clip = true;
};

struct ModelCard {
  int version = kModelCardVersion;
  std::string name;  ///< optional, for people

  // "network": what the tensors cannot tell, and checks of what they can.
  Merging merging = Merging::v1;
  bool normalize = true;
  int64_t out_channels = 0;  ///< required: background + the labels
  std::optional<int64_t> in_channels, feature_size, num_experts;
  std::optional<bool> use_v2, use_moe;

  // "preprocessing"
  std::string orientation = "RAS";               ///< the only orientation swinsmt feeds the network
  std::optional<std::array<double, 3>> spacing;  ///< mm along x, y, z; nullopt: "native"
  IntensityTransform intensity;

  // "inference"
  std::array<int64_t, 3> roi{128, 128, 128};
  double overlap = 0.5;
  std::string blending = "gaussian";  ///< "gaussian" | "constant"
  BackToInput back_to_input = BackToInput::labels_nearest;

  std::vector<CardLabel> labels;  ///< values exactly 1..out_channels-1, in order

  // "provenance"
  std::string source_sha256, training_data, licence;

  /// label value -> name
  std::map<int, std::string> label_names() const;
};

/// Parses and checks a card's JSON text. `source` names the file in errors. Throws swinsmt::Error
/// naming the key, the expected and the actual value (unknown schema or version, unknown key,
/// wrong type, duplicate label value or name, labels not 1..N with N = out_channels - 1, ...).
ModelCard parse_model_card(const std::string& json_text, const std::string& source);

/// Reads a card file (JSON). Throws swinsmt::Error naming the path.
ModelCard read_model_card(const std::string& path);

/// The card as JSON text (every field written, parse_model_card reads it back equal).
std::string model_card_json(const ModelCard& card);

/// The card stored in safetensors metadata, if any. Throws swinsmt::Error for a malformed one.
std::optional<ModelCard> model_card_from_metadata(const Metadata& metadata, const std::string& source);

/// The card embedded in a safetensors file, reading only its header (cheap for any file size);
/// nullopt for other formats and safetensors files without one. Throws swinsmt::Error for a
/// malformed card.
std::optional<ModelCard> read_embedded_model_card(const std::string& path);

/// The card's network fields as configuration overrides (merging, normalize, and the optional
/// fields it states).
ConfigOverrides card_overrides(const ModelCard& card);

/// Checks a card against the tensors it describes before the model is built: the output head's
/// channels against the label count, and every network field the card states. Throws
/// swinsmt::Error naming the card, the key, the tensor and both values ("card.json says 13 labels,
/// so out_channels 14, but tensor out.conv.conv.weight in m.pth has 118 output channels").
void check_model_card(const ModelCard& card, const StateDict& state, const std::string& card_source,
                      const std::string& weights_source);

/// One line: "spacing 1.5 x 1.5 x 2.0 mm, HU -175..250, roi 96".
std::string describe_preprocessing(const ModelCard& card);

}  // namespace swinsmt
