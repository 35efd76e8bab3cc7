#include "lib/proxmox/api_token.h"

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/secrets/secret.h"

namespace coldstart {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(ProxmoxTokenIdTest, SplitsAtTheOneBang) {
  absl::StatusOr<ProxmoxTokenId> id =
      ParseProxmoxTokenId("kubernetes-csi@pve!csi");
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(id->userid, "kubernetes-csi@pve");
  EXPECT_EQ(id->token, "csi");
  EXPECT_EQ(id->ToString(), "kubernetes-csi@pve!csi");
}

TEST(ProxmoxTokenIdTest, RefusesWhatIsNotUserAtRealmBangToken) {
  for (const char* bad :
       {"", "csi", "user@pve", "user@pve!", "!csi", "user!csi", "a@b!c!d"}) {
    absl::StatusOr<ProxmoxTokenId> id = ParseProxmoxTokenId(bad);
    EXPECT_EQ(id.status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

TEST(ProxmoxApiTokenTest, ReadsTheStoredFormAndTheBareSecret) {
  absl::StatusOr<ProxmoxApiToken> full = ParseProxmoxApiToken(
      Secret::FromView("kubernetes-csi@pve!csi=0000-aaaa=x\n"));
  ASSERT_TRUE(full.ok()) << full.status();
  ASSERT_TRUE(full->id.has_value());
  EXPECT_EQ(full->id->ToString(), "kubernetes-csi@pve!csi");
  EXPECT_EQ(full->secret.Reveal(), "0000-aaaa=x");

  absl::StatusOr<ProxmoxApiToken> bare =
      ParseProxmoxApiToken(Secret::FromView(" 0000-aaaa "));
  ASSERT_TRUE(bare.ok()) << bare.status();
  EXPECT_FALSE(bare->id.has_value());
  EXPECT_EQ(bare->secret.Reveal(), "0000-aaaa");
}

TEST(ProxmoxApiTokenTest, ErrorsNeverShowTheSecret) {
  for (const char* bad :
       {"", "   ", "user@pve!csi", "user@pve!csi=", "nouser!csi=s3cr3t"}) {
    absl::StatusOr<ProxmoxApiToken> token =
        ParseProxmoxApiToken(Secret::FromView(bad));
    EXPECT_EQ(token.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(token.status().message(), Not(HasSubstr("s3cr3t")));
  }
}

}  // namespace
}  // namespace coldstart
