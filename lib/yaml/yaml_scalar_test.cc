#include "lib/yaml/yaml_scalar.h"

#include "gtest/gtest.h"
#include "lib/yaml/yaml_json.h"

namespace coldstart {
namespace {

TEST(GoYamlScalarTest, PlainWhenItReadsBackAsTheSameString) {
  EXPECT_EQ(GoYamlScalar("siderolabs/qemu-guest-agent"),
            "siderolabs/qemu-guest-agent");
  EXPECT_EQ(GoYamlScalar("console=ttyS0"), "console=ttyS0");
}

TEST(GoYamlScalarTest, QuotedWhenYamlWouldReadSomethingElse) {
  EXPECT_EQ(GoYamlScalar("yes"), "\"yes\"");
  EXPECT_EQ(GoYamlScalar("Off"), "\"Off\"");
  EXPECT_EQ(GoYamlScalar("~"), "\"~\"");
  EXPECT_EQ(GoYamlScalar("0644"), "\"0644\"");
  EXPECT_EQ(GoYamlScalar("-1"), "\"-1\"");
  EXPECT_EQ(GoYamlScalar(""), "\"\"");
  EXPECT_EQ(GoYamlScalar("a b"), "\"a b\"");
  EXPECT_EQ(GoYamlScalar("say \"hi\" \\"), "\"say \\\"hi\\\" \\\\\"");
}

TEST(GoYamlScalarTest, EveryOutputReadsBackAsTheInputString) {
  for (const char* text :
       {"yes", "no", "on", "true", "null", "~", "1.5", "0x10", "-", "a: b",
        "#x", "plain", "with space", "quote\"d", "back\\slash", "@at"}) {
    absl::StatusOr<nlohmann::json> json =
        YamlToJson(std::string("k: ") + GoYamlScalar(text) + "\n", "t");
    ASSERT_TRUE(json.ok()) << text << ": " << json.status();
    ASSERT_TRUE((*json)["k"].is_string()) << text;
    EXPECT_EQ((*json)["k"].get<std::string>(), text);
  }
}

}  // namespace
}  // namespace coldstart
