// Strict reading of model cards: every key is known, typed and range-checked, so a typo ("spacng")
// or a card from a newer schema fails loudly instead of silently running with a default.
#include <swinsmt/checkpoint/model_card.hpp>

#include "common/file_io.hpp"

#include <swinsmt/error.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

namespace swinsmt {
namespace {

using json = nlohmann::json;

std::string number_text(double v) {
  std::ostringstream out;
  out << v;
  return out.str();
}

/// One JSON object of the card: typed getters that name the key path in errors, and a final check
/// that no key was left unread (unknown keys are errors, not ignored).
class Section {
 public:
  Section(const json& value, std::string path, const std::string& source) : source_(source), path_(std::move(path)) {
    if (!value.is_object()) fail("", "a JSON object", value);
    value_ = &value;
  }

  bool has(const std::string& key) const { return value_->contains(key); }

  const json& get(const std::string& key) {
    const auto it = value_->find(key);
    if (it == value_->end())
      throw Error(source_ + ": the model card has no \"" + where(key) + "\" (required; see docs/model-card.md)");
    read_.insert(key);
    return *it;
  }

  std::string text(const std::string& key) {
    const json& v = get(key);
    if (!v.is_string()) fail(key, "a string", v);
    return v.get<std::string>();
  }
  std::string text(const std::string& key, const std::string& fallback) { return has(key) ? text(key) : fallback; }

  bool flag(const std::string& key) {
    const json& v = get(key);
    if (!v.is_boolean()) fail(key, "true or false", v);
    return v.get<bool>();
  }
  bool flag(const std::string& key, bool fallback) { return has(key) ? flag(key) : fallback; }

  double number(const std::string& key) {
    const json& v = get(key);
    if (!v.is_number()) fail(key, "a number", v);
    return v.get<double>();
  }

  int64_t integer(const std::string& key, int64_t min, int64_t max) {
    const json& v = get(key);
    if (!v.is_number_integer()) fail(key, "an integer", v);
    const int64_t n = v.get<int64_t>();
    if (n < min || n > max) fail(key, "an integer from " + std::to_string(min) + " to " + std::to_string(max), v);
    return n;
  }

  Section object(const std::string& key) { return Section(get(key), where(key), source_); }

  /// Throws for the first key not read.
  void finish() const {
    for (const auto& item : value_->items())
      if (!read_.count(item.key()))
        throw Error(source_ + ": unknown key \"" + where(item.key()) + "\" in the model card (schema version " +
                    std::to_string(kModelCardVersion) + " has no such key; see docs/model-card.md)");
  }

  [[noreturn]] void fail(const std::string& key, const std::string& expected, const json& actual) const {
    throw Error(source_ + ": model card key \"" + where(key) + "\" must be " + expected + ", got " + actual.dump());
  }

  const std::string& source() const { return source_; }

  std::string where(const std::string& key) const {
    if (key.empty()) return path_;
    return path_.empty() ? key : path_ + "." + key;
  }

