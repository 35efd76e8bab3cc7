#include "lib/secrets/secret.h"

#include <sstream>
#include <string>
#include <utility>

#include "gtest/gtest.h"

namespace coldstart {
namespace {

TEST(SecretTest, PrintsRedacted) {
  Secret secret = Secret::FromView("hunter2");
  std::ostringstream out;
  out << "token=" << secret;
  EXPECT_EQ(out.str(), "token=[redacted]");
  EXPECT_EQ(out.str().find("hunter2"), std::string::npos);
}

TEST(SecretTest, RevealReturnsBytes) {
  std::string embedded_nul("a\0b", 3);
  Secret secret = Secret::FromView(embedded_nul);
  EXPECT_EQ(secret.Reveal(), embedded_nul);
  EXPECT_EQ(secret.size(), 3u);
}

TEST(SecretTest, TakingAStringWipesTheSource) {
  std::string value = "a-long-enough-value-to-live-on-the-heap";
  Secret secret(std::move(value));
  EXPECT_EQ(secret.Reveal(), "a-long-enough-value-to-live-on-the-heap");
  EXPECT_TRUE(value.empty());  // NOLINT(bugprone-use-after-move): documented.
}

TEST(SecretTest, MoveLeavesSourceEmpty) {
  Secret a = Secret::FromView("x");
  Secret b = std::move(a);
  EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move): documented.
  EXPECT_EQ(b.Reveal(), "x");
}

TEST(SecretTest, CopyAndEquality) {
  Secret a = Secret::FromView("same");
  Secret b = a;
  EXPECT_EQ(a, b);
  EXPECT_NE(a, Secret::FromView("diff"));
  EXPECT_NE(a, Secret::FromView("same-but-longer"));
  EXPECT_EQ(Secret(), Secret::FromView(""));
}

TEST(SecretTest, WipeBytesZeroes) {
  char buffer[4] = {'a', 'b', 'c', 'd'};
  WipeBytes(buffer, sizeof(buffer));
  for (char c : buffer) EXPECT_EQ(c, '\0');
}

}  // namespace
}  // namespace coldstart
