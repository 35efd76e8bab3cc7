// Golden machine configs for both roles (testdata/ctrl-1.yaml,
// testdata/worker-1.yaml) from testdata/lab.txtpb and the fixture bundle
// testdata/test-secrets-bundle.yaml; plus the secrets bundle's formats.
// Regenerate: tools/talos-bootstrap/regenerate_testdata.sh
#include "tools/talos-bootstrap/machine_config.h"

#include <cstdlib>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/cli/cluster_textproto.h"
#include "lib/secrets/crypto.h"
#include "tools/talos-bootstrap/secrets_bundle.h"
#include "yaml-cpp/yaml.h"

namespace coldstart {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

constexpr char kDir[] = "tools/talos-bootstrap/testdata/";
constexpr char kSchematic[] =
    "ce4c980550dd2ab1b17bbf2b08801c7eb59418eafe8f279833297925d67c7515";

class MachineConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto cluster = ParseClusterText(ReadFile("testdata/lab.txtpb"), "lab");
    ASSERT_TRUE(cluster.ok()) << cluster.status();
    spec_ = cluster->cluster.spec();
    auto bundle = ParseSecretsBundle(
        Secret(ReadFile(std::string(kDir) + "test-secrets-bundle.yaml")));
    ASSERT_TRUE(bundle.ok()) << bundle.status();
    bundle_ = *bundle;
  }

  const coldstart::v1::Node& NodeNamed(const std::string& name) {
    for (const auto& node : spec_.nodes()) {
      if (node.name() == name) return node;
    }
    ADD_FAILURE() << name;
    return spec_.nodes(0);
  }

  void CheckGolden(const std::string& name) {
    auto config =
        RenderMachineConfig(spec_, NodeNamed(name), bundle_, kSchematic,
                            Secret("test-preauth-key-" + name));
    ASSERT_TRUE(config.ok()) << config.status();
    const std::string path = std::string(kDir) + name + ".yaml";
    if (const char* dir = std::getenv("COLDSTART_REGENERATE_DIR")) {
      std::ofstream(std::string(dir) + "/" + name + ".yaml")
          << config->yaml.Reveal();
      return;
    }
    EXPECT_EQ(config->yaml.Reveal(), ReadFile(path))
        << "regenerate with tools/talos-bootstrap/regenerate_testdata.sh";
  }

  coldstart::v1::ClusterSpec spec_;
  SecretsBundle bundle_;
};

TEST_F(MachineConfigTest, ControlPlaneGolden) { CheckGolden("ctrl-1"); }
TEST_F(MachineConfigTest, WorkerGolden) { CheckGolden("worker-1"); }

TEST_F(MachineConfigTest, RolesDifferWhereTalosRequires) {
  auto cp = RenderMachineConfig(spec_, NodeNamed("ctrl-1"), bundle_, kSchematic,
                                Secret("k"));
  auto worker = RenderMachineConfig(spec_, NodeNamed("worker-1"), bundle_,
                                    kSchematic, Secret("k"));
  ASSERT_TRUE(cp.ok() && worker.ok());
  std::vector<YAML::Node> cp_docs =
      YAML::LoadAll(std::string(cp->yaml.Reveal()));
  std::vector<YAML::Node> w_docs =
      YAML::LoadAll(std::string(worker->yaml.Reveal()));
  ASSERT_EQ(cp_docs.size(), 2u);
  ASSERT_EQ(w_docs.size(), 2u);
  const YAML::Node c = cp_docs[0], w = w_docs[0];
  EXPECT_EQ(c["machine"]["type"].as<std::string>(), "controlplane");
  EXPECT_EQ(w["machine"]["type"].as<std::string>(), "worker");
  EXPECT_FALSE(c["machine"]["ca"]["key"].as<std::string>().empty());
  EXPECT_TRUE(w["machine"]["ca"]["key"].as<std::string>().empty());
  EXPECT_TRUE(w["cluster"]["ca"]["key"].as<std::string>().empty());
  EXPECT_EQ(
      c["machine"]["network"]["interfaces"][0]["vip"]["ip"].as<std::string>(),
      "127.0.3.1");
  EXPECT_FALSE(w["machine"]["network"]["interfaces"][0]["vip"]);
  for (const char* cp_only : {"etcd", "aggregatorCA", "serviceAccount",
                              "secretboxEncryptionSecret", "apiServer"}) {
    EXPECT_TRUE(c["cluster"][cp_only]) << cp_only;
    EXPECT_FALSE(w["cluster"][cp_only]) << cp_only;
  }
  for (const YAML::Node& doc : {c, w}) {
    EXPECT_EQ(doc["cluster"]["controlPlane"]["endpoint"].as<std::string>(),
              "https://127.0.3.1:6443");
    EXPECT_EQ(doc["cluster"]["network"]["cni"]["name"].as<std::string>(),
              "none");
    EXPECT_TRUE(doc["cluster"]["proxy"]["disabled"].as<bool>());
    EXPECT_TRUE(doc["machine"]["features"]["kubePrism"]["enabled"].as<bool>());
    EXPECT_EQ(doc["machine"]["features"]["kubePrism"]["port"].as<int>(), 7445);
    EXPECT_FALSE(doc["cluster"]["inlineManifests"]);
  }
  EXPECT_EQ(w_docs[1]["kind"].as<std::string>(), "ExtensionServiceConfig");
}

