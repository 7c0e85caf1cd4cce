// The model card's codes and colours (issue 18): the shipped cards carry the built-in table's codes
// and colours (generated from src/io/structure_codes.cpp), a card's own codes and colours win over
// the table in the DICOM SEG, the RT-STRUCT and the preview, and the preview's legend names and
// colours the structures it shows.
#include "dicom_seg_support.hpp"
#include "fixtures.hpp"
#include "pipeline/bitmap_font.hpp"
#include "test_support.hpp"

#include <swinsmt/checkpoint/model_card.hpp>
#include <swinsmt/io/dicom.hpp>
#include <swinsmt/io/dicom_source.hpp>
#include <swinsmt/io/nifti.hpp>
#include <swinsmt/io/segment_description.hpp>
#include <swinsmt/io/structure_codes.hpp>
#include <swinsmt/pipeline/label_descriptions.hpp>
#include <swinsmt/pipeline/labels.hpp>
#include <swinsmt/pipeline/preview.hpp>
#include <swinsmt/pipeline/segmentation_writer.hpp>

#include <ATen/ATen.h>
#include <dcmtk/config/osconfig.h>  // first of DCMTK's headers
#include <dcmtk/dcmiod/cielabutil.h>
#include <gtest/gtest.h>
#include <png.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>

using namespace swinsmt;
namespace fs = std::filesystem;

namespace {

using json = nlohmann::json;

const char* const kShippedCards[] = {"swinsmt_totalsegmentator.card.json", "swinsmt_f12_random.card.json",
                                     "btcv_swinunetr.card.json"};

bool in_table(const std::string& name) {
  for (const auto& c : io::structure_codes())
    if (c.name == name) return true;
  return false;
}

void expect_concept(const std::optional<CodedConcept>& card, const std::optional<io::CodedConcept>& table,
                    const std::string& what) {
  ASSERT_EQ(card.has_value(), table.has_value()) << what;
  if (!card) return;
  EXPECT_EQ(card->code, table->value) << what;
  EXPECT_EQ(card->scheme, table->scheme) << what;
  EXPECT_EQ(card->meaning, table->meaning) << what;
}

bool same(const io::CodedConcept& a, const io::CodedConcept& b) {
  return a.value == b.value && a.scheme == b.scheme && a.meaning == b.meaning;
}
bool same(const std::optional<io::CodedConcept>& a, const std::optional<io::CodedConcept>& b) {
  return a.has_value() == b.has_value() && (!a || same(*a, *b));
}

std::vector<int> dicom_lab(const std::array<uint8_t, 3>& rgb) {
  double L = 0, a = 0, b = 0;
  IODCIELabUtil::rgb2DicomLab(L, a, b, rgb[0] / 255.0, rgb[1] / 255.0, rgb[2] / 255.0);
  return {static_cast<int>(std::lround(L)), static_cast<int>(std::lround(a)), static_cast<int>(std::lround(b))};
}

std::string colour_string(const std::array<uint8_t, 3>& rgb) {
  return std::to_string(rgb[0]) + "\\" + std::to_string(rgb[1]) + "\\" + std::to_string(rgb[2]);
}

CodedConcept concept_of(const std::string& code, const std::string& scheme, const std::string& meaning) {
  CodedConcept c;
  c.code = code;
  c.scheme = scheme;
  c.meaning = meaning;
  return c;
}

/// 117 labels none of whose names the built-in table holds except "spleen" (1, colour only), each
/// with codes of its own: 2 with a Right modifier, 3 with an anatomic region and a Left modifier,
/// 10 without a colour, private-scheme categories.
std::vector<CardLabel> custom_labels() {
  std::vector<CardLabel> labels;
  for (int v = 1; v <= 117; ++v) {
    CardLabel l;
    l.value = v;
    l.name = "organ_" + std::to_string(v);
    l.type = concept_of(std::to_string(900000000 + v), "SCT", "Test organ " + std::to_string(v));
    l.category = concept_of("T" + std::to_string(v), "99SWINSMT", "Test category " + std::to_string(v));
    l.color = std::array<int, 3>{(v * 37) % 256, (v * 91) % 256, (v * 13) % 256};
    labels.push_back(l);
  }
  labels[0].name = "spleen";
  labels[0].type.reset();
  labels[0].category.reset();
  labels[0].color = std::array<int, 3>{1, 2, 3};
  labels[1].modifier = concept_of("24028007", "SCT", "Right");
  labels[2].region = concept_of("64033007", "SCT", "Kidney");
  labels[2].modifier = concept_of("7771000", "SCT", "Left");
  labels[9].color.reset();
  return labels;
}

std::array<uint8_t, 3> rgb_of(const std::array<int, 3>& c) {
  return {static_cast<uint8_t>(c[0]), static_cast<uint8_t>(c[1]), static_cast<uint8_t>(c[2])};
}

/// The PNG at `path` as 8-bit RGB (libpng's simplified API).
RgbImage read_png(const std::string& path) {
  png_image image{};
  image.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_file(&image, path.c_str())) throw std::runtime_error(path + ": " + image.message);
  image.format = PNG_FORMAT_RGB;
  RgbImage out;
  out.width = static_cast<int>(image.width);
  out.height = static_cast<int>(image.height);
  out.pixels.resize(PNG_IMAGE_SIZE(image));
  if (!png_image_finish_read(&image, nullptr, out.pixels.data(), 0, nullptr))
    throw std::runtime_error(path + ": " + image.message);
  return out;
}

