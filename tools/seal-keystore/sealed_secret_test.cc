#include "tools/seal-keystore/sealed_secret.h"

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_replace.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/secrets/crypto.h"
#include "lib/secrets/secret.h"

namespace coldstart {
namespace {

using ::testing::HasSubstr;

std::string Read(const std::string& name) {
  std::ifstream file("tools/seal-keystore/testdata/" + name);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

class SealedSecretTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<PrivateKey> key =
        PrivateKey::FromPem(Secret::FromView(Read("key.pem")));
    ASSERT_TRUE(key.ok()) << key.status();
    keys_.push_back(*key);
    absl::StatusOr<std::vector<SecretObject>> secrets =
        ParseSecrets(Read("secret.yaml"), "secret.yaml");
    ASSERT_TRUE(secrets.ok()) << secrets.status();
    ASSERT_EQ(secrets->size(), 1u);
    secret_ = std::move((*secrets)[0]);
  }

  SealedSecretObject Vector(const std::string& scope) {
    absl::StatusOr<std::vector<SealedSecretDocument>> documents =
        ParseSealedSecrets(Read("sealed-" + scope + ".yaml"), scope);
    EXPECT_TRUE(documents.ok()) << documents.status();
    EXPECT_EQ(documents->size(), 1u);
    return (*documents)[0].object;
  }