TEST_F(MachineConfigTest, HashLeavesOutThePreauthKey) {
  auto a = RenderMachineConfig(spec_, NodeNamed("ctrl-1"), bundle_, kSchematic,
                               Secret("key-one"));
  auto b = RenderMachineConfig(spec_, NodeNamed("ctrl-1"), bundle_, kSchematic,
                               Secret("key-two"));
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(a->yaml, b->yaml);
  EXPECT_EQ(a->sha256, b->sha256);
  EXPECT_THAT(std::string(a->yaml.Reveal()),
              ::testing::HasSubstr("TS_AUTHKEY=key-one"));
  // Another node: another hash.
  auto c = RenderMachineConfig(spec_, NodeNamed("ctrl-2"), bundle_, kSchematic,
                               Secret("key-one"));
  ASSERT_TRUE(c.ok());
  EXPECT_NE(a->sha256, c->sha256);
}

TEST_F(MachineConfigTest, InstallerImageByVersion) {
  EXPECT_EQ(InstallerImage(spec_, "abc"),
            "127.0.10.2:8443/installer/abc:v1.9.1");
  spec_.mutable_versions()->set_talos("v1.10.0");
  EXPECT_EQ(InstallerImage(spec_, "abc"),
            "127.0.10.2:8443/nocloud-installer/abc:v1.10.0");
}

TEST_F(MachineConfigTest, NoSchematicIsFailedPrecondition) {
  EXPECT_EQ(
      RenderMachineConfig(spec_, NodeNamed("ctrl-1"), bundle_, "", Secret())
          .status()
          .code(),
      absl::StatusCode::kFailedPrecondition);
}

TEST(SecretsBundle, FormatsPerTheFacts) {
  auto bundle = GenerateSecretsBundle(absl::Now());
  ASSERT_TRUE(bundle.ok()) << bundle.status();
  EXPECT_TRUE(IsTalosToken(bundle->bootstrap_token.Reveal()));
  EXPECT_TRUE(IsTalosToken(bundle->trustd_token.Reveal()));
  EXPECT_NE(bundle->bootstrap_token, bundle->trustd_token);
  EXPECT_EQ(bundle->cluster_id.size(), 44u);
  EXPECT_EQ(bundle->secretbox_secret.size(), 44u);
  auto has_label = [](const Secret& pem, const char* label) {
    return absl::StartsWith(pem.Reveal(),
                            std::string("-----BEGIN ") + label + "-----");
  };
  EXPECT_TRUE(has_label(bundle->os_ca.key_pem, "ED25519 PRIVATE KEY"));
  EXPECT_TRUE(has_label(bundle->kubernetes_ca.key_pem, "EC PRIVATE KEY"));
  EXPECT_TRUE(has_label(bundle->aggregator_ca.key_pem, "EC PRIVATE KEY"));
  EXPECT_TRUE(has_label(bundle->etcd_ca.key_pem, "EC PRIVATE KEY"));
  EXPECT_TRUE(has_label(bundle->service_account_key, "RSA PRIVATE KEY"));
  auto os = Certificate::FromPem(bundle->os_ca.crt_pem);
  ASSERT_TRUE(os.ok());
  EXPECT_EQ(os->SubjectString(), "O=talos");
  EXPECT_EQ(os->public_key()->type(), KeyType::kEd25519);

  // Round trip through the talosctl YAML.
  Secret yaml = SerializeSecretsBundle(*bundle);
  auto back = ParseSecretsBundle(yaml);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->os_ca.crt_pem, bundle->os_ca.crt_pem);
  EXPECT_EQ(back->service_account_key, bundle->service_account_key);
  EXPECT_EQ(back->trustd_token, bundle->trustd_token);

  // The admin cert: O=os:admin, no CN, verifies against the OS CA.
  auto admin = IssueTalosAdminCertificate(*bundle, absl::Now());
  ASSERT_TRUE(admin.ok()) << admin.status();
  auto cert = Certificate::FromPem(admin->crt_pem);
  ASSERT_TRUE(cert.ok());
  EXPECT_EQ(cert->SubjectString(), "O=os:admin");
  EXPECT_TRUE(VerifyCertificateChain(*cert, {}, {*os}, absl::Now()).ok());
}

TEST(SecretsBundle, TokenShape) {
  EXPECT_TRUE(IsTalosToken("abcdef.0123456789abcdef"));
  EXPECT_FALSE(IsTalosToken("ABCDEF.0123456789abcdef"));
  EXPECT_FALSE(IsTalosToken("abcdef0123456789abcdef0"));
  EXPECT_FALSE(IsTalosToken("abcde.0123456789abcdefg"));
  const std::regex shape("[a-z0-9]{6}\\.[a-z0-9]{16}");
  for (int i = 0; i < 50; ++i) {
    EXPECT_TRUE(
        std::regex_match(std::string(GenerateTalosToken().Reveal()), shape));
  }
}

TEST(SecretsBundle, ParseErrorsNameTheFieldNotTheValue) {
  auto parsed = ParseSecretsBundle(Secret(
      std::string("cluster: {id: x, secret: y}\nsecrets: {bootstraptoken: "
                  "abcdef.0123456789abcdef, secretboxencryptionsecret: s}\n")));
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(parsed.status().message()),
              ::testing::HasSubstr("trustdinfo.token"));
}

}  // namespace
}  // namespace coldstart
