// The simulator's 1.9.1 validation: the golden configs of talos-bootstrap
// pass; what Talos 1.9.1 rejects is rejected with its message.
#include "lab/talos/config_validation.h"

#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/str_replace.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lab/talos/golden_configs.h"
#include "lab/talos/talos_pki.h"

namespace coldstart::lab {
namespace {

using ::testing::HasSubstr;

std::string Rejection(const std::string& yaml) {
  absl::StatusOr<TalosMachineConfig> config = ValidateMachineConfig(yaml);
  EXPECT_FALSE(config.ok());
  if (config.ok()) return "";
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(config.status().message());
}

// Replaces the first line starting with `prefix` (after indentation).
std::string ReplaceLine(const std::string& yaml, const std::string& prefix,
                        const std::string& replacement) {
  size_t at = yaml.find(prefix);
  EXPECT_NE(at, std::string::npos) << prefix;
  size_t end = yaml.find('\n', at);
  return yaml.substr(0, at) + replacement + yaml.substr(end);
}

TEST(ConfigValidation, GoldenConfigsPass) {
  absl::StatusOr<TalosMachineConfig> cp =
      ValidateMachineConfig(GoldenControlPlaneConfig());
  ASSERT_TRUE(cp.ok()) << cp.status();
  EXPECT_TRUE(cp->control_plane);
  EXPECT_EQ(cp->hostname, "ctrl-1");
  EXPECT_EQ(cp->vip, "127.0.3.1");
  EXPECT_EQ(cp->endpoint, "https://127.0.3.1:6443");
  EXPECT_FALSE(cp->os_ca_key_pem.empty());
  EXPECT_FALSE(cp->etcd_ca_key_pem.empty());
  EXPECT_EQ(cp->extension_env["tailscale"]["TS_HOSTNAME"], "ctrl-1");
  absl::StatusOr<TalosMachineConfig> w =
      ValidateMachineConfig(GoldenWorkerConfig());
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_FALSE(w->control_plane);
  EXPECT_TRUE(w->os_ca_key_pem.empty());
  EXPECT_EQ(w->extension_env["tailscale"]["TS_ROUTES"], "127.0.3.0/24");
}

TEST(ConfigValidation, CaPrivateKeyOnAWorker) {
  // Put the control plane's machine.ca (with key) into the worker config.
  const size_t at = GoldenControlPlaneConfig().find("  ca:\n    crt: ");
  const std::string cp_ca = GoldenControlPlaneConfig().substr(
      at, GoldenControlPlaneConfig().find("  certSANs:") - at);
  const size_t w_at = GoldenWorkerConfig().find("  ca:\n    crt: ");
  std::string worker =
      GoldenWorkerConfig().substr(0, w_at) + cp_ca +
      GoldenWorkerConfig().substr(GoldenWorkerConfig().find("  certSANs:"));
  EXPECT_THAT(Rejection(worker),
              HasSubstr("machine.ca.key should not be set for worker"));
}

TEST(ConfigValidation, VipOnAWorker) {
  std::string worker = absl::StrReplaceAll(
      GoldenWorkerConfig(),
      {{"            gateway: 127.0.0.1\n",
        "            gateway: 127.0.0.1\n        vip:\n          ip: "
        "127.0.3.1\n"}});
  EXPECT_THAT(Rejection(worker),
              HasSubstr("virtual (shared) IP is not allowed on "
                        "non-controlplane nodes"));
}

TEST(ConfigValidation, CniNoneWithUrls) {
  std::string cp = absl::StrReplaceAll(
      GoldenControlPlaneConfig(),
      {{"      name: none\n",
        "      name: none\n      urls:\n        - https://x/cni.yaml\n"}});
  EXPECT_THAT(Rejection(cp), HasSubstr("\"urls\" field should be empty"));
}

TEST(ConfigValidation, MalformedTokens) {
  EXPECT_THAT(Rejection(ReplaceLine(GoldenControlPlaneConfig(), "token: ",
                                    "token: ABCDEF.0123456789abcdef")),
              HasSubstr("invalid machine token"));
  const size_t cluster = GoldenControlPlaneConfig().find("\ncluster:");
  std::string cp = GoldenControlPlaneConfig();
  const size_t token = cp.find("  token: ", cluster);
  cp = cp.substr(0, token) + "  token: short" + cp.substr(cp.find('\n', token));
  EXPECT_THAT(Rejection(cp), HasSubstr("invalid bootstrap token"));
}

TEST(ConfigValidation, WrongPemLabels) {
  // The OS CA key relabelled as generic PKCS#8: accepted only from 1.11.
  absl::StatusOr<TalosMachineConfig> cp =
      ValidateMachineConfig(GoldenControlPlaneConfig());
  ASSERT_TRUE(cp.ok());
  const std::string relabelled = NormalizeKeyPemForOpenSsl(cp->os_ca_key_pem);
  ASSERT_NE(relabelled, cp->os_ca_key_pem);
  std::string yaml = absl::StrReplaceAll(
      GoldenControlPlaneConfig(), {{absl::Base64Escape(cp->os_ca_key_pem),
                                    absl::Base64Escape(relabelled)}});
  EXPECT_THAT(Rejection(yaml),
              HasSubstr("unsupported key type: \"PRIVATE KEY\""));
  // A certificate where a key belongs.
  yaml = absl::StrReplaceAll(GoldenControlPlaneConfig(),
                             {{absl::Base64Escape(cp->os_ca_key_pem),
                               absl::Base64Escape(cp->os_ca_cert_pem)}});
  EXPECT_THAT(Rejection(yaml),
              HasSubstr("unsupported key type: \"CERTIFICATE\""));
}

TEST(ConfigValidation, PersistFalseAndMissingVersion) {
  EXPECT_THAT(Rejection(ReplaceLine(GoldenControlPlaneConfig(), "persist: true",
                                    "persist: false")),
              HasSubstr("persist"));
  EXPECT_THAT(Rejection(ReplaceLine(GoldenControlPlaneConfig(),
                                    "version: v1alpha1", "kind: Whatever")),
              HasSubstr("unknown document kind"));
}

TEST(TalosPki, MaintenanceCertificateIsEd25519WithTheMaintenanceCn) {
  absl::StatusOr<PemKeyPair> cert =
      IssueMaintenanceCertificate({"127.0.1.1"}, "ctrl-1");
  ASSERT_TRUE(cert.ok());
  EXPECT_TRUE(KeyMatchesCertificate(cert->cert_pem, cert->key_pem));
  // Ed25519 private keys in PKCS#8 are 48 bytes of DER: short PEM.
  EXPECT_LT(cert->key_pem.size(), 140u);
}

TEST(TalosPki, ClientEkuMustBeExactlyClientAuth) {
  absl::StatusOr<TalosMachineConfig> cp =
      ValidateMachineConfig(GoldenControlPlaneConfig());
  ASSERT_TRUE(cp.ok());
  // A server cert (EKU serverAuth) is not a client cert.
  absl::StatusOr<PemKeyPair> server = IssueApidCertificate(
      cp->os_ca_cert_pem, cp->os_ca_key_pem, "ctrl-1", {"127.0.1.1"});
  ASSERT_TRUE(server.ok());
  EXPECT_EQ(CheckClientChainExtKeyUsage(server->cert_pem).code(),
            absl::StatusCode::kPermissionDenied);
  // The kubeconfig admin cert has exactly clientAuth.
  absl::StatusOr<PemKeyPair> admin = IssueKubernetesAdminCertificate(
      cp->kubernetes_ca_cert_pem, cp->kubernetes_ca_key_pem);
  ASSERT_TRUE(admin.ok());
  EXPECT_TRUE(CheckClientChainExtKeyUsage(admin->cert_pem).ok());
  EXPECT_THAT(CertificateOrganizations(admin->cert_pem),
              ::testing::ElementsAre("system:masters"));
}

}  // namespace
}  // namespace coldstart::lab
