#include "lab/kube/sealed_secrets/sealed_secrets_controller.h"

#include <string>

#include "absl/strings/escaping.h"
#include "gtest/gtest.h"
#include "lab/kube/api_server.h"
#include "lab/kube/sealed_secrets/sealed_secrets_in_lab.h"
#include "lib/secrets/crypto.h"
#include "lib/secrets/secret.h"
#include "proto/coldstart/v1/cluster.pb.h"

namespace coldstart::lab {
namespace {

Json SealedFor(const PublicKey& key, const std::string& ns,
               const std::string& name, const std::string& value) {
  absl::StatusOr<std::string> blob = HybridSeal(key, value, ns + "/" + name);
  EXPECT_TRUE(blob.ok());
  return Json{{"apiVersion", "bitnami.com/v1alpha1"},
              {"kind", "SealedSecret"},
              {"metadata", {{"name", name}, {"namespace", ns}}},
              {"spec",
               {{"encryptedData", {{"token", absl::Base64Escape(*blob)}}},
                {"template", {{"type", "Opaque"}}}}}};
}

Json KeySecret(const std::string& name, const PrivateKey& key,
               const Certificate& certificate) {
  return Json{
      {"apiVersion", "v1"},
      {"kind", "Secret"},
      {"type", "kubernetes.io/tls"},
      {"metadata",
       {{"name", name},
        {"namespace", "kube-system"},
        {"labels",
         {{"sealedsecrets.bitnami.com/sealed-secrets-key", "active"}}}}},
      {"data",
       {{"tls.crt", absl::Base64Escape(certificate.ToPem())},
        {"tls.key", absl::Base64Escape(key.ToPem()->Reveal())}}}};
}

TEST(SealedSecretsControllerTest, GeneratesKeyReadsKeysOnlyAtStartAndUnseals) {
  ApiServer api;
  ASSERT_TRUE(api.Apply(Json{{"apiVersion", "v1"},
                             {"kind", "Namespace"},
                             {"metadata", {{"name", "apps"}}}})
                  .ok());
  SealedSecretsControllerOptions options;
  options.key_bits = 2048;
  SealedSecretsController controller(api, options);
  ASSERT_TRUE(controller.Start().ok());
  EXPECT_EQ(controller.LoadedKeyCount(), 1u);  // generated its own
  EXPECT_EQ(api.List("v1", "Secret", "kube-system").size(), 1u);

  // Our key, restored after the start: not loaded until a restart.
  absl::StatusOr<PrivateKey> ours = PrivateKey::GenerateRsa(2048);
  ASSERT_TRUE(ours.ok());
  CertificateTemplate spec;
  spec.not_before = absl::Now() - absl::Hours(1);
  spec.not_after = spec.not_before + absl::Hours(1000);
  absl::StatusOr<Certificate> certificate =
      IssueCertificate(spec, ours->public_key(), *ours, nullptr);
  ASSERT_TRUE(certificate.ok());
  ASSERT_TRUE(api.Apply(KeySecret("restored", *ours, *certificate)).ok());
  ASSERT_TRUE(
      api.Apply(SealedFor(ours->public_key(), "apps", "db", "hunter2")).ok());
  std::optional<Json> sealed =
      api.Get("bitnami.com/v1alpha1", "SealedSecret", "apps", "db");
  ASSERT_TRUE(sealed.has_value());
  EXPECT_EQ((*sealed)["status"]["conditions"][0]["status"], "False");
  EXPECT_FALSE(api.Get("v1", "Secret", "apps", "db").has_value());

  // Restart = its pod deleted: both keys loaded, the SealedSecret unsealed.
  const std::string pod = controller.PodName();
  ASSERT_TRUE(api.Delete("v1", "Pod", "kube-system", pod).ok());
  EXPECT_EQ(controller.Starts(), 2);
  EXPECT_NE(controller.PodName(), pod);
  EXPECT_EQ(controller.LoadedKeyCount(), 2u);
  std::optional<Json> secret = api.Get("v1", "Secret", "apps", "db");
  ASSERT_TRUE(secret.has_value());
  std::string value;
  ASSERT_TRUE(absl::Base64Unescape(
      (*secret)["data"]["token"].get<std::string>(), &value));
  EXPECT_EQ(value, "hunter2");
  sealed = api.Get("bitnami.com/v1alpha1", "SealedSecret", "apps", "db");
  EXPECT_EQ((*sealed)["status"]["conditions"][0]["status"], "True");
  // A moved strict SealedSecret fails with the controller's message.
  Json moved = SealedFor(ours->public_key(), "apps", "db", "x");
  moved["metadata"]["name"] = "renamed";
  ASSERT_TRUE(api.Apply(moved).ok());
  sealed = api.Get("bitnami.com/v1alpha1", "SealedSecret", "apps", "renamed");
  EXPECT_EQ((*sealed)["status"]["conditions"][0]["message"],
            "Failed to unseal: no key could decrypt secret");
}

// A key Secret whose certificate starts at `not_before` (2048 bits).
Json KeySecretFrom(const std::string& name, absl::Time not_before) {
  absl::StatusOr<PrivateKey> key = PrivateKey::GenerateRsa(2048);
  EXPECT_TRUE(key.ok());
  CertificateTemplate spec;
  spec.is_ca = true;
  spec.not_before = not_before;
  spec.not_after = not_before + absl::Hours(87600);
  absl::StatusOr<Certificate> certificate =
      IssueCertificate(spec, key->public_key(), *key, nullptr);
  EXPECT_TRUE(certificate.ok());
  return KeySecret(name, *key, *certificate);
}

// Key Secrets in kube-system after a start with one restored key whose
// certificate is `age` old.
struct RenewOutcome {
  size_t loaded = 0;
  std::vector<std::string> names;
};
RenewOutcome StartWithKeyOfAge(absl::Duration age, absl::Duration period) {
  const absl::Time now = absl::FromUnixSeconds(1800000000);
  ApiServerOptions api_options;
  api_options.now = [now] { return now; };
  ApiServer api(api_options);
  EXPECT_TRUE(api.Apply(KeySecretFrom("restored", now - age)).ok());
  SealedSecretsControllerOptions options;
  options.key_bits = 2048;
  options.renew_period = period;
  options.now = [now] { return now; };
  SealedSecretsController controller(api, options);
  EXPECT_TRUE(controller.Start().ok());
  RenewOutcome outcome;
  outcome.loaded = controller.LoadedKeyCount();
  for (const Json& secret : api.List("v1", "Secret", "kube-system")) {
    outcome.names.push_back(secret["metadata"]["name"]);
    if (secret["metadata"]["name"] == "restored") continue;
    // The generated key: the controller's format, NotBefore = now.
    EXPECT_EQ(secret["type"], "kubernetes.io/tls");
    EXPECT_EQ(secret["metadata"]["labels"]
                    ["sealedsecrets.bitnami.com/sealed-secrets-key"],
              "active");
    std::string pem;
    EXPECT_TRUE(absl::Base64Unescape(
        secret["data"]["tls.crt"].get<std::string>(), &pem));
    absl::StatusOr<Certificate> certificate = Certificate::FromPem(pem);
    EXPECT_TRUE(certificate.ok());
    std::string key_pem;
    EXPECT_TRUE(absl::Base64Unescape(
        secret["data"]["tls.key"].get<std::string>(), &key_pem));
    EXPECT_EQ(key_pem.rfind("-----BEGIN RSA PRIVATE KEY-----\n", 0), 0u);
    absl::StatusOr<PrivateKey> key =
        PrivateKey::FromPem(Secret(std::move(key_pem)));
    EXPECT_TRUE(key.ok());
    if (certificate.ok() && key.ok()) {
      EXPECT_EQ(certificate->not_before(), now);
      EXPECT_EQ(certificate->not_after(), now + absl::Hours(87600));
      EXPECT_EQ(certificate->SubjectString(), "");
      EXPECT_TRUE(key->public_key() == *certificate->public_key());
      EXPECT_EQ(key->public_key().RsaModulusBytes(), 256u);
    }
  }
  return outcome;
}

TEST(SealedSecretsControllerTest, GeneratesAtStartWhenNewestKeyIsRenewDue) {
  // Older than the renew period (720h): a new key at start, the old kept.
  RenewOutcome due = StartWithKeyOfAge(absl::Hours(721), absl::Hours(720));
  EXPECT_EQ(due.loaded, 2u);
  ASSERT_EQ(due.names.size(), 2u);
  EXPECT_EQ(due.names[1].rfind("sealed-secrets-key", 0), 0u);  // generateName
  EXPECT_EQ(due.names[0], "restored");
  // Younger: no new key.
  RenewOutcome fresh = StartWithKeyOfAge(absl::Hours(719), absl::Hours(720));
  EXPECT_EQ(fresh.loaded, 1u);
  EXPECT_EQ(fresh.names, std::vector<std::string>{"restored"});
  // Period 0 disables renewal.
  RenewOutcome disabled = StartWithKeyOfAge(absl::Hours(9000), absl::Hours(0));
  EXPECT_EQ(disabled.loaded, 1u);
}

TEST(SealedSecretsInLabTest, StartsWhenDeployedInTheSpecNamespace) {
  ApiServer api;
  v1::ClusterSpec spec;
  std::map<std::string, std::string> options = {
      {"sealed_secrets_key_bits", "2048"}};
  // No sealed_secrets in the spec: nothing.
  absl::StatusOr<std::unique_ptr<SealedSecretsInLab>> none =
      SealedSecretsInLab::ForSpec(api, spec, options);
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(*none, nullptr);
  spec.mutable_sealed_secrets()->set_controller_namespace("sealed-secrets");
  spec.mutable_sealed_secrets()->set_controller_name("ss-controller");
  EXPECT_EQ(SealedSecretsInLab::ForSpec(api, spec, {{"sealed_secrets", "x"}})
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  for (const char* bits : {"1024", "2049", "16384", "big"}) {
    EXPECT_EQ(SealedSecretsInLab::ForSpec(api, spec,
                                          {{"sealed_secrets_key_bits", bits}})
                  .status()
                  .code(),
              absl::StatusCode::kInvalidArgument)
        << bits;
  }
  std::vector<std::string> log;
  absl::StatusOr<std::unique_ptr<SealedSecretsInLab>> lab =
      SealedSecretsInLab::ForSpec(
          api, spec, options,
          [&](const std::string& line) { log.push_back(line); });
  ASSERT_TRUE(lab.ok() && *lab != nullptr);
  EXPECT_EQ((*lab)->controller(), nullptr);
  ASSERT_TRUE(api.Apply(Json{{"apiVersion", "v1"},
                             {"kind", "Namespace"},
                             {"metadata", {{"name", "sealed-secrets"}}}})
                  .ok());
  // A Deployment of another name or namespace does not start it.
  Json deployment = {
      {"apiVersion", "apps/v1"},
      {"kind", "Deployment"},
      {"metadata", {{"name", "other"}, {"namespace", "sealed-secrets"}}}};
  ASSERT_TRUE(api.Apply(deployment).ok());
  EXPECT_EQ((*lab)->controller(), nullptr);
  deployment["metadata"]["name"] = "ss-controller";
  ASSERT_TRUE(api.Apply(deployment).ok());
  ASSERT_NE((*lab)->controller(), nullptr);
  EXPECT_EQ((*lab)->controller()->LoadedKeyCount(), 1u);
  const std::string pod = (*lab)->controller()->PodName();
  EXPECT_EQ(pod.rfind("ss-controller-", 0), 0u);
  EXPECT_TRUE(api.Get("v1", "Pod", "sealed-secrets", pod).has_value());
  ASSERT_EQ(log.size(), 1u);
  EXPECT_NE(log[0].find("1 key(s) loaded"), std::string::npos);
}

}  // namespace
}  // namespace coldstart::lab