std::array<uint8_t, 3> pixel(const RgbImage& image, int x, int y) {
  const uint8_t* p = &image.pixels[(static_cast<size_t>(y) * image.width + x) * 3];
  return {p[0], p[1], p[2]};
}

/// Every legend entry of `preview`: the swatch filled with its colour, the name drawn with the font
/// in light grey on black.
void expect_legend_drawn(const PreviewImage& preview) {
  for (const auto& e : preview.legend) {
    SCOPED_TRACE(e.name);
    ASSERT_GE(e.swatch_y, preview.legend_top);
    int wrong = 0;
    for (int y = 0; y < e.swatch_size; ++y)
      for (int x = 0; x < e.swatch_size; ++x) wrong += pixel(preview, e.swatch_x + x, e.swatch_y + y) != e.colour;
    EXPECT_EQ(wrong, 0);
    const std::array<uint8_t, 3> ink{230, 230, 230}, paper{0, 0, 0};
    wrong = 0;
    for (size_t i = 0; i < e.name.size(); ++i) {
      const auto& rows = swinsmt::detail::glyph(e.name[i]);
      for (int r = 0; r < swinsmt::detail::kGlyphHeight; ++r)
        for (int c = 0; c < swinsmt::detail::kGlyphAdvance; ++c) {
          const bool set =
              c < swinsmt::detail::kGlyphWidth && (rows[r] & (1 << (swinsmt::detail::kGlyphWidth - 1 - c)));
          const int x = e.text_x + static_cast<int>(i) * swinsmt::detail::kGlyphAdvance + c;
          if (x >= preview.width) continue;
          wrong += pixel(preview, x, e.text_y + r) != (set ? ink : paper);
        }
    }
    EXPECT_EQ(wrong, 0);
  }
}

}  // namespace

TEST(ModelCardCodes, ShippedCardsCarryTheTableCodes) {
  // tools/make_model_cards.py writes the codes from src/io/structure_codes.cpp; this keeps them equal.
  for (const char* file : kShippedCards) {
    SCOPED_TRACE(file);
    const ModelCard card = read_model_card(test::source_path(std::string("weights/") + file));
    for (const auto& label : card.labels) {
      SCOPED_TRACE(label.name);
      // Every shipped label is a TotalSegmentator structure (BTCV's 13 organs too).
      ASSERT_TRUE(in_table(label.name));
      const io::SegmentDescription table = io::segment_description(label.name);
      ASSERT_TRUE(label.type && label.category && label.color);
      expect_concept(label.type, table.type, "type");
      expect_concept(label.category, table.category, "category");
      expect_concept(label.modifier, table.modifier, "modifier");
      expect_concept(label.region, table.region, "region");
      EXPECT_EQ(rgb_of(*label.color), table.rgb);
    }
  }
}

