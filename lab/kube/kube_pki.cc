#include "lab/kube/kube_pki.h"

#include <arpa/inet.h>

#include <optional>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "lib/base/status_macros.h"
#include "lib/secrets/crypto.h"
#include "lib/secrets/secret.h"

namespace coldstart::lab {
namespace {

bool IsIpv4(const std::string& s) {
  in_addr addr;
  return inet_pton(AF_INET, s.c_str(), &addr) == 1;
}

// Valid from an hour ago (clock skew) for `days`.
CertificateTemplate Template(std::string common_name, int days) {
  CertificateTemplate spec;
  spec.common_name = std::move(common_name);
  absl::Time now = absl::Now();
  spec.not_before = now - absl::Hours(1);
  spec.not_after = now + absl::Hours(24) * days;
  return spec;
}

// PKCS#8 "PRIVATE KEY", which both httplib (Debian's OpenSSL) and kubectl
// read.
absl::StatusOr<std::string> KeyPem(const PrivateKey& key) {
  ASSIGN_OR_RETURN(Secret pem, key.ToPem(PrivateKeyPem::kPkcs8));
  return std::string(pem.Reveal());
}

}  // namespace

absl::StatusOr<KubePki> IssueKubePki(
    const std::vector<std::string>& server_addresses,
    const std::string& ca_cert_pem, const std::string& ca_key_pem) {
  KubePki pki;
  std::optional<Certificate> ca;
  std::optional<PrivateKey> ca_key;
  if (ca_cert_pem.empty() && ca_key_pem.empty()) {
    ca_key = PrivateKey::GenerateEcdsaP256();
    CertificateTemplate spec = Template("kubernetes", 3650);
    spec.is_ca = true;
    spec.key_usage = kKeyCertSign | kCrlSign | kDigitalSignature;
    ASSIGN_OR_RETURN(
        ca, IssueCertificate(spec, ca_key->public_key(), *ca_key, nullptr));
    pki.ca_cert_pem = ca->ToPem();
    ASSIGN_OR_RETURN(pki.ca_key_pem, KeyPem(*ca_key));
  } else {
    absl::StatusOr<Certificate> cert = Certificate::FromPem(ca_cert_pem);
    absl::StatusOr<PrivateKey> key =
        PrivateKey::FromPem(Secret(std::string(ca_key_pem)));
    if (!cert.ok() || !key.ok()) {
      return absl::InvalidArgumentError(
          "kube PKI: the cluster CA certificate or key does not parse");
    }
    ca = *std::move(cert);
    ca_key = *std::move(key);
    pki.ca_cert_pem = ca_cert_pem;
    pki.ca_key_pem = ca_key_pem;
  }

  CertificateTemplate server_spec = Template("kube-apiserver", 365);
  server_spec.key_usage = kDigitalSignature | kKeyEncipherment;
  server_spec.server_auth = true;
  server_spec.dns_names = {"kubernetes", "kubernetes.default", "localhost"};
  server_spec.ip_addresses = {"127.0.0.1"};
  for (const std::string& a : server_addresses) {
    (IsIpv4(a) ? server_spec.ip_addresses : server_spec.dns_names).push_back(a);
  }
  PrivateKey server_key = PrivateKey::GenerateEcdsaP256();
  ASSIGN_OR_RETURN(
      Certificate server,
      IssueCertificate(server_spec, server_key.public_key(), *ca_key, &*ca));
  pki.server_cert_pem = server.ToPem();
  ASSIGN_OR_RETURN(pki.server_key_pem, KeyPem(server_key));

  CertificateTemplate admin_spec = Template("admin", 365);
  admin_spec.organizations = {"system:masters"};
  admin_spec.key_usage = kDigitalSignature | kKeyEncipherment;
  admin_spec.client_auth = true;
  PrivateKey admin_key = PrivateKey::GenerateEcdsaP256();
  ASSIGN_OR_RETURN(
      Certificate admin,
      IssueCertificate(admin_spec, admin_key.public_key(), *ca_key, &*ca));
  pki.admin_cert_pem = admin.ToPem();
  ASSIGN_OR_RETURN(pki.admin_key_pem, KeyPem(admin_key));
  return pki;
}

}  // namespace coldstart::lab
