#include "lab/factory/schematic.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace coldstart::lab {
namespace {

// The ids facts/talos.md §6 verified against the real factory.
TEST(SchematicTest, EmptyCustomizationHasTheFactorysId) {
  auto s = CanonicalizeSchematic("");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->yaml, "customization: {}\n");
  EXPECT_EQ(s->id,
            "376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba");
}

TEST(SchematicTest, GuestAgentExtensionHasTheFactorysId) {
  auto s = CanonicalizeSchematic(
      "customization:\n  systemExtensions:\n    officialExtensions: "
      "[siderolabs/qemu-guest-agent]\n");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->id,
            "ce4c980550dd2ab1b17bbf2b08801c7eb59418eafe8f279833297925d67c7515");
}

TEST(SchematicTest, JsonKernelArgsHaveTheFactorysId) {
  auto s = CanonicalizeSchematic(
      R"({"customization":{"extraKernelArgs":["noapic","nolapic"]}})");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->id,
            "9cba8e32753f91a16c1837ab8abf356af021706ef284aef07380780177d9a06c");
}

TEST(SchematicTest, UnknownFieldsAreRefused) {
  EXPECT_FALSE(CanonicalizeSchematic("customisation: {}\n").ok());
  EXPECT_FALSE(
      CanonicalizeSchematic("customization:\n  extensions: [a]\n").ok());
  EXPECT_FALSE(CanonicalizeSchematic("customization: [\n").ok());
}

TEST(SchematicTest, ImageIsQcow2WithTheVersionsVirtualSize) {
  auto image = LabNocloudQcow2("abc", "v1.9.1");
  ASSERT_TRUE(image.ok());
  ASSERT_GE(image->size(), 32u);
  EXPECT_EQ(image->substr(0, 4), std::string("QFI\xfb", 4));
  uint64_t size = 0;
  for (int i = 0; i < 8; ++i) {
    size = (size << 8) | static_cast<unsigned char>((*image)[24 + i]);
  }
  EXPECT_EQ(size, 1246ULL << 20);
  auto v111 = LabNocloudQcow2("abc", "1.11.0");
  ASSERT_TRUE(v111.ok());
  EXPECT_NE(*v111, *image);
  EXPECT_FALSE(LabNocloudQcow2("abc", "latest").ok());
}

}  // namespace
}  // namespace coldstart::lab