TEST(ModelCardCodes, TheShippedCardDescribesEveryStructureAsTheTableDoes) {
  const ModelCard card = read_model_card(test::source_path("weights/swinsmt_totalsegmentator.card.json"));
  ASSERT_EQ(card.label_names(), labels());
  for (const auto& [id, name] : labels()) {
    const io::SegmentDescription from_card = describe_label(id, name, card.labels);
    const io::SegmentDescription from_table = io::segment_description(name);
    EXPECT_EQ(from_card.name, from_table.name);
    EXPECT_TRUE(same(from_card.category, from_table.category)) << name;
    EXPECT_TRUE(same(from_card.type, from_table.type)) << name;
    EXPECT_TRUE(same(from_card.modifier, from_table.modifier)) << name;
    EXPECT_TRUE(same(from_card.region, from_table.region)) << name;
    EXPECT_EQ(from_card.rgb, from_table.rgb) << name;
    // Without a card: the table by name, as before cards had codes.
    const io::SegmentDescription without = describe_label(id, name, {});
    EXPECT_TRUE(same(without.type, from_table.type) && same(without.modifier, from_table.modifier)) << name;
    // The preview: the card's colour; without one, label_colour as before.
    EXPECT_EQ(preview_colour(id, card.labels), from_table.rgb);
    EXPECT_EQ(preview_colour(id, {}), label_colour(id));
  }
}

TEST(ModelCardCodes, CodesComeAsASet) {
  json card = json::parse(std::ifstream(test::source_path("weights/btcv_swinunetr.card.json")));
  card["labels"][1].erase("category");
  std::string error = test::error_of([&] { parse_model_card(card.dump(), "card.json"); });
  EXPECT_NE(error.find("card.json: model card key \"labels[1].category\" is missing: \"type\" and \"category\" come "
                       "together"),
            std::string::npos)
      << error;
  card["labels"][1].erase("type");  // modifier (kidney_right) without type and category
  error = test::error_of([&] { parse_model_card(card.dump(), "card.json"); });
  EXPECT_NE(error.find("\"labels[1].modifier\" needs \"type\" and \"category\" beside it"), std::string::npos) << error;
  card["labels"][1].erase("modifier");
  card["labels"][1]["color"] = {1, 2, 3};  // a colour alone is fine
  const ModelCard parsed = parse_model_card(card.dump(), "card.json");
  EXPECT_FALSE(parsed.labels[1].type);
  // Round trip of every code (the official card has modifiers and regions).
  const ModelCard official = read_model_card(test::source_path("weights/swinsmt_totalsegmentator.card.json"));
  const ModelCard again = parse_model_card(model_card_json(official), "again");
  EXPECT_EQ(model_card_json(again), model_card_json(official));
  ASSERT_TRUE(again.labels[22].region && again.labels[22].modifier);  // kidney_cyst_left
  EXPECT_EQ(again.labels[22].region->meaning, "Kidney");
  EXPECT_EQ(again.labels[22].modifier->code, "7771000");
}

