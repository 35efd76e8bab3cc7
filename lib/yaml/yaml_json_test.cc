#include "lib/yaml/yaml_json.h"

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace coldstart {
namespace {

using Json = nlohmann::json;
using ::testing::HasSubstr;
using ::testing::StartsWith;

Json One(const std::string& yaml) {
  absl::StatusOr<Json> j = YamlToJson(yaml, "t.yaml");
  EXPECT_TRUE(j.ok()) << j.status();
  return j.ok() ? *j : Json();
}

// The value of `v: <scalar>`, dumped, so the JSON type shows.
std::string Value(const std::string& scalar) {
  return One("v: " + scalar + "\n")["v"].dump();
}

absl::Status ErrorOf(const std::string& yaml) {
  return YamlDocumentsToJson(yaml, "t.yaml").status();
}

std::string Message(const absl::Status& status) {
  return std::string(status.message());
}

TEST(YamlJsonTest, QuotedScalarsStayStrings) {
  EXPECT_EQ(Value("'true'"), R"("true")");
  EXPECT_EQ(Value("\"true\""), R"("true")");
  EXPECT_EQ(Value("'7445'"), R"("7445")");
  EXPECT_EQ(Value("\"null\""), R"("null")");
  EXPECT_EQ(Value("''"), R"("")");
  EXPECT_EQ(Value("|\n  a\n  b"), R"("a\nb\n")");
  EXPECT_EQ(Value(">-\n  a\n  b"), R"("a b")");
  EXPECT_EQ(Value("!!str 12"), R"("12")");
  EXPECT_EQ(Value("!!str true"), R"("true")");
}

TEST(YamlJsonTest, PlainScalarsResolveAsKubectlDoes) {
  EXPECT_EQ(Value("true"), "true");
  EXPECT_EQ(Value("False"), "false");
  EXPECT_EQ(Value("yes"), "true");  // YAML 1.1, as go-yaml v2
  EXPECT_EQ(Value("off"), "false");
  EXPECT_EQ(Value("~"), "null");
  EXPECT_EQ(Value("null"), "null");
  EXPECT_EQ(Value(""), "null");
  EXPECT_EQ(Value("42"), "42");
  EXPECT_EQ(Value("-7"), "-7");
  EXPECT_EQ(Value("0644"), "420");  // octal, e.g. defaultMode
  EXPECT_EQ(Value("0o17"), "15");
  EXPECT_EQ(Value("0x1F"), "31");
  EXPECT_EQ(Value("0b101"), "5");
  EXPECT_EQ(Value("1_000"), "1000");
  EXPECT_EQ(Value("9223372036854775807"), "9223372036854775807");
  EXPECT_EQ(Value("18446744073709551615"), "18446744073709551615");
  EXPECT_EQ(Value("1.5"), "1.5");
  EXPECT_EQ(Value(".5"), "0.5");
  EXPECT_EQ(Value("3.0"), "3");  // as Go's encoding/json writes it
  EXPECT_EQ(Value("1e3"), "1000");
  EXPECT_EQ(Value("09"), "9");  // not octal, so a float, written as 9
  EXPECT_EQ(Value("2001-12-14"), R"("2001-12-14")");
  EXPECT_EQ(Value("1.2.3"), R"("1.2.3")");
  EXPECT_EQ(Value("0x"), R"("0x")");
  EXPECT_EQ(Value("hello world"), R"("hello world")");
  EXPECT_EQ(Value("NaN"), R"("NaN")");
  EXPECT_TRUE(One("v: 42\n")["v"].is_number_integer());
  EXPECT_TRUE(One("v: 1.5\n")["v"].is_number_float());
}

TEST(YamlJsonTest, ExplicitCoreTagsMustMatch) {
  EXPECT_EQ(Value("!!int \"7\""), "7");
  EXPECT_EQ(Value("!!float 1"), "1");
  EXPECT_EQ(Value("!custom 3"), R"("3")");
  absl::Status s = ErrorOf("a: 1\nb: !!int x\n");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "t.yaml:2:4: cannot decode !!str `x` as a !!int");
}

TEST(YamlJsonTest, NestedMapsAndLists) {
  Json j =
      One("spec:\n"
          "  replicas: 3\n"
          "  template:\n"
          "    spec:\n"
          "      containers:\n"
          "      - name: c\n"
          "        env:\n"
          "        - {name: A, value: \"1\"}\n"
          "        ports: [80, 443]\n"
          "      empty: []\n"
          "      none: {}\n");
  EXPECT_EQ(j, Json::parse(R"({"spec": {"replicas": 3, "template": {"spec": {
      "containers": [{"name": "c", "env": [{"name": "A", "value": "1"}],
                      "ports": [80, 443]}],
      "empty": [], "none": {}}}}})"));
}

