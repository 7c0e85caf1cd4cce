// The embedded label table against the shipped JSON, and name lookups.
#include "test_support.hpp"

#include <swinsmt/error.hpp>
#include <swinsmt/pipeline/labels.hpp>

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>

using namespace swinsmt;

TEST(Labels, EmbeddedTableEqualsShippedJson) {
  std::ifstream in(test::source_path("data/totalseg_v2_labels.json"));
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto shipped = parse_label_table(text, "data/totalseg_v2_labels.json");
  EXPECT_EQ(labels(), shipped);
  ASSERT_EQ(labels().size(), 117u);
  EXPECT_EQ(labels().begin()->first, 1);
  EXPECT_EQ(labels().rbegin()->first, 117);
  EXPECT_EQ(label_name(1), "spleen");
  EXPECT_EQ(label_name(5), "liver");
  EXPECT_EQ(label_name(117), "costal_cartilages");
  EXPECT_EQ(label_name(200), "label_200");
}

TEST(Labels, NamesToIdsAndCloseMatches) {
  EXPECT_EQ(label_ids({"liver", "spleen", "aorta"}), (std::vector<int>{5, 1, 52}));
  try {
    label_ids({"livr"});
    FAIL() << "no error for an unknown name";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("unknown structure name \"livr\""), std::string::npos) << message;
    EXPECT_NE(message.find("liver"), std::string::npos) << message;
  }
  const auto close = closest_label_names("kidney");
  ASSERT_FALSE(close.empty());
  EXPECT_NE(close[0].find("kidney"), std::string::npos);
  EXPECT_THROW(parse_label_table("{\"x\": \"a\"}", "t.json"), Error);
  EXPECT_THROW(parse_label_table("[1]", "t.json"), Error);
}
