#include "lab/kube/kube_pki.h"

#include <string>

#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "lib/secrets/crypto.h"
#include "lib/secrets/secret.h"

namespace coldstart::lab {
namespace {

Certificate Cert(const std::string& pem) {
  absl::StatusOr<Certificate> cert = Certificate::FromPem(pem);
  EXPECT_TRUE(cert.ok()) << cert.status();
  return *cert;
}

PrivateKey Key(const std::string& pem) {
  EXPECT_EQ(pem.rfind("-----BEGIN PRIVATE KEY-----\n", 0), 0u);
  absl::StatusOr<PrivateKey> key =
      PrivateKey::FromPem(Secret(std::string(pem)));
  EXPECT_TRUE(key.ok()) << key.status();
  return *key;
}

TEST(KubePkiTest, NewCaServingAndAdminCertificates) {
  absl::StatusOr<KubePki> pki = IssueKubePki({"10.5.0.10", "api.example"});
  ASSERT_TRUE(pki.ok()) << pki.status();
  Certificate ca = Cert(pki->ca_cert_pem);
  EXPECT_EQ(ca.SubjectString(), "CN=kubernetes");
  EXPECT_TRUE(Key(pki->ca_key_pem).public_key() == *ca.public_key());
  EXPECT_GT(ca.not_after(), absl::Now() + absl::Hours(24 * 3000));

  Certificate server = Cert(pki->server_cert_pem);
  EXPECT_EQ(server.SubjectString(), "CN=kube-apiserver");
  EXPECT_TRUE(Key(pki->server_key_pem).public_key() == *server.public_key());
  for (const char* host : {"10.5.0.10", "api.example", "127.0.0.1",
                           "kubernetes", "kubernetes.default", "localhost"}) {
    EXPECT_TRUE(
        VerifyCertificateChain(server, {}, {ca}, absl::Now(), host).ok())
        << host;
  }
  EXPECT_FALSE(
      VerifyCertificateChain(server, {}, {ca}, absl::Now(), "10.5.0.11").ok());

  Certificate admin = Cert(pki->admin_cert_pem);
  EXPECT_EQ(admin.SubjectString(), "CN=admin,O=system:masters");
  EXPECT_TRUE(Key(pki->admin_key_pem).public_key() == *admin.public_key());
  EXPECT_TRUE(VerifyCertificateChain(admin, {}, {ca}, absl::Now()).ok());
}

TEST(KubePkiTest, GivenCaSignsAndIsPassedThrough) {
  // The world's CA as Talos writes it ("EC PRIVATE KEY").
  PrivateKey ca_key = PrivateKey::GenerateEcdsaP256();
  CertificateTemplate spec;
  spec.common_name = "world kubernetes";
  spec.is_ca = true;
  spec.key_usage = kKeyCertSign | kDigitalSignature;
  spec.not_before = absl::Now() - absl::Hours(1);
  spec.not_after = absl::Now() + absl::Hours(100);
  absl::StatusOr<Certificate> ca =
      IssueCertificate(spec, ca_key.public_key(), ca_key, nullptr);
  ASSERT_TRUE(ca.ok());
  absl::StatusOr<Secret> ca_key_pem = ca_key.ToPem(PrivateKeyPem::kTalos);
  ASSERT_TRUE(ca_key_pem.ok());
  const std::string key_pem(ca_key_pem->Reveal());
  ASSERT_EQ(key_pem.rfind("-----BEGIN EC PRIVATE KEY-----", 0), 0u);

  absl::StatusOr<KubePki> pki =
      IssueKubePki({"10.5.0.10"}, ca->ToPem(), key_pem);
  ASSERT_TRUE(pki.ok()) << pki.status();
  EXPECT_EQ(pki->ca_cert_pem, ca->ToPem());
  EXPECT_EQ(pki->ca_key_pem, key_pem);
  EXPECT_TRUE(VerifyCertificateChain(Cert(pki->server_cert_pem), {}, {*ca},
                                     absl::Now(), "10.5.0.10")
                  .ok());
  EXPECT_TRUE(
      VerifyCertificateChain(Cert(pki->admin_cert_pem), {}, {*ca}, absl::Now())
          .ok());

  // A key that is not the certificate's, or garbage: InvalidArgument.
  absl::StatusOr<Secret> other =
      PrivateKey::GenerateEcdsaP256().ToPem(PrivateKeyPem::kPkcs8);
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(IssueKubePki({}, ca->ToPem(), std::string(other->Reveal()))
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(IssueKubePki({}, "garbage", key_pem).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace coldstart::lab