TEST(YamlJsonTest, KeysBecomeText) {
  EXPECT_EQ(One("yes: a\n0x10: b\n'on': c\n1.50: d\n"),
            Json::parse(R"({"true": "a", "16": "b", "on": "c", "1.50": "d"})"));
  absl::Status s = ErrorOf("? [1]\n: x\n");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(s), StartsWith("t.yaml:1:3: a map key is a map"));
  EXPECT_THAT(Message(ErrorOf("~: x\n")), HasSubstr("a map key is null"));
}

TEST(YamlJsonTest, AnchorsAliasesAndMergeKeys) {
  Json j =
      One("base: &b {p: 1, q: 2}\n"
          "other: &o {q: 3, r: 4}\n"
          "m:\n  <<: *b\n  q: 9\n"
          "l:\n  <<: [*b, *o]\n"
          "copy: *b\n");
  EXPECT_EQ(j["m"], Json::parse(R"({"p": 1, "q": 9})"));
  EXPECT_EQ(j["l"], Json::parse(R"({"p": 1, "q": 2, "r": 4})"));
  EXPECT_EQ(j["copy"], j["base"]);
  EXPECT_THAT(Message(ErrorOf("m:\n  <<: 3\n")),
              HasSubstr("t.yaml:2:7: map merge requires map"));
}

TEST(YamlJsonTest, RecursiveAliasIsAnErrorNotACrash) {
  absl::Status s = ErrorOf("a: &x [*x]\n");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(s), HasSubstr("recursive alias"));
}

TEST(YamlJsonTest, AliasBombIsRefused) {
  std::string yaml = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i <= 8; ++i) {
    std::string list;
    for (int k = 0; k < 10; ++k) {
      list += (k ? ", *a" : "*a") + std::to_string(i - 1);
    }
    yaml += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [" + list +
            "]\n";
  }
  EXPECT_THAT(Message(ErrorOf(yaml)), HasSubstr("aliases expand"));
}

TEST(YamlJsonTest, InfinityAndNanAreNotJson) {
  absl::Status s = ErrorOf("a:\n  b: .inf\n");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(s), StartsWith("t.yaml:2:6: \".inf\" is not a JSON"));
  EXPECT_EQ(Value("'.nan'"), R"(".nan")");
}

TEST(YamlJsonTest, MultipleDocumentsSkipEmptyOnes) {
  absl::StatusOr<std::vector<JsonDocument>> docs =
      YamlDocumentsToJsonWithPositions(
          "---\n# only a comment\n---\na: 1\n---\n---\nnull\n---\n"
          "- x\n...\n---\nb: 'two'\n---\n",
          "t.yaml");
  ASSERT_TRUE(docs.ok()) << docs.status();
  ASSERT_EQ(docs->size(), 3u);
  EXPECT_EQ((*docs)[0].value, Json::parse(R"({"a": 1})"));
  EXPECT_EQ((*docs)[0].line, 4);
  EXPECT_EQ((*docs)[0].column, 1);
  EXPECT_EQ((*docs)[1].value, Json::parse(R"(["x"])"));
  EXPECT_EQ((*docs)[1].line, 9);
  EXPECT_EQ((*docs)[2].value, Json::parse(R"({"b": "two"})"));

  absl::StatusOr<std::vector<Json>> values =
      YamlDocumentsToJson("a: 1\n---\nb: 2\n", "t.yaml");
  ASSERT_TRUE(values.ok()) << values.status();
  EXPECT_EQ(*values, (std::vector<Json>{Json::parse(R"({"a": 1})"),
                                        Json::parse(R"({"b": 2})")}));
  values = YamlDocumentsToJson("", "t.yaml");
  ASSERT_TRUE(values.ok());
  EXPECT_TRUE(values->empty());
}

TEST(YamlJsonTest, YamlToJsonWantsExactlyOneDocument) {
  EXPECT_EQ(One("---\n# c\n---\n{\"a\": [1, \"b\"]}\n"),
            Json::parse(R"({"a": [1, "b"]})"));
  EXPECT_EQ(YamlToJson("a: 1\n---\nb: 2\n", "t.yaml").status().message(),
            "t.yaml: expected one YAML document, found 2");
  EXPECT_EQ(YamlToJson("# nothing\n", "t.yaml").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(YamlJsonTest, SyntaxErrorsCarryFileLineColumn) {
  absl::Status s = ErrorOf("apiVersion: v1\nkind: [\n");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "t.yaml:3:1: end of sequence flow not found");
  s = ErrorOf("a: 1\n---\nb:\n  - x\n   y: 2\n");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(s), StartsWith("t.yaml:5:"));
  s = YamlToJson("a: [\n", "").status();
  EXPECT_THAT(Message(s), StartsWith("2:1: "));
}

}  // namespace
}  // namespace coldstart