  std::vector<PrivateKey> keys_;
  SecretObject secret_;
};

TEST_F(SealedSecretTest, VectorsFromTheRealSealingCodeUnsealInAllScopes) {
  for (const char* scope : {"strict", "namespace-wide", "cluster-wide"}) {
    absl::StatusOr<SecretObject> unsealed = UnsealSecret(Vector(scope), keys_);
    ASSERT_TRUE(unsealed.ok()) << scope << ": " << unsealed.status();
    EXPECT_EQ(unsealed->metadata.Describe(), "csi-proxmox/proxmox-csi-plugin");
    EXPECT_EQ(unsealed->type, "Opaque");
    ASSERT_EQ(unsealed->data.size(), 2u);
    EXPECT_EQ(unsealed->data.at("username").Reveal(), "admin");
    EXPECT_TRUE(unsealed->data.at("config.yaml") ==
                secret_.data.at("config.yaml"));
  }
}

TEST_F(SealedSecretTest, MovedStrictVectorDoesNotUnseal) {
  SealedSecretObject moved = Vector("strict");
  moved.metadata.namespace_ = "kube-system";
  absl::StatusOr<SecretObject> unsealed = UnsealSecret(moved, keys_);
  EXPECT_EQ(unsealed.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(unsealed.status().message(),
              HasSubstr("no key could decrypt secret"));
  SealedSecretObject renamed = Vector("strict");
  renamed.metadata.name = "other";
  EXPECT_EQ(UnsealSecret(renamed, keys_).status().code(),
            absl::StatusCode::kPermissionDenied);
  // Namespace-wide may be renamed, not moved; cluster-wide may be moved.
  SealedSecretObject namespace_wide = Vector("namespace-wide");
  namespace_wide.metadata.name = "other";
  EXPECT_TRUE(UnsealSecret(namespace_wide, keys_).ok());
  namespace_wide.metadata.namespace_ = "kube-system";
  EXPECT_FALSE(UnsealSecret(namespace_wide, keys_).ok());
  SealedSecretObject cluster_wide = Vector("cluster-wide");
  cluster_wide.metadata.namespace_ = "kube-system";
  EXPECT_TRUE(UnsealSecret(cluster_wide, keys_).ok());
}

TEST_F(SealedSecretTest, ResealingAnUnchangedSecretReproducesTheVectorBytes) {
  for (auto [name, scope] : std::vector<std::pair<std::string, SealingScope>>{
           {"strict", SealingScope::kStrict},
           {"namespace-wide", SealingScope::kNamespaceWide},
           {"cluster-wide", SealingScope::kClusterWide}}) {
    const SealedSecretObject previous = Vector(name);
    SealOptions options;
    options.scope = scope;
    options.previous = &previous;
    options.open_keys = keys_;
    absl::StatusOr<SealResult> result =
        SealSecret(secret_, keys_[0].public_key(), options);
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_EQ(result->kept.size(), 2u);
    EXPECT_TRUE(result->resealed.empty());
    EXPECT_EQ(FormatSealedSecretYaml(result->sealed),
              Read("sealed-" + name + ".yaml"))
        << name;
  }
}

TEST_F(SealedSecretTest, ChangedValueOrScopeIsSealedAfresh) {
  const SealedSecretObject previous = Vector("strict");
  SecretObject changed = secret_;
  changed.data["username"] = Secret::FromView("root");
  SealOptions options;
  options.previous = &previous;
  options.open_keys = keys_;
  absl::StatusOr<SealResult> result =
      SealSecret(changed, keys_[0].public_key(), options);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->kept, std::vector<std::string>{"config.yaml"});
  EXPECT_EQ(result->resealed, std::vector<std::string>{"username"});
  absl::StatusOr<SecretObject> unsealed = UnsealSecret(result->sealed, keys_);
  ASSERT_TRUE(unsealed.ok()) << unsealed.status();
  EXPECT_EQ(unsealed->data.at("username").Reveal(), "root");

  options.scope = SealingScope::kClusterWide;  // label changes: nothing kept
  result = SealSecret(secret_, keys_[0].public_key(), options);
  ASSERT_TRUE(result.ok());
  EXPECT_TRUE(result->kept.empty());
}

TEST_F(SealedSecretTest, SealRoundTripAndScopeAnnotations) {
  SecretObject secret = secret_;
  secret.metadata.labels["app"] = "csi";
  secret.metadata.annotations[kNamespaceWideAnnotation] = "true";
  secret.metadata
      .annotations["kubectl.kubernetes.io/last-applied-configuration"] = "{}";
  absl::StatusOr<SealResult> result = SealSecret(secret, keys_[0].public_key());
  ASSERT_TRUE(result.ok()) << result.status();
  const SealedSecretObject& sealed = result->sealed;
  EXPECT_EQ(ScopeOfAnnotations(sealed.metadata), SealingScope::kNamespaceWide);
  EXPECT_EQ(sealed.template_metadata.labels.at("app"), "csi");
  EXPECT_EQ(sealed.template_metadata.annotations.count(
                "kubectl.kubernetes.io/last-applied-configuration"),
            0u);
  // Through YAML and back.
  absl::StatusOr<std::vector<SealedSecretDocument>> parsed =
      ParseSealedSecrets(FormatSealedSecretYaml(sealed), "out");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  absl::StatusOr<SecretObject> unsealed =
      UnsealSecret((*parsed)[0].object, keys_);
  ASSERT_TRUE(unsealed.ok()) << unsealed.status();
  EXPECT_EQ(unsealed->metadata.labels.at("app"), "csi");
  EXPECT_TRUE(unsealed->data.at("config.yaml") ==
              secret_.data.at("config.yaml"));
  // Each value: 2 + 512 + n + 16 bytes, starting with 0x02 0x00 ("Ag").
  EXPECT_EQ(sealed.encrypted_data.at("username").substr(0, 2), "Ag");
}

TEST_F(SealedSecretTest, WrongKeyCannotOpen) {
  SealedSecretObject sealed = Vector("cluster-wide");
  absl::StatusOr<PrivateKey> other = PrivateKey::GenerateRsa(2048);
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(UnsealSecret(sealed, {*other}).status().code(),
            absl::StatusCode::kPermissionDenied);
  size_t index = 9;
  ASSERT_TRUE(OpenSealedValue(sealed.encrypted_data.at("username"), "",
                              {*other, keys_[0]}, &index)
                  .ok());
  EXPECT_EQ(index, 1u);
}

TEST(SealedSecretParseTest, ErrorsCarryPositionsAndNoValues) {
  absl::StatusOr<std::vector<SecretObject>> parsed =
      ParseSecrets("kind: Secret\nmetadata: {name: x\n", "in.yaml");
  EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(parsed.status().message(), HasSubstr("in.yaml:"));
  parsed = ParseSecrets(
      "kind: Secret\nmetadata:\n  name: x\ndata:\n  token: '%%%sekrit'\n",
      "in.yaml");
  EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(parsed.status().message(), HasSubstr("data.token"));
  EXPECT_THAT(parsed.status().message(), ::testing::Not(HasSubstr("sekrit")));
  parsed = ParseSecrets("kind: ConfigMap\nmetadata: {name: x}\n", "in.yaml");
  EXPECT_THAT(parsed.status().message(), HasSubstr("expected kind Secret"));
  parsed = ParseSecrets(
      "{\"kind\":\"Secret\",\"metadata\":{\"name\":\"j\",\"namespace\":\"n\"},"
      "\"stringData\":{\"a\":\"b\"},\"data\":{\"a\":\"eA==\"}}",
      "in.json");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ((*parsed)[0].data.at("a").Reveal(), "b");  // stringData wins
}

TEST(SealedSecretParseTest, NonClusterWideNeedsNamespace) {
  absl::StatusOr<PrivateKey> key = PrivateKey::GenerateRsa(2048);
  ASSERT_TRUE(key.ok());
  SecretObject secret;
  secret.metadata.name = "x";
  EXPECT_THAT(SealSecret(secret, key->public_key()).status().message(),
              HasSubstr("secret must declare a namespace"));
  SealOptions options;
  options.scope = SealingScope::kClusterWide;
  EXPECT_TRUE(SealSecret(secret, key->public_key(), options).ok());
}

TEST(SealedSecretParseTest, KeySecretsFromAKubectlList) {
  const std::string list = absl::StrReplaceAll(
      R"(apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Secret
  metadata:
    name: sealed-secrets-keyx8k2f
    namespace: kube-system
    labels: {sealedsecrets.bitnami.com/sealed-secrets-key: active}
  type: kubernetes.io/tls
  data: {tls.crt: CRT, tls.key: KEY}
- apiVersion: v1
  kind: Secret
  metadata: {name: unrelated, namespace: kube-system}
  data: {tls.crt: CRT, tls.key: KEY}
)",
      {{"CRT", "Y2VydA=="}, {"KEY", "a2V5"}});
  absl::StatusOr<std::vector<KeySecret>> keys = ParseKeySecrets(list, "b.yaml");
  ASSERT_TRUE(keys.ok()) << keys.status();
  ASSERT_EQ(keys->size(), 1u);
  EXPECT_EQ((*keys)[0].metadata.name, "sealed-secrets-keyx8k2f");
  EXPECT_EQ((*keys)[0].certificate_pem, "cert");
  EXPECT_EQ((*keys)[0].private_key_pem.Reveal(), "key");
}

TEST(YamlScalarTest, QuotesWhatPlainStyleWouldChange) {
  EXPECT_EQ(YamlScalar("true"), "\"true\"");
  EXPECT_EQ(YamlScalar("123"), "\"123\"");
  EXPECT_EQ(YamlScalar("1.5e3"), "\"1.5e3\"");
  EXPECT_EQ(YamlScalar(""), "\"\"");
  EXPECT_EQ(YamlScalar("a: b"), "\"a: b\"");
  EXPECT_EQ(YamlScalar("line\nbreak"), "\"line\\nbreak\"");
  EXPECT_EQ(YamlScalar("-dash"), "\"-dash\"");
  EXPECT_EQ(YamlScalar("csi-proxmox"), "csi-proxmox");
  EXPECT_EQ(YamlScalar("config.yaml"), "config.yaml");
  EXPECT_EQ(YamlScalar("AgB+/x=="), "AgB+/x==");
  EXPECT_EQ(YamlScalar("sealedsecrets.bitnami.com/cluster-wide"),
            "sealedsecrets.bitnami.com/cluster-wide");
}

}  // namespace
}  // namespace coldstart
