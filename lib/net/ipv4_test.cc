#include "lib/net/ipv4.h"

#include "gtest/gtest.h"

namespace coldstart {
namespace {

TEST(Ipv4Test, ParsesAndFormats) {
  ASSERT_EQ(ParseIpv4("10.0.1.2"), 0x0a000102u);
  EXPECT_EQ(FormatIpv4(0x7f000101), "127.0.1.1");
  EXPECT_EQ(ParseIpv4("255.255.255.255"), 0xffffffffu);
}

TEST(Ipv4Test, RejectsMalformed) {
  for (const char* bad : {"", "10.0.1", "10.0.1.2.3", "256.0.0.1", "010.0.0.1",
                          "10.0.0.-1", "10.0.0.1 ", "a.b.c.d", "10..0.1"}) {
    EXPECT_FALSE(ParseIpv4(bad).has_value()) << bad;
  }
}

TEST(Ipv4Test, Prefixes) {
  std::optional<Ipv4Prefix> subnet = ParseIpv4Prefix("10.0.0.0/16");
  ASSERT_TRUE(subnet.has_value());
  EXPECT_TRUE(subnet->Contains(*ParseIpv4("10.0.3.1")));
  EXPECT_FALSE(subnet->Contains(*ParseIpv4("10.1.0.1")));
  EXPECT_EQ(subnet->Broadcast(), *ParseIpv4("10.0.255.255"));
  EXPECT_EQ(subnet->ToString(), "10.0.0.0/16");
  EXPECT_TRUE(subnet->Overlaps(*ParseIpv4Prefix("10.0.128.0/17")));
  EXPECT_TRUE(subnet->Overlaps(*ParseIpv4Prefix("10.0.0.0/8")));
  EXPECT_FALSE(subnet->Overlaps(*ParseIpv4Prefix("10.244.0.0/16")));
  EXPECT_TRUE(ParseIpv4Prefix("0.0.0.0/0")->Contains(1));
  EXPECT_FALSE(ParseIpv4Prefix("10.0.0.1/16").has_value());  // host bits
  EXPECT_FALSE(ParseIpv4Prefix("10.0.0.0/33").has_value());
  EXPECT_FALSE(ParseIpv4Prefix("10.0.0.0").has_value());
  EXPECT_FALSE(ParseIpv4Prefix("10.0.0.0/").has_value());
}

}  // namespace
}  // namespace coldstart