TEST(ModelCardCodes, ACardsOwnCodesAndColoursGoIntoTheSegRtStructAndPreview) {
  test::ScratchDir dir("card_codes");
  const std::string series = test::data_path("dicom_series_uids");
  const io::DicomSource source = io::read_dicom_source(series);
  const io::Volume ct = io::read_dicom_series(series);
  // spleen 1, kidney_right 2, kidney_left 3, lung_upper_lobe_left 10, lung_upper_lobe_right 12.
  const at::Tensor labels = test::labels_from_positions(source, test::structure_blocks);
  const std::vector<CardLabel> card = custom_labels();

  WriterOptions options;
  options.types = {OutputType::dicom_seg, OutputType::rtstruct};
  options.preview = true;
  options.card_labels = card;
  options.dicom = test::test_output_info('b');
  const SegmentationWriter writer(dir / "out", find_ct_inputs({series}), options);
  writer.write(0, ct, labels, 117, &source);
  EXPECT_EQ(test::list_files(dir / "out"),
            (std::vector<std::string>{"preview.png", "rtstruct.dcm", "seg.dcm", "swinsmt.json"}));

  // The expected colour of each: the card's; label 10 has none and a name the table does not hold,
  // so label_colour(10); spleen has only a colour, so the table's codes.
  const auto colour_of = [&](int id) {
    const CardLabel& l = card[static_cast<size_t>(id - 1)];
    return l.color ? rgb_of(*l.color) : label_colour(id);
  };
  const test::DecodedSeg seg = test::decode_seg(dir / "out/seg.dcm");
  const std::vector<int> ids{1, 2, 3, 10, 12};
  ASSERT_EQ(seg.segments.size(), ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    const int id = ids[i];
    const CardLabel& l = card[static_cast<size_t>(id - 1)];
    const auto& s = seg.segments[i];
    SCOPED_TRACE(l.name);
    EXPECT_EQ(s.label, l.name);
    if (id == 1) {
      const io::StructureCode& table = io::structure_code("spleen");
      EXPECT_EQ(s.type_code, table.type.value);
      EXPECT_EQ(s.category_code, table.category.value);
    } else {
      EXPECT_EQ(s.type_code, l.type->code);
      EXPECT_EQ(s.type_scheme, l.type->scheme);
      EXPECT_EQ(s.type_meaning, l.type->meaning);
      EXPECT_EQ(s.category_code, l.category->code);
      EXPECT_EQ(s.category_scheme, "99SWINSMT");
      EXPECT_EQ(s.category_meaning, l.category->meaning);
    }
    EXPECT_EQ(s.modifier_code, id == 2 ? "24028007" : id == 3 ? "7771000" : "");
    EXPECT_EQ(s.region_code, id == 3 ? "64033007" : "");
    EXPECT_EQ(s.region_modifier_code, id == 3 ? "7771000" : "");
    EXPECT_EQ(s.lab, dicom_lab(colour_of(id)));
  }

  const test::DecodedRtStruct rt = test::decode_rtstruct(dir / "out/rtstruct.dcm");
  ASSERT_EQ(rt.rois.size(), ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    EXPECT_EQ(rt.rois[i].name, card[static_cast<size_t>(ids[i] - 1)].name);
    EXPECT_EQ(rt.rois[i].colour, colour_string(colour_of(ids[i])));
  }

  // The preview: the card's colours and names, exactly what render_preview draws with them.
  PreviewOptions preview_options;
  for (const auto& l : card) {
    preview_options.names[l.value] = l.name;
    if (l.color) preview_options.colours[l.value] = rgb_of(*l.color);
  }
  const PreviewImage expected = render_preview(ct, labels, preview_options);
  const RgbImage png = read_png(dir / "out/preview.png");
  EXPECT_EQ(png.width, expected.width);
  EXPECT_EQ(png.height, expected.height);
  EXPECT_TRUE(png.pixels == expected.pixels);
  ASSERT_FALSE(expected.legend.empty());
  for (const auto& e : expected.legend) {
    EXPECT_EQ(e.name, card[static_cast<size_t>(e.label - 1)].name);
    EXPECT_EQ(e.colour, preview_colour(e.label, card));
  }
  expect_legend_drawn(expected);
}

TEST(ModelCardCodes, AStructureWithoutCodesIsAnErrorBeforeAnyInference) {
  test::ScratchDir dir("card_codes_missing");
  const std::string series = test::data_path("dicom_series_uids");
  std::vector<CardLabel> card = custom_labels();
  card[4].type.reset();  // organ_5: a name the table does not hold, no codes
  card[4].category.reset();
  WriterOptions options;
  options.types = {OutputType::dicom_seg};
  options.card_labels = card;
  const std::string error =
      test::error_of([&] { SegmentationWriter(dir / "seg.dcm", find_ct_inputs({series}), options); });
  EXPECT_NE(error.find("structure \"organ_5\" (label 5) has no DICOM codes: the model card gives it no \"type\" and "
                       "\"category\""),
            std::string::npos)
      << error;
  // Not kept, not written: no codes needed. NIfTI output needs none either.
  options.keep = {1, 2};
  EXPECT_NO_THROW(SegmentationWriter(dir / "seg.dcm", find_ct_inputs({series}), options));
  options.keep.clear();
  options.types = {OutputType::nifti};
  EXPECT_NO_THROW(SegmentationWriter(dir / "seg.nii.gz", find_ct_inputs({series}), options));
}

