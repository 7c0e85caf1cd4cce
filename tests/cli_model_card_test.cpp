// `swinsmt segment` with model cards (issue 18): defaults from the card, flags over them, a .pth with
// --card equal to the converted file, the notice without a card, and the BTCV parity run against
// the MONAI bundle's own inference pipeline.
#include "fixtures.hpp"
#include "test_support.hpp"

#include <swinsmt/io/nifti.hpp>

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <iostream>

using namespace swinsmt;

namespace {

using test::quoted;

std::string convert(const std::string& checkpoint, const std::string& output, const std::string& card) {
  const auto run =
      test::run_swinsmt("convert " + quoted(checkpoint) + " " + quoted(output) + " --card " + quoted(card));
  EXPECT_EQ(run.code, 0) << run.output;
  return output;
}

}  // namespace

TEST(CliModelCard, PthWithCardEqualsConvertedFile) {
  test::ScratchDir dir("card_pth");
  const std::string ct = test::data_path("example_ct_sm.nii.gz");
  const std::string card = test::source_path("weights/swinsmt_f12_random.card.json");
  const std::string converted = convert(test::example_weights(), dir / "example.safetensors", card);
  // --spacing 6 (one padded 64^3 window) keeps the test fast; it overrides the card's "native".
  const auto from_pth = test::run_swinsmt(test::segment_args(ct, dir / "pth.nii.gz") + " --card " + quoted(card) +
                                          " --spacing 6 --threads 2");
  ASSERT_EQ(from_pth.code, 0) << from_pth.output;
  const auto from_file = test::run_swinsmt("segment -i " + quoted(ct) + " -o " + quoted(dir / "converted.nii.gz") +
                                           " --weights " + quoted(converted) + " --spacing 6 --threads 2");
  ASSERT_EQ(from_file.code, 0) << from_file.output;
  for (const auto* run : {&from_pth, &from_file}) {
    EXPECT_NE(run->output.find("from card: spacing native, HU -1024..1024, roi 64 (--spacing given here instead)"),
              std::string::npos)
        << run->output;
    EXPECT_EQ(run->output.find("has no model card"), std::string::npos) << run->output;
  }
  EXPECT_TRUE(at::equal(io::read_nifti(dir / "pth.nii.gz").data, io::read_nifti(dir / "converted.nii.gz").data));

  // Without a card: the built-in defaults, said in one line.
  const auto plain = test::run_swinsmt(test::fast_segment_args(ct, dir / "plain.nii.gz") + " --threads 2");
  ASSERT_EQ(plain.code, 0) << plain.output;
  EXPECT_NE(plain.output.find(test::example_weights() +
                              " has no model card: using the built-in TotalSegmentator defaults and labels"),
            std::string::npos)
      << plain.output;
  EXPECT_EQ(plain.output.find("from card"), std::string::npos);
  EXPECT_TRUE(at::equal(io::read_nifti(dir / "plain.nii.gz").data, io::read_nifti(dir / "pth.nii.gz").data));
}

// tests/data/btcv_swinunetr_f12.pth: a MONAI SwinUNETR (feature 12, 14 classes) with perturbed
// weights; tests/data/example_ct_sm_btcv_ref_labels.nii.gz: the BTCV bundle's inference pipeline on
// tests/data/example_ct_sm.nii.gz with it (tools/make_btcv_reference.py, MONAI 1.3.2).
TEST(CliModelCard, BtcvCardMatchesTheBundlesPipeline) {
  test::ScratchDir dir("card_btcv");
  const std::string ct = test::data_path("example_ct_sm.nii.gz");
  const std::string converted = convert(test::data_path("btcv_swinunetr_f12.pth"), dir / "btcv.safetensors",
                                        test::source_path("weights/btcv_swinunetr.card.json"));
  // No preprocessing flag: everything comes from the card.
  const auto run = test::run_swinsmt("segment -i " + quoted(ct) + " -o " + quoted(dir / "out/labels.nii.gz") +
                                     " --weights " + quoted(converted) + " --statistics --threads 2");
  ASSERT_EQ(run.code, 0) << run.output;
  EXPECT_NE(run.output.find("from card: spacing 1.5 x 1.5 x 2.0 mm, HU -175..250, roi 96\n"), std::string::npos)
      << run.output;
  const at::Tensor ours = io::read_nifti(dir / "out/labels.nii.gz").data;
  const at::Tensor reference = io::read_nifti(test::data_path("example_ct_sm_btcv_ref_labels.nii.gz")).data;
  ASSERT_EQ(ours.sizes(), reference.sizes());
  const double agreement = ours.eq(reference).to(at::kDouble).mean().item<double>();
  std::cout << "BTCV labels agree with the MONAI bundle pipeline in " << agreement * 100 << " % of "
            << reference.numel() << " voxels\n";
  EXPECT_GE(agreement, 0.9999);

  // Statistics carry the card's 13 names (label 5 is the oesophagus here, the liver in TotalSegmentator).
  std::ifstream in(dir / "out/statistics.json");
  const auto statistics = nlohmann::json::parse(in);
  EXPECT_EQ(statistics.size(), 13U);
  ASSERT_TRUE(statistics.contains("esophagus"));
  EXPECT_EQ(statistics["esophagus"]["label"], 5);
  EXPECT_TRUE(statistics.contains("portal_vein_and_splenic_vein"));
}
