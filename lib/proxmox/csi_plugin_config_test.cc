#include "lib/proxmox/csi_plugin_config.h"

#include <string>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "lib/secrets/secret.h"
#include "lib/yaml/yaml_json.h"
#include "nlohmann/json.hpp"
#include "proto/coldstart/v1/cluster.pb.h"

namespace coldstart {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

constexpr char kSecret[] = "00000000-aaaa-bbbb-cccc-000000000000";

// The lab's users: a provisioning user and the CSI user.
v1::ProxmoxSpec Proxmox(const std::string& extra = "") {
  v1::ProxmoxSpec proxmox;
  const std::string text =
      R"pb(
        endpoint: "https://pve.example.com:8006/api2/json"
        admin_credentials { key: "proxmox-admin-token" }
        provisioning_credentials { key: "proxmox-provision-token" }
        users {
          userid: "coldstart@pve"
          tokens {
            token_id: "provision"
            secret { key: "proxmox-provision-token" }
          }
          acls { path: "/" role: "ColdstartProvision" }
        }
        users {
          userid: "kubernetes-csi@pve"
          tokens {
            token_id: "csi"
            secret { key: "proxmox-csi-token" }
          }
          acls { path: "/" role: "ColdstartCsi" }
        }
        region: "home"
      )pb" +
      extra;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &proxmox));
  return proxmox;
}

// config.yaml as the plugin (go-yaml) reads it.
nlohmann::json ReadBack(const CsiPluginConfig& config) {
  absl::StatusOr<nlohmann::json> json =
      YamlToJson(config.config_yaml.Reveal(), "config.yaml");
  EXPECT_TRUE(json.ok()) << json.status();
  return json.ok() ? *json : nlohmann::json();
}

TEST(CsiPluginConfigTest, PubliclyTrustedProxmoxGetsVerification) {
  absl::StatusOr<CsiPluginConfig> config = BuildCsiPluginConfig(
      Proxmox(),
      Secret::FromView(std::string("kubernetes-csi@pve!csi=") + kSecret));
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_FALSE(config->insecure);
  EXPECT_THAT(config->warning, IsEmpty());
  EXPECT_EQ(ReadBack(*config), nlohmann::json::parse(R"({"clusters": [{
              "url": "https://pve.example.com:8006/api2/json",
              "insecure": false,
              "token_id": "kubernetes-csi@pve!csi",
              "token_secret": "00000000-aaaa-bbbb-cccc-000000000000",
              "region": "home"}]})"));
}

TEST(CsiPluginConfigTest, PrivateCaOrPinIsRefusedWithWhatToDo) {
  for (const char* trust :
       {"ca_file: \"lab-ca.pem\"",
        "cert_sha256: \"00112233445566778899aabbccddeeff00112233445566778899"
        "aabbccddeeff\""}) {
    absl::StatusOr<CsiPluginConfig> config =
        BuildCsiPluginConfig(Proxmox(trust), Secret::FromView(kSecret));
    EXPECT_EQ(config.status().code(), absl::StatusCode::kFailedPrecondition)
        << trust;
    EXPECT_THAT(config.status().message(), HasSubstr("no CA field"));
    EXPECT_THAT(config.status().message(),
                HasSubstr("spec.proxmox.csi_insecure: true"));
    EXPECT_THAT(config.status().message(), Not(HasSubstr(kSecret)));
  }
}

TEST(CsiPluginConfigTest, CsiInsecureTurnsVerificationOffWithAWarning) {
  absl::StatusOr<CsiPluginConfig> config = BuildCsiPluginConfig(
      Proxmox("ca_file: \"lab-ca.pem\" csi_insecure: true"),
      Secret::FromView(kSecret));
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_TRUE(config->insecure);
  EXPECT_THAT(config->warning, HasSubstr("will not verify"));
  EXPECT_THAT(config->warning, Not(HasSubstr(kSecret)));
  const nlohmann::json cluster = ReadBack(*config)["clusters"][0];
  EXPECT_EQ(cluster["insecure"], true);
  EXPECT_EQ(cluster["token_id"], "kubernetes-csi@pve!csi");  // from the spec
  EXPECT_EQ(cluster["token_secret"], kSecret);
}

TEST(CsiPluginConfigTest, StoredTokenOfAnotherIdIsRefused) {
  absl::StatusOr<CsiPluginConfig> config = BuildCsiPluginConfig(
      Proxmox(), Secret::FromView(std::string("other@pve!csi=") + kSecret));
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(config.status().message(), HasSubstr("other@pve!csi"));
  EXPECT_THAT(config.status().message(), Not(HasSubstr(kSecret)));
}

TEST(CsiPluginConfigTest, SecretWithAQuoteReadsBackUnchanged) {
  absl::StatusOr<CsiPluginConfig> config =
      BuildCsiPluginConfig(Proxmox(), Secret::FromView("a\"b\\c"));
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(ReadBack(*config)["clusters"][0]["token_secret"], "a\"b\\c");
  EXPECT_EQ(
      BuildCsiPluginConfig(Proxmox(), Secret::FromView("a\nb")).status().code(),
      absl::StatusCode::kInvalidArgument);
}

TEST(FindCsiTokenTest, ChoosesTheUserWithACsiRoleNeverAToolCredential) {
  absl::StatusOr<CsiToken> token = FindCsiToken(Proxmox());
  ASSERT_TRUE(token.ok()) << token.status();
  EXPECT_EQ(token->id.ToString(), "kubernetes-csi@pve!csi");
  EXPECT_EQ(token->spec_path, "spec.proxmox.users[1].tokens[0]");
  EXPECT_EQ(token->keystore_key, "proxmox-csi-token");

  // The token an ACL names wins over the first.
  v1::ProxmoxSpec named = Proxmox();
  v1::ProxmoxUser& csi = *named.mutable_users(1);
  v1::ProxmoxToken& second = *csi.add_tokens();
  second.set_token_id("plugin");
  second.mutable_secret()->set_key("plugin-token");
  csi.mutable_acls(0)->set_token_id("plugin");
  token = FindCsiToken(named);
  ASSERT_TRUE(token.ok()) << token.status();
  EXPECT_EQ(token->id.ToString(), "kubernetes-csi@pve!plugin");
}

TEST(FindCsiTokenTest, NoneOrTwoCandidatesIsInvalid) {
  v1::ProxmoxSpec none = Proxmox();
  none.mutable_users()->RemoveLast();
  EXPECT_EQ(FindCsiToken(none).status().code(),
            absl::StatusCode::kInvalidArgument);

  v1::ProxmoxSpec two = Proxmox();
  *two.add_users() = two.users(1);
  two.mutable_users(2)->set_userid("csi-two@pve");
  absl::StatusOr<CsiToken> token = FindCsiToken(two);
  EXPECT_EQ(token.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(token.status().message(), HasSubstr("csi-two@pve"));
}

}  // namespace
}  // namespace coldstart