TEST(ModelCardCodes, SegmentTakesTheCodesAndColoursOfItsCard) {
  test::ScratchDir dir("cli_card_codes");
  // The example's card with every label renamed and given codes and a colour of its own.
  json card = json::parse(std::ifstream(test::source_path("weights/swinsmt_f12_random.card.json")));
  for (auto& label : card["labels"]) {
    const int v = label["value"].get<int>();
    label = {{"value", v},
             {"name", "organ_" + std::to_string(v)},
             {"type", {{"code", std::to_string(900000000 + v)}, {"scheme", "SCT"}, {"meaning", "Organ"}}},
             {"category", {{"code", "C" + std::to_string(v)}, {"scheme", "99SWINSMT"}, {"meaning", "Test"}}},
             {"color", {v, 255 - v, (v * 7) % 256}}};
  }
  std::ofstream(dir / "card.json") << card.dump();
  const std::string series = test::data_path("dicom_series_uids");
  const auto run =
      test::run_swinsmt(test::fast_segment_args(series, dir / "out") + " --card " + test::quoted(dir / "card.json") +
                        " --threads 2 --output-type dicom-seg --output-type rtstruct --preview");
  ASSERT_EQ(run.code, 0) << run.output;
  const test::DecodedSeg seg = test::decode_seg(dir / "out/seg.dcm");
  const test::DecodedRtStruct rt = test::decode_rtstruct(dir / "out/rtstruct.dcm");
  ASSERT_FALSE(seg.segments.empty());
  ASSERT_EQ(rt.rois.size(), seg.segments.size());
  for (size_t i = 0; i < seg.segments.size(); ++i) {
    const auto& s = seg.segments[i];
    ASSERT_EQ(s.label.rfind("organ_", 0), 0u) << s.label;
    const int v = std::stoi(s.label.substr(6));
    const std::array<uint8_t, 3> rgb{static_cast<uint8_t>(v), static_cast<uint8_t>(255 - v),
                                     static_cast<uint8_t>((v * 7) % 256)};
    EXPECT_EQ(s.type_code, std::to_string(900000000 + v));
    EXPECT_EQ(s.category_code, "C" + std::to_string(v));
    EXPECT_EQ(s.category_scheme, "99SWINSMT");
    EXPECT_EQ(s.modifier_code, "");  // the card gives none; "_left"/"_right" names are not looked up
    EXPECT_EQ(s.lab, dicom_lab(rgb));
    EXPECT_EQ(rt.rois[i].name, s.label);
    EXPECT_EQ(rt.rois[i].colour, colour_string(rgb));
  }
  EXPECT_TRUE(fs::file_size(dir / "out/preview.png") > 0);

  // A label without codes whose name the table does not hold: refused before the weights load.
  card["labels"][4].erase("type");
  card["labels"][4].erase("category");
  std::ofstream(dir / "card.json") << card.dump();
  const auto refused = test::run_swinsmt(test::fast_segment_args(series, dir / "refused") + " --card " +
                                         test::quoted(dir / "card.json") + " --output-type dicom-seg");
  EXPECT_EQ(refused.code, 1) << refused.output;
  EXPECT_NE(refused.output.find("structure \"organ_5\" (label 5) has no DICOM codes"), std::string::npos)
      << refused.output;
  EXPECT_FALSE(fs::exists(dir / "refused"));
}

