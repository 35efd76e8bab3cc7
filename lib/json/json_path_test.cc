#include "lib/json/json_path.h"

#include "gtest/gtest.h"

namespace coldstart {
namespace {

TEST(JsonPathTest, ReadsNestedValuesAndFallsBackWithoutThrowing) {
  const nlohmann::json pod = nlohmann::json::parse(
      R"({"metadata":{"name":"p","namespace":"ns","generation":3},
          "spec":"not-an-object"})");
  EXPECT_EQ(JsonString(pod, {"metadata", "namespace"}), "ns");
  EXPECT_EQ(JsonInt(pod, {"metadata", "generation"}), 3);
  EXPECT_EQ(JsonString(pod, {"metadata", "missing"}, "dflt"), "dflt");
  EXPECT_EQ(JsonString(pod, {"metadata", "generation"}), "");  // not a string
  EXPECT_EQ(JsonInt(pod, {"metadata", "name"}, -1), -1);       // not a number
  EXPECT_EQ(JsonAt(pod, {"spec", "containers"}), nullptr);     // not an object
  EXPECT_EQ(JsonAt(nlohmann::json::array(), {"x"}), nullptr);
  ASSERT_NE(JsonAt(pod, {}), nullptr);
}

}  // namespace
}  // namespace coldstart
