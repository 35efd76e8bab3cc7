#include "lib/cli/cluster_textproto.h"

#include <fstream>
#include <iterator>
#include <string>

#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"

namespace coldstart {
namespace {

using ::google::protobuf::util::MessageDifferencer;
using ::testing::HasSubstr;
using ::testing::StartsWith;

TEST(ClusterTextprotoTest, ReferenceSpecsParse) {
  for (const char* path :
       {"testdata/agentydragon.txtpb", "testdata/lab.txtpb"}) {
    absl::StatusOr<ParsedCluster> parsed = ReadClusterFile(path);
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    EXPECT_EQ(parsed->cluster.spec().nodes_size(), 5);
    EXPECT_EQ(parsed->filename, path);
  }
}

TEST(ClusterTextprotoTest, RoundTripIsIdentical) {
  absl::StatusOr<ParsedCluster> first =
      ReadClusterFile("testdata/agentydragon.txtpb");
  ASSERT_TRUE(first.ok()) << first.status();
  const std::string text = ClusterToText(first->cluster);
  absl::StatusOr<ParsedCluster> second = ParseClusterText(text, "written");
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_TRUE(MessageDifferencer::Equals(first->cluster, second->cluster));
  EXPECT_EQ(ClusterToText(second->cluster), text);
}

TEST(ClusterTextprotoTest, SyntaxErrorHasOneBasedLocation) {
  absl::StatusOr<ParsedCluster> parsed =
      ParseClusterText("schema_version: 1\nspec {\n  name: \"x\"\n", "f.txtpb");
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(parsed.status().message()),
              StartsWith("f.txtpb:4:1: "));
}

TEST(ClusterTextprotoTest, UnknownFieldIsAnError) {
  absl::StatusOr<ParsedCluster> parsed = ParseClusterText(
      "schema_version: 1\nspec {\n  nmae: \"x\"\n}\n", kStdinName);
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(parsed.status().message()),
              StartsWith("<stdin>:3:7: "));
  EXPECT_THAT(std::string(parsed.status().message()), HasSubstr("nmae"));
}

TEST(ClusterTextprotoTest, NewerSchemaIsRefusedEvenWithUnknownFields) {
  for (const char* text :
       {"schema_version: 2\nspec { name: \"x\" }\n",
        "schema_version: 2\nspec { name: \"x\" future_field: 3 }\n"}) {
    absl::StatusOr<ParsedCluster> parsed = ParseClusterText(text, "new.txtpb");
    ASSERT_FALSE(parsed.ok());
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(parsed.status().message()),
                HasSubstr("upgrade coldstart"));
  }
}

TEST(ClusterTextprotoTest, LocateFindsFieldsAndFallsBackToAncestors) {
  absl::StatusOr<ParsedCluster> parsed = ParseClusterText(
      "schema_version: 1\n"
      "spec {\n"
      "  nodes { name: \"a\" vmid: 1500 }\n"
      "  nodes {\n"
      "    name: \"b\"\n"
      "    vmid: 1501\n"
      "  }\n"
      "}\n",
      "f");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  const FieldPath nodes = FieldPath().Child("spec").Child("nodes", 1);
  std::optional<TextLocation> vmid = parsed->Locate(nodes.Child("vmid"));
  ASSERT_TRUE(vmid.has_value());
  EXPECT_EQ(vmid->line, 6);
  EXPECT_EQ(vmid->column, 5);
  // Absent field: the node itself.
  std::optional<TextLocation> ip = parsed->Locate(nodes.Child("ip"));
  ASSERT_TRUE(ip.has_value());
  EXPECT_EQ(ip->line, 4);
  EXPECT_EQ(ip->column, 3);
  EXPECT_EQ(parsed->Prefix(FieldPath().Child("spec").Child("nodes")),
            "f:3:3: ");
  EXPECT_EQ(parsed->Prefix(FieldPath().Child("status")), "f: ");
}

TEST(ClusterTextprotoTest, JsonUsesProtoFieldNames) {
  absl::StatusOr<ParsedCluster> parsed =
      ReadClusterFile("testdata/agentydragon.txtpb");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  absl::StatusOr<std::string> json = ClusterToJson(parsed->cluster);
  ASSERT_TRUE(json.ok()) << json.status();
  EXPECT_THAT(*json, HasSubstr("\"schema_version\": 1"));
  EXPECT_THAT(*json, HasSubstr("\"memory_mib\": 12288"));
}

TEST(ClusterTextprotoTest, MissingFileIsBadInput) {
  absl::StatusOr<ParsedCluster> parsed = ReadClusterFile("/nonexistent/x");
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace coldstart
