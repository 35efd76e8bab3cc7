#include "lab/kube/sealed_secrets/sealed_secrets_controller.h"

#include <string>

#include "absl/strings/escaping.h"
#include "gtest/gtest.h"
#include "lab/kube/api_server.h"
#include "lib/crypto.h"
#include "lib/secret.h"

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

}  // namespace
}  // namespace coldstart::lab
