// Model cards (issue 18): strict parsing, the checks against the tensors, convert --card -> load()
// round trip of every field, and load() honouring the card's network fields.
#include "fixtures.hpp"
#include "test_support.hpp"

#include <swinsmt/checkpoint/load.hpp>
#include <swinsmt/checkpoint/model_card.hpp>
#include <swinsmt/checkpoint/safetensors.hpp>
#include <swinsmt/pipeline/card_options.hpp>

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>

using namespace swinsmt;

namespace {

using json = nlohmann::json;

json shipped_card(const std::string& name) {
  std::ifstream in(test::source_path("weights/" + name));
  return json::parse(in);
}

std::string card_error(const json& card) {
  return test::error_of([&] { parse_model_card(card.dump(), "card.json"); });
}

void write_text(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

/// A card of the mergingv2 fixture (3 labels, normalize false) with every optional field set.
ModelCard full_card() {
  json j = shipped_card("btcv_swinunetr.card.json");
  j["name"] = "fixture smt_f12_mergingv2_e3";
  j["network"] = {{"merging", "mergingv2"}, {"normalize", false}, {"out_channels", 4}, {"in_channels", 1},
                  {"feature_size", 12},     {"num_experts", 3},   {"use_v2", true},    {"use_moe", true}};
  j["preprocessing"]["spacing"] = {0.8, 0.9, 2.5};
  j["preprocessing"]["intensity"] = {{"a_min", -100}, {"a_max", 300}, {"b_min", -1}, {"b_max", 2}, {"clip", false}};
  j["inference"] = {
      {"roi", {64, 96, 128}}, {"overlap", 0.25}, {"blending", "gaussian"}, {"back_to_input", "probabilities_linear"}};
  j["labels"] =
      json::array({{{"value", 1},
                    {"name", "spleen"},
                    {"type", {{"code", "78961009"}, {"scheme", "SCT"}, {"meaning", "Spleen"}}},
                    {"category", {{"code", "123037004"}, {"scheme", "SCT"}, {"meaning", "Anatomical Structure"}}},
                    {"color", {157, 108, 162}}},
                   {{"value", 3}, {"name", "liver"}},
                   {{"value", 2}, {"name", "kidney_right"}, {"color", {185, 102, 83}}}});
  j["provenance"] = {{"source_sha256", ""}, {"training_data", "none"}, {"licence", "CC0-1.0"}};
  return parse_model_card(j.dump(), "full card");
}

/// The mergingv2 fixture's complete state dict as a safetensors file, optionally with a card.
std::string write_fixture(const test::ScratchDir& dir, const std::string& name, const std::optional<ModelCard>& card) {
  Metadata metadata{{"format", "pt"}};
  if (card) metadata[kModelCardMetadataKey] = model_card_json(*card);
  const std::string path = dir / name;
  write_safetensors(path, test::fixture_weights("smt_f12_mergingv2_e3"), metadata);
  return path;
}

}  // namespace

TEST(ModelCard, ShippedCardsParse) {
  const auto btcv = read_model_card(test::source_path("weights/btcv_swinunetr.card.json"));
  EXPECT_EQ(btcv.out_channels, 14);
  ASSERT_EQ(btcv.labels.size(), 13U);
  EXPECT_EQ(btcv.labels[0].name, "spleen");
  EXPECT_EQ(btcv.labels[12].name, "adrenal_gland_left");
  ASSERT_TRUE(btcv.spacing);
  EXPECT_EQ(*btcv.spacing, (std::array<double, 3>{1.5, 1.5, 2.0}));
  EXPECT_EQ(btcv.intensity.a_min, -175);
  EXPECT_EQ(btcv.intensity.a_max, 250);
  EXPECT_EQ(btcv.blending, "constant");
  EXPECT_EQ(btcv.back_to_input, BackToInput::probabilities_linear);
  EXPECT_EQ(describe_preprocessing(btcv), "spacing 1.5 x 1.5 x 2.0 mm, HU -175..250, roi 96");

  const auto official = read_model_card(test::source_path("weights/swinsmt_totalsegmentator.card.json"));
  EXPECT_EQ(official.out_channels, 118);
  ASSERT_EQ(official.labels.size(), 117U);
  // The card's defaults are the built-in ones (a .pth without a card runs as before).
  const SegmentOptions defaults;
  const SegmentOptions from_card = segment_options(official);
  EXPECT_EQ(from_card.roi_size, defaults.roi_size);
  EXPECT_EQ(from_card.spacing, defaults.spacing);
  EXPECT_EQ(from_card.hu_min, defaults.hu_min);
  EXPECT_EQ(from_card.hu_max, defaults.hu_max);
  EXPECT_EQ(from_card.blend, defaults.blend);
  EXPECT_EQ(from_card.back_to_input, defaults.back_to_input);
  const auto example = read_model_card(test::source_path("weights/swinsmt_f12_random.card.json"));
  EXPECT_FALSE(example.spacing);
  EXPECT_EQ(official.label_names(), example.label_names());
}

TEST(ModelCard, JsonRoundTripsEveryField) {
  const ModelCard card = full_card();
  const ModelCard again = parse_model_card(model_card_json(card), "again");
  EXPECT_EQ(model_card_json(again), model_card_json(card));
  EXPECT_EQ(again.merging, Merging::v2);
  EXPECT_FALSE(again.normalize);
  EXPECT_EQ(again.roi, (std::array<int64_t, 3>{64, 96, 128}));
  EXPECT_FALSE(again.intensity.clip);
  EXPECT_EQ(again.intensity.b_min, -1);
  ASSERT_EQ(again.labels.size(), 3U);
  EXPECT_EQ(again.labels[1].name, "kidney_right");  // sorted by value
  ASSERT_TRUE(again.labels[0].type);
  EXPECT_EQ(again.labels[0].type->code, "78961009");
  EXPECT_EQ(again.labels[0].category->meaning, "Anatomical Structure");
  EXPECT_EQ(*again.labels[0].color, (std::array<int, 3>{157, 108, 162}));
  EXPECT_EQ(again.licence, "CC0-1.0");
}

TEST(ModelCard, UnknownSchemaVersionIsAnError) {
  json card = shipped_card("btcv_swinunetr.card.json");
  card["version"] = 2;
  const std::string error = card_error(card);
  EXPECT_NE(error.find("card.json: model card schema version 2 is not supported: this swinsmt reads version 1"),
            std::string::npos)
      << error;
  card["version"] = 1;
  card["schema"] = "gguf";
  EXPECT_NE(card_error(card).find("\"schema\" must be \"swinsmt-model-card\", got \"gguf\""), std::string::npos);
}

TEST(ModelCard, DuplicateLabelValuesAreAnError) {
  json card = shipped_card("btcv_swinunetr.card.json");
  card["labels"][4]["value"] = 3;
  const std::string error = card_error(card);
  EXPECT_NE(error.find("card.json: duplicate label value 3 in the model card (labels[2] and labels[4])"),
            std::string::npos)
      << error;
  card = shipped_card("btcv_swinunetr.card.json");
  card["labels"][4]["name"] = "spleen";
  EXPECT_NE(card_error(card).find("duplicate label name \"spleen\""), std::string::npos);
}

TEST(ModelCard, EveryFieldIsChecked) {
  const auto error_with = [](const std::function<void(json&)>& edit) {
    json card = shipped_card("btcv_swinunetr.card.json");
    edit(card);
    return card_error(card);
  };
  const auto expect_error = [&](const std::function<void(json&)>& edit, const std::string& expected) {
    const std::string error = error_with(edit);
    EXPECT_NE(error.find(expected), std::string::npos) << "expected \"" << expected << "\" in: " << error;
  };
  expect_error([](json& c) { c["preprocessing"]["spacng"] = 1; }, "unknown key \"preprocessing.spacng\"");
  expect_error(
      [](json& c) {
        c["preprocessing"]["spacing"] = {1.5, 1.5};
      },
      "\"preprocessing.spacing\" must be three numbers (mm along x, y, z) or \"native\", got [1.5,1.5]");
  expect_error([](json& c) { c["preprocessing"]["orientation"] = "LPS"; }, "must be \"RAS\"");
  expect_error([](json& c) { c["preprocessing"]["intensity"]["a_max"] = -200; },
               "\"preprocessing.intensity.a_max\" must be greater than a_min (-175), got -200");
  expect_error([](json& c) { c["preprocessing"]["intensity"].erase("clip"); },
               "no \"preprocessing.intensity.clip\" (required");
  expect_error([](json& c) { c["inference"]["roi"] = 100; }, "window sizes >= 64 and divisible by 32");
  expect_error([](json& c) { c["inference"]["overlap"] = 1; }, "\"inference.overlap\" must be a number in [0, 1)");
  expect_error([](json& c) { c["inference"]["blending"] = "mean"; }, "\"gaussian\" or \"constant\", got \"mean\"");
  expect_error([](json& c) { c["inference"]["back_to_input"] = "nearest"; }, "\"labels_nearest\" or");
  expect_error([](json& c) { c["network"]["merging"] = "v2"; }, "\"merging\" or \"mergingv2\", got \"v2\"");
  expect_error([](json& c) { c["network"]["normalize"] = "no"; }, "\"network.normalize\" must be true or false");
  expect_error([](json& c) { c["network"]["out_channels"] = 15; },
               "has 13 labels, so network.out_channels must be 14 (background + labels), got 15");
  expect_error([](json& c) { c["labels"][12]["value"] = 20; }, "label value 20 (labels[12]) is outside 1..13");
  expect_error([](json& c) { c["labels"][0]["color"] = {1, 2, 300}; }, "\"labels[0].color\" must be three integers");
  expect_error([](json& c) { c["labels"][0]["name"] = "a/b"; }, "usable as a file name");
  expect_error([](json& c) { c["provenance"]["source_sha256"] = "abc"; }, "64 lower-case hex digits");
  expect_error([](json& c) { c["provenance"]["licence "] = "x"; }, "unknown key \"provenance.licence \"");
}

TEST(ModelCard, CardContradictingTheTensorsIsAnError) {
  const StateDict weights = test::fixture_weights("smt_f12_mergingv2_e3");
  const ModelCard btcv = read_model_card(test::source_path("weights/btcv_swinunetr.card.json"));
  EXPECT_EQ(test::error_of([&] { check_model_card(btcv, weights, "btcv.card.json", "m.safetensors"); }),
            "btcv.card.json says 13 labels, so out_channels 14, but tensor out.conv.conv.weight in m.safetensors has "
            "4 output channels");
  ModelCard card = full_card();
  card.feature_size = 24;
  EXPECT_EQ(test::error_of([&] { check_model_card(card, weights, "c.json", "m.safetensors"); }),
            "c.json says network.feature_size 24, but tensor swinViT.patch_embed.proj.weight in m.safetensors says 12");
  card = full_card();
  card.use_moe = false;
  EXPECT_NE(test::error_of([&] {
              check_model_card(card, weights, "c.json", "m.safetensors");
            }).find("c.json says network.use_moe false, but the presence of Soft MoE tensors"),
            std::string::npos);
}

// load() applies the card's merging version and normalize (the tensors cannot show them): without
// them this fixture's output would differ from the official one.
TEST(ModelCard, LoadHonoursTheCardsNetworkFields) {
  c10::InferenceMode guard;
  test::ScratchDir dir("card_load");
  test::Fixture io("smt_f12_mergingv2_e3.io.safetensors");
  auto loaded = load(write_fixture(dir, "with_card.safetensors", full_card()));
  ASSERT_TRUE(loaded.card);
  EXPECT_EQ(loaded.config.downsample(), Merging::v2);
  EXPECT_FALSE(loaded.config.normalize());
  test::expect_close("output with the card", loaded.model->forward(io.at("input")), io.at("output"));
  // The same file without a card runs the official defaults, and so differs.
  auto plain = load(write_fixture(dir, "plain.safetensors", std::nullopt));
  EXPECT_FALSE(plain.card);
  EXPECT_EQ(plain.config.downsample(), Merging::v1);
  EXPECT_GT(test::max_abs_error(plain.model->forward(io.at("input")), io.at("output")), 1e-2);
  // A card given to load() for a file without one works the same; explicit overrides still win.
  LoadOptions options;
  options.card = full_card();
  EXPECT_EQ(load(dir / "plain.safetensors", options).config.downsample(), Merging::v2);
  options.config.downsample = Merging::v1;
  EXPECT_EQ(load(dir / "plain.safetensors", options).config.downsample(), Merging::v1);
}

TEST(ModelCard, ConvertThenLoadRoundTripsEveryField) {
  test::ScratchDir dir("card_convert");
  const std::string plain = write_fixture(dir, "plain.safetensors", std::nullopt);
  write_text(dir / "card.json", model_card_json(full_card()));
  const auto run = test::run_swinsmt("convert " + test::quoted(plain) + " " + test::quoted(dir / "out.safetensors") +
                                     " --card " + test::quoted(dir / "card.json"));
  ASSERT_EQ(run.code, 0) << run.output;
  EXPECT_NE(run.output.find("model card fixture smt_f12_mergingv2_e3 (3 labels, spacing 0.8 x 0.9 x 2.5 mm, HU "
                            "-100..300, roi 64 x 96 x 128)"),
            std::string::npos)
      << run.output;
  const auto loaded = load(dir / "out.safetensors");
  ASSERT_TRUE(loaded.card);
  ModelCard expected = full_card();
  expected.source_sha256 = loaded.card->source_sha256;  // convert records the source file's SHA-256
  EXPECT_EQ(loaded.card->source_sha256.size(), 64U);
  EXPECT_EQ(model_card_json(*loaded.card), model_card_json(expected));
  EXPECT_EQ(loaded.config.downsample(), Merging::v2);
  EXPECT_FALSE(loaded.config.normalize());
  EXPECT_EQ(read_embedded_model_card(dir / "out.safetensors")->name, "fixture smt_f12_mergingv2_e3");
  EXPECT_FALSE(read_embedded_model_card(plain));

  // inspect shows it.
  const auto shown = test::run_swinsmt("inspect " + test::quoted(dir / "out.safetensors"));
  ASSERT_EQ(shown.code, 0) << shown.output;
  EXPECT_NE(shown.output.find("model card:  fixture smt_f12_mergingv2_e3 (schema version 1)"), std::string::npos)
      << shown.output;
  EXPECT_NE(shown.output.find("labels:        3: 1 spleen, 2 kidney_right, 3 liver"), std::string::npos);
  EXPECT_NE(shown.output.find("back to the input grid: probabilities_linear"), std::string::npos);
  const auto as_json = test::run_swinsmt("inspect --json " + test::quoted(dir / "out.safetensors"));
  ASSERT_EQ(as_json.code, 0) << as_json.output;
  EXPECT_EQ(json::parse(as_json.output)["model_card"]["network"]["merging"], "mergingv2");
}

TEST(ModelCard, ConvertRefusesACardThatContradictsTheTensors) {
  test::ScratchDir dir("card_refused");
  const std::string plain = write_fixture(dir, "plain.safetensors", std::nullopt);
  const auto run = test::run_swinsmt("convert " + test::quoted(plain) + " " + test::quoted(dir / "out.safetensors") +
                                     " --card " + test::quoted(test::source_path("weights/btcv_swinunetr.card.json")));
  EXPECT_EQ(run.code, 1);
  EXPECT_NE(run.output.find("btcv_swinunetr.card.json says 13 labels, so out_channels 14, but tensor "
                            "out.conv.conv.weight in " +
                            plain + " has 4 output channels"),
            std::string::npos)
      << run.output;
  EXPECT_FALSE(std::ifstream(dir / "out.safetensors").good());
  // A card naming another source file is refused too.
  ModelCard card = full_card();
  card.source_sha256 = std::string(64, 'a');
  write_text(dir / "card.json", model_card_json(card));
  const auto other = test::run_swinsmt("convert " + test::quoted(plain) + " " + test::quoted(dir / "out.safetensors") +
                                       " --card " + test::quoted(dir / "card.json"));
  EXPECT_EQ(other.code, 1);
  EXPECT_NE(other.output.find("says provenance.source_sha256 aaaa"), std::string::npos) << other.output;
}