TEST(Preview, LegendListsTheStructuresShownInTheirColours) {
  test::ScratchDir dir("preview_legend");
  // 40^3 at 1 mm, HU 40 inside the labels. Label 5 at the centre (all three views), 9 and 200 on
  // the axial middle slice only, 7 in a corner no middle slice crosses.
  at::Tensor data = at::full({40, 40, 40}, -1000, at::kShort);
  at::Tensor labels = at::zeros({40, 40, 40}, at::kByte);
  labels.slice(0, 14, 26).slice(1, 14, 26).slice(2, 14, 26).fill_(5);
  labels.slice(0, 2, 8).slice(1, 2, 8).slice(2, 18, 22).fill_(9);
  labels.slice(0, 30, 38).slice(1, 30, 38).slice(2, 18, 22).fill_(200);
  labels.slice(0, 0, 4).slice(1, 0, 4).slice(2, 0, 4).fill_(7);
  data.masked_fill_(labels.ne(0), 40);
  io::write_nifti(dir / "ct.nii.gz", data,
                  io::NiftiGeometry::from_affine(at::diag(at::tensor({1.0, 1.0, 1.0, 1.0}, at::kDouble))));
  const io::Volume ct = io::read_nifti(dir / "ct.nii.gz");

  PreviewOptions options;
  options.names = {{5, "my_liver"}, {7, "hidden"}, {200, "Zz-Top (9)"}};  // 9 unnamed: label_9
  options.colours = {{5, {12, 34, 56}}};
  const PreviewImage preview = render_preview(ct, labels, options);
  ASSERT_EQ(preview.legend.size(), 3u);
  EXPECT_EQ(preview.legend[0].label, 5);
  EXPECT_EQ(preview.legend[0].name, "my_liver");
  EXPECT_EQ(preview.legend[0].colour, (std::array<uint8_t, 3>{12, 34, 56}));
  EXPECT_EQ(preview.legend[1].name, "label_9");
  EXPECT_EQ(preview.legend[1].colour, label_colour(9));
  EXPECT_EQ(preview.legend[2].name, "Zz-Top (9)");
  EXPECT_EQ(preview.legend[2].colour, label_colour(200));
  EXPECT_GT(preview.height, preview.legend_top);
  expect_legend_drawn(preview);

  // The views blend the given colour: HU 40 is grey 127.5 in the default window, half and half.
  std::array<uint8_t, 3> blended{};
  for (int k = 0; k < 3; ++k) blended[k] = static_cast<uint8_t>(std::lround(0.5 * 127.5 + 0.5 * options.colours[5][k]));
  int found = 0;
  for (int y = 0; y < preview.legend_top; ++y)
    for (int x = 0; x < preview.width; ++x) found += pixel(preview, x, y) == blended;
  EXPECT_GT(found, 0);

  // Without a legend: only the views.
  options.legend = false;
  const PreviewImage plain = render_preview(ct, labels, options);
  EXPECT_TRUE(plain.legend.empty());
  EXPECT_EQ(plain.legend_top, plain.height);
  EXPECT_EQ(plain.height, preview.legend_top);
  // Nothing shown, no legend.
  options.legend = true;
  const PreviewImage empty = render_preview(ct, at::zeros_like(labels), options);
  EXPECT_TRUE(empty.legend.empty());
  EXPECT_EQ(empty.height, plain.height);

  // Written as PNG, decoded back unchanged.
  write_png(dir / "preview.png", preview);
  const RgbImage png = read_png(dir / "preview.png");
  EXPECT_EQ(png.width, preview.width);
  EXPECT_TRUE(png.pixels == preview.pixels);
}

TEST(Preview, FontCoversPrintableAscii) {
  // Every printable character but the space has ink; others fall back to '?'.
  for (int c = 33; c <= 126; ++c) {
    int ink = 0;
    for (uint8_t row : swinsmt::detail::glyph(static_cast<char>(c))) ink += row != 0;
    EXPECT_GT(ink, 0) << static_cast<char>(c);
  }
  EXPECT_EQ(&swinsmt::detail::glyph('\n'), &swinsmt::detail::glyph('?'));
  EXPECT_EQ(swinsmt::detail::text_width("abc"), 17);
  EXPECT_EQ(swinsmt::detail::text_width(""), 0);
}
