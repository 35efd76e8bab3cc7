#include "lab/kube/kube_pki.h"

#include <arpa/inet.h>

#include <optional>

#include "absl/time/clock.h"
#include "lib/crypto.h"
#include "lib/secret.h"
#include "lib/status_macros.h"

namespace coldstart::lab {
namespace {

bool IsIpv4(const std::string& s) {
  in_addr addr;
  return inet_pton(AF_INET, s.c_str(), &addr) == 1;
}

absl::StatusOr<std::string> KeyPem(const PrivateKey& key) {
  ASSIGN_OR_RETURN(Secret pem, key.ToPem(PrivateKeyPem::kPkcs8));
  return std::string(pem.Reveal());
}

}  // namespace

absl::StatusOr<KubePki> IssueKubePki(
    const std::vector<std::string>& server_addresses,
    const std::string& ca_cert_pem, const std::string& ca_key_pem) {
  const absl::Time now = absl::Now();
  KubePki pki;
  PrivateKey ca_key = PrivateKey::GenerateEcdsaP256();
  std::optional<Certificate> ca;
  if (ca_cert_pem.empty() && ca_key_pem.empty()) {
    CertificateTemplate t;
    t.common_name = "kubernetes";
    t.is_ca = true;
    t.key_usage = kKeyCertSign | kDigitalSignature | kCrlSign;
    t.not_before = now - absl::Hours(1);
    t.not_after = now + absl::Hours(24 * 3650);
    ASSIGN_OR_RETURN(ca,
                     IssueCertificate(t, ca_key.public_key(), ca_key, nullptr));
    pki.ca_cert_pem = ca->ToPem();
    ASSIGN_OR_RETURN(pki.ca_key_pem, KeyPem(ca_key));
  } else {
    ASSIGN_OR_RETURN(ca, Certificate::FromPem(ca_cert_pem));
    ASSIGN_OR_RETURN(ca_key,
                     PrivateKey::FromPem(Secret(std::string(ca_key_pem))));
    pki.ca_cert_pem = ca_cert_pem;
    pki.ca_key_pem = ca_key_pem;
  }
  PrivateKey server_key = PrivateKey::GenerateEcdsaP256();
  CertificateTemplate s;
  s.common_name = "kube-apiserver";
  s.key_usage = kDigitalSignature | kKeyEncipherment;
  s.server_auth = true;
  s.not_before = now - absl::Hours(1);
  s.not_after = now + absl::Hours(24 * 365);
  s.dns_names = {"kubernetes", "kubernetes.default", "localhost"};
  s.ip_addresses = {"127.0.0.1"};
  for (const std::string& a : server_addresses) {
    (IsIpv4(a) ? s.ip_addresses : s.dns_names).push_back(a);
  }
  ASSIGN_OR_RETURN(Certificate server,
                   IssueCertificate(s, server_key.public_key(), ca_key, &*ca));
  pki.server_cert_pem = server.ToPem();
  ASSIGN_OR_RETURN(pki.server_key_pem, KeyPem(server_key));

  PrivateKey admin_key = PrivateKey::GenerateEcdsaP256();
  CertificateTemplate c;
  c.common_name = "admin";
  c.organizations = {"system:masters"};
  c.key_usage = kDigitalSignature | kKeyEncipherment;
  c.client_auth = true;
  c.not_before = now - absl::Hours(1);
  c.not_after = now + absl::Hours(24 * 365);
  ASSIGN_OR_RETURN(Certificate admin,
                   IssueCertificate(c, admin_key.public_key(), ca_key, &*ca));
  pki.admin_cert_pem = admin.ToPem();
  ASSIGN_OR_RETURN(pki.admin_key_pem, KeyPem(admin_key));
  return pki;
}

}  // namespace coldstart::lab