 private:
  const json* value_ = nullptr;
  std::string source_, path_;
  std::set<std::string> read_;
};

CodedConcept parse_concept(Section s) {
  CodedConcept c;
  c.code = s.text("code");
  c.scheme = s.text("scheme", "SCT");
  c.meaning = s.text("meaning");
  if (c.code.empty()) s.fail("code", "a non-empty code", json(c.code));
  s.finish();
  return c;
}

CardLabel parse_label(Section s) {
  CardLabel label;
  label.value = static_cast<int>(s.integer("value", 1, 255));
  label.name = s.text("name");
  if (label.name.empty() || label.name.find('/') != std::string::npos || label.name == "." || label.name == "..")
    s.fail("name", "a non-empty name usable as a file name (masks are <name>.nii.gz)", json(label.name));
  if (s.has("type")) label.type = parse_concept(s.object("type"));
  if (s.has("category")) label.category = parse_concept(s.object("category"));
  if (s.has("modifier")) label.modifier = parse_concept(s.object("modifier"));
  if (s.has("region")) label.region = parse_concept(s.object("region"));
  // A DICOM segment needs both a type and a category; mixing the card's type with the built-in
  // table's category (or modifier) could describe a structure neither meant, so codes come as a set.
  if (label.type.has_value() != label.category.has_value())
    throw Error(s.source() + ": model card key \"" + s.where(label.type ? "category" : "type") +
                "\" is missing: \"type\" and \"category\" come together (a DICOM segment needs both)");
  if (!label.type && (label.modifier || label.region))
    throw Error(s.source() + ": model card key \"" + s.where(label.modifier ? "modifier" : "region") +
                "\" needs \"type\" and \"category\" beside it (a label's codes are all the card's or all the "
                "built-in table's)");
  if (s.has("color")) {
    const json& v = s.get("color");
    std::array<int, 3> rgb{};
    if (!v.is_array() || v.size() != 3) s.fail("color", "three integers 0..255 [r, g, b]", v);
    for (size_t i = 0; i < 3; ++i) {
      if (!v[i].is_number_integer() || v[i].get<int64_t>() < 0 || v[i].get<int64_t>() > 255)
        s.fail("color", "three integers 0..255 [r, g, b]", v);
      rgb[i] = v[i].get<int>();
    }
    label.color = rgb;
  }
  s.finish();
  return label;
}

void parse_network(Section s, ModelCard& card) {
  const std::string merging = s.text("merging", "merging");
  if (merging != "merging" && merging != "mergingv2") s.fail("merging", "\"merging\" or \"mergingv2\"", json(merging));
  card.merging = parse_merging(merging);
  card.normalize = s.flag("normalize", true);
  card.out_channels = s.integer("out_channels", 2, 256);
  if (s.has("in_channels")) card.in_channels = s.integer("in_channels", 1, 1024);
  if (s.has("feature_size")) card.feature_size = s.integer("feature_size", 12, 4096);
  if (s.has("num_experts")) card.num_experts = s.integer("num_experts", 1, 4096);
  if (s.has("use_v2")) card.use_v2 = s.flag("use_v2");
  if (s.has("use_moe")) card.use_moe = s.flag("use_moe");
  s.finish();
}

void parse_preprocessing(Section s, ModelCard& card) {
  card.orientation = s.text("orientation", "RAS");
  // The pipeline orients every CT to RAS (MONAI Orientationd axcodes="RAS"); other orientations
  // would need a different network input layout, which no supported model uses.
  if (card.orientation != "RAS")
    s.fail("orientation", "\"RAS\" (the only orientation swinsmt supports)", json(card.orientation));
  const json& spacing = s.get("spacing");
  if (spacing.is_string() && spacing.get<std::string>() == "native") {
    card.spacing.reset();
  } else {
    if (!spacing.is_array() || spacing.size() != 3)
      s.fail("spacing", "three numbers (mm along x, y, z) or \"native\"", spacing);
    std::array<double, 3> mm{};
    for (size_t i = 0; i < 3; ++i) {
      if (!spacing[i].is_number() || !(spacing[i].get<double>() > 0) || !std::isfinite(spacing[i].get<double>()))
        s.fail("spacing", "three positive numbers (mm along x, y, z) or \"native\"", spacing);
      mm[i] = spacing[i].get<double>();
    }
    card.spacing = mm;
  }
  Section in = s.object("intensity");
  auto& t = card.intensity;
  t.a_min = in.number("a_min");
  t.a_max = in.number("a_max");
  t.b_min = in.number("b_min");
  t.b_max = in.number("b_max");
  t.clip = in.flag("clip");
  if (!(t.a_min < t.a_max)) in.fail("a_max", "greater than a_min (" + number_text(t.a_min) + ")", json(t.a_max));
  if (!(t.b_min < t.b_max)) in.fail("b_max", "greater than b_min (" + number_text(t.b_min) + ")", json(t.b_max));
  in.finish();
  s.finish();
}

void parse_inference(Section s, ModelCard& card) {
  const json& roi = s.get("roi");
  if (roi.is_number_integer()) {
    card.roi.fill(roi.get<int64_t>());
  } else if (roi.is_array() && roi.size() == 3) {
    for (size_t i = 0; i < 3; ++i) {
      if (!roi[i].is_number_integer()) s.fail("roi", "one integer or three", roi);
      card.roi[i] = roi[i].get<int64_t>();
    }
  } else {
    s.fail("roi", "one integer or three", roi);
  }
  for (int64_t r : card.roi)
    if (r < 64 || r % 32 != 0) s.fail("roi", "window sizes >= 64 and divisible by 32", roi);
  card.overlap = s.number("overlap");
  if (!(card.overlap >= 0 && card.overlap < 1)) s.fail("overlap", "a number in [0, 1)", json(card.overlap));
  card.blending = s.text("blending");
  if (card.blending != "gaussian" && card.blending != "constant")
    s.fail("blending", "\"gaussian\" or \"constant\"", json(card.blending));
  const std::string back = s.text("back_to_input");
  if (back != "labels_nearest" && back != "probabilities_linear")
    s.fail("back_to_input", "\"labels_nearest\" or \"probabilities_linear\"", json(back));
  card.back_to_input = parse_back_to_input(back);
  s.finish();
}

void parse_provenance(Section s, ModelCard& card) {
  card.source_sha256 = s.text("source_sha256", "");
  if (!card.source_sha256.empty() && (card.source_sha256.size() != 64 ||
                                      card.source_sha256.find_first_not_of("0123456789abcdef") != std::string::npos))
    s.fail("source_sha256", "64 lower-case hex digits", json(card.source_sha256));
  card.training_data = s.text("training_data", "");
  card.licence = s.text("licence", "");
  s.finish();
}

json concept_json(const CodedConcept& c) { return {{"code", c.code}, {"scheme", c.scheme}, {"meaning", c.meaning}}; }

}  // namespace

BackToInput parse_back_to_input(const std::string& name) {
  if (name == "labels_nearest") return BackToInput::labels_nearest;
  if (name == "probabilities_linear") return BackToInput::probabilities_linear;
  throw Error("unknown back-to-input mode \"" + name + "\" (expected labels_nearest or probabilities_linear)");
}

const char* back_to_input_name(BackToInput mode) {
  return mode == BackToInput::labels_nearest ? "labels_nearest" : "probabilities_linear";
}

std::map<int, std::string> ModelCard::label_names() const {
  std::map<int, std::string> names;
  for (const auto& l : labels) names[l.value] = l.name;
  return names;
}

ModelCard parse_model_card(const std::string& json_text, const std::string& source) {
  json j;
  try {
    j = json::parse(json_text);
  } catch (const std::exception& e) {
    throw Error(source + ": the model card is not valid JSON: " + e.what());
  }
  Section top(j, "", source);
  const std::string schema = top.text("schema");
  if (schema != kModelCardSchema) top.fail("schema", std::string("\"") + kModelCardSchema + "\"", json(schema));
  ModelCard card;
  const json& version = top.get("version");
  if (!version.is_number_integer() || version.get<int64_t>() != kModelCardVersion)
    throw Error(source + ": model card schema version " + version.dump() +
                " is not supported: this swinsmt reads version " + std::to_string(kModelCardVersion) +
                " (a newer card needs a newer swinsmt)");
  card.name = top.text("name", "");
  parse_network(top.object("network"), card);
  parse_preprocessing(top.object("preprocessing"), card);
  parse_inference(top.object("inference"), card);
  const json& labels = top.get("labels");
  if (!labels.is_array()) top.fail("labels", "an array of {\"value\": 1, \"name\": ...}", labels);
  std::map<int, size_t> seen_values;
  std::map<std::string, int> seen_names;
  for (size_t i = 0; i < labels.size(); ++i) {
    CardLabel label = parse_label(Section(labels[i], "labels[" + std::to_string(i) + "]", source));
    if (const auto it = seen_values.find(label.value); it != seen_values.end())
      throw Error(source + ": duplicate label value " + std::to_string(label.value) + " in the model card (labels[" +
                  std::to_string(it->second) + "] and labels[" + std::to_string(i) + "])");
    if (const auto it = seen_names.find(label.name); it != seen_names.end())
      throw Error(source + ": duplicate label name \"" + label.name + "\" in the model card (values " +
                  std::to_string(it->second) + " and " + std::to_string(label.value) + ")");
    seen_values[label.value] = i;
    seen_names[label.name] = label.value;
    card.labels.push_back(std::move(label));
  }
  // One output channel per label plus the background: the label values are the channel indices.
  const auto n = static_cast<int64_t>(card.labels.size());
  if (n + 1 != card.out_channels)
    throw Error(source + ": the model card has " + std::to_string(n) + " labels, so network.out_channels must be " +
                std::to_string(n + 1) + " (background + labels), got " + std::to_string(card.out_channels));
  for (const auto& [value, index] : seen_values)
    if (value > n)
      throw Error(source + ": label value " + std::to_string(value) + " (labels[" + std::to_string(index) +
                  "]) is outside 1.." + std::to_string(n) + ": the values must be the output channels 1.." +
                  std::to_string(n));
  std::sort(card.labels.begin(), card.labels.end(),
            [](const CardLabel& a, const CardLabel& b) { return a.value < b.value; });
  if (top.has("provenance")) parse_provenance(top.object("provenance"), card);
  top.finish();
  return card;
}

ModelCard read_model_card(const std::string& path) {
  const auto bytes = read_file_bytes(path);
  return parse_model_card(std::string(bytes.begin(), bytes.end()), path);
}

std::string model_card_json(const ModelCard& card) {
  json network{
      {"merging", merging_name(card.merging)}, {"normalize", card.normalize}, {"out_channels", card.out_channels}};
  if (card.in_channels) network["in_channels"] = *card.in_channels;
  if (card.feature_size) network["feature_size"] = *card.feature_size;
  if (card.num_experts) network["num_experts"] = *card.num_experts;
  if (card.use_v2) network["use_v2"] = *card.use_v2;
  if (card.use_moe) network["use_moe"] = *card.use_moe;
  const auto& t = card.intensity;
  json preprocessing{
      {"orientation", card.orientation},
      {"spacing", card.spacing ? json(*card.spacing) : json("native")},
      {"intensity",
       {{"a_min", t.a_min}, {"a_max", t.a_max}, {"b_min", t.b_min}, {"b_max", t.b_max}, {"clip", t.clip}}}};
  json inference{{"roi", card.roi},
                 {"overlap", card.overlap},
                 {"blending", card.blending},
                 {"back_to_input", back_to_input_name(card.back_to_input)}};
  json labels = json::array();
  for (const auto& l : card.labels) {
    json entry{{"value", l.value}, {"name", l.name}};
    if (l.type) entry["type"] = concept_json(*l.type);
    if (l.category) entry["category"] = concept_json(*l.category);
    if (l.modifier) entry["modifier"] = concept_json(*l.modifier);
    if (l.region) entry["region"] = concept_json(*l.region);
    if (l.color) entry["color"] = *l.color;
    labels.push_back(std::move(entry));
  }
  json out{{"schema", kModelCardSchema},
           {"version", card.version},
           {"name", card.name},
           {"network", network},
           {"preprocessing", preprocessing},
           {"inference", inference},
           {"labels", labels},
           {"provenance",
            {{"source_sha256", card.source_sha256}, {"training_data", card.training_data}, {"licence", card.licence}}}};
  return out.dump();
}

std::optional<ModelCard> model_card_from_metadata(const Metadata& metadata, const std::string& source) {
  const auto it = metadata.find(kModelCardMetadataKey);
  if (it == metadata.end()) return std::nullopt;
  return parse_model_card(it->second, source + " (metadata \"" + kModelCardMetadataKey + "\")");
}

std::optional<ModelCard> read_embedded_model_card(const std::string& path) {
  // Only the header: the 8-byte little-endian length and the JSON after it (a plausible one, else
  // the file is no safetensors file and has no card).
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("cannot open " + path);
  std::error_code ec;
  const auto file_size = static_cast<uint64_t>(std::filesystem::file_size(path, ec));
  uint8_t length_bytes[8] = {};
  if (ec || !in.read(reinterpret_cast<char*>(length_bytes), 8)) return std::nullopt;
  uint64_t length = 0;
  for (int i = 7; i >= 0; --i) length = (length << 8) | length_bytes[i];
  if (length < 2 || length > (uint64_t{100} << 20) || length > file_size - 8) return std::nullopt;
  std::string header(length, '\0');
  if (!in.read(header.data(), static_cast<std::streamsize>(length)) || header[0] != '{') return std::nullopt;
  json j;
  try {
    j = json::parse(header);
  } catch (const std::exception& e) {
    throw Error(path + ": the safetensors header is not valid JSON: " + e.what());
  }
  const auto meta = j.find("__metadata__");
  if (meta == j.end() || !meta->is_object() || !meta->contains(kModelCardMetadataKey)) return std::nullopt;
  const json& text = (*meta)[kModelCardMetadataKey];
  if (!text.is_string()) throw Error(path + ": metadata \"" + kModelCardMetadataKey + "\" is not a string");
  return parse_model_card(text.get<std::string>(), path + " (metadata \"" + kModelCardMetadataKey + "\")");
}

ConfigOverrides card_overrides(const ModelCard& card) {
  ConfigOverrides o;
  o.downsample = card.merging;
  o.normalize = card.normalize;
  o.out_channels = card.out_channels;
  o.in_channels = card.in_channels;
  o.feature_size = card.feature_size;
  o.num_experts = card.num_experts;
  o.use_v2 = card.use_v2;
  o.use_moe = card.use_moe;
  return o;
}

void check_model_card(const ModelCard& card, const StateDict& state, const std::string& card_source,
                      const std::string& weights_source) {
  const SwinSMTOptions actual = infer_options(state, {}, weights_source);
  const auto labels = std::to_string(card.labels.size());
  if (actual.out_channels() != card.out_channels)
    throw Error(card_source + " says " + labels + " labels, so out_channels " + std::to_string(card.out_channels) +
                ", but tensor out.conv.conv.weight in " + weights_source + " has " +
                std::to_string(actual.out_channels()) + " output channels");
  const auto differs = [&](const char* key, const std::string& card_value, const std::string& tensor_value,
                           const char* tensor) {
    throw Error(card_source + " says network." + key + " " + card_value + ", but " + tensor + " in " + weights_source +
                " says " + tensor_value);
  };
  if (card.in_channels && *card.in_channels != actual.in_channels())
    differs("in_channels", std::to_string(*card.in_channels), std::to_string(actual.in_channels()),
            "tensor swinViT.patch_embed.proj.weight");
  if (card.feature_size && *card.feature_size != actual.feature_size())
    differs("feature_size", std::to_string(*card.feature_size), std::to_string(actual.feature_size()),
            "tensor swinViT.patch_embed.proj.weight");
  if (card.use_v2 && *card.use_v2 != actual.use_v2())
    differs("use_v2", *card.use_v2 ? "true" : "false", actual.use_v2() ? "true" : "false",
            "the presence of the swinViT.layers*c (v2 conv block) tensors");
  if (card.use_moe && *card.use_moe != actual.use_moe())
    differs("use_moe", *card.use_moe ? "true" : "false", actual.use_moe() ? "true" : "false",
            "the presence of Soft MoE tensors");
  if (card.num_experts && actual.use_moe() && *card.num_experts != actual.num_experts())
    differs("num_experts", std::to_string(*card.num_experts), std::to_string(actual.num_experts()),
            "the Soft MoE expert tensors");
}

std::string describe_preprocessing(const ModelCard& card) {
  std::ostringstream out;
  out << std::fixed;
  out.precision(1);
  if (card.spacing)
    out << "spacing " << (*card.spacing)[0] << " x " << (*card.spacing)[1] << " x " << (*card.spacing)[2] << " mm";
  else
    out << "spacing native";
  out.unsetf(std::ios::floatfield);
  out.precision(6);
  out << ", HU " << card.intensity.a_min << ".." << card.intensity.a_max << ", roi ";
  if (card.roi[0] == card.roi[1] && card.roi[1] == card.roi[2])
    out << card.roi[0];
  else
    out << card.roi[0] << " x " << card.roi[1] << " x " << card.roi[2];
  return out.str();
}

}  // namespace swinsmt
