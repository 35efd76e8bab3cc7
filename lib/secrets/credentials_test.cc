#include "lib/secrets/credentials.h"

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/base/environment.h"
#include "lib/secrets/keystore.h"
#include "lib/testing/files.h"

namespace coldstart {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class CredentialsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = coldstart::testing::MakeTempDir("credentials") + "/ks";
    absl::StatusOr<std::unique_ptr<Keystore>> opened =
        OpenKeystore("file:" + dir_);
    ASSERT_TRUE(opened.ok()) << opened.status();
    keystore_ = *std::move(opened);
  }
  CredentialSource Source() {
    return {"the test token", "TEST_TOKEN", "c1", "test-token"};
  }
  std::string dir_;
  std::unique_ptr<Keystore> keystore_;
};

TEST_F(CredentialsTest, EnvironmentWinsOverTheKeystore) {
  ASSERT_TRUE(keystore_
                  ->Store(ClusterSecretAttributes("c1", "test-token"), "t",
                          Secret::FromView("from-keystore"))
                  .ok());
  absl::StatusOr<ResolvedCredential> got = ResolveCredential(
      Source(), FixedEnvironment({{"TEST_TOKEN", "from-env"}}),
      keystore_.get());
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->secret.Reveal(), "from-env");
  EXPECT_EQ(got->source, "environment variable TEST_TOKEN");
}

TEST_F(CredentialsTest, EmptyVariableCountsAsUnsetAndTheKeystoreIsUsed) {
  ASSERT_TRUE(keystore_
                  ->Store(ClusterSecretAttributes("c1", "test-token"), "t",
                          Secret::FromView("from-keystore"))
                  .ok());
  absl::StatusOr<ResolvedCredential> got = ResolveCredential(
      Source(), FixedEnvironment({{"TEST_TOKEN", ""}}), keystore_.get());
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->secret.Reveal(), "from-keystore");
  EXPECT_THAT(got->source, HasSubstr("keystore item test-token"));
  EXPECT_THAT(got->source, Not(HasSubstr("from-keystore")));
}

TEST_F(CredentialsTest, NeitherSourceIsNotFoundSayingBothWays) {
  absl::StatusOr<ResolvedCredential> got =
      ResolveCredential(Source(), FixedEnvironment({}), keystore_.get());
  EXPECT_EQ(got.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(got.status().message(),
              HasSubstr("no the test token: set $TEST_TOKEN or store "
                        "keystore item test-token"));
}

TEST_F(CredentialsTest, OtherClustersItemIsNotUsed) {
  ASSERT_TRUE(keystore_
                  ->Store(ClusterSecretAttributes("c2", "test-token"), "t",
                          Secret::FromView("other"))
                  .ok());
  EXPECT_EQ(ResolveCredential(Source(), FixedEnvironment({}), keystore_.get())
                .status()
                .code(),
            absl::StatusCode::kNotFound);
}

TEST(KeystoreSpecTest, FlagThenNonEmptyEnvironmentThenSpecThenDefault) {
  EXPECT_EQ(
      ResolveKeystoreSpec(
          "file:/flag", FixedEnvironment({{"COLDSTART_KEYSTORE", "file:/env"}}),
          "file:/spec"),
      "file:/flag");
  EXPECT_EQ(ResolveKeystoreSpec(
                "", FixedEnvironment({{"COLDSTART_KEYSTORE", "file:/env"}}),
                "file:/spec"),
            "file:/env");
  EXPECT_EQ(
      ResolveKeystoreSpec("", FixedEnvironment({{"COLDSTART_KEYSTORE", ""}}),
                          "file:/spec"),
      "file:/spec");
  EXPECT_EQ(ResolveKeystoreSpec("", FixedEnvironment({}), ""),
            "secret-service");
}

}  // namespace
}  // namespace coldstart
