#include "lab/talos/talos_pki.h"

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/algorithm/container.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "lib/base/status_macros.h"
#include "lib/secrets/crypto.h"
#include "lib/secrets/secret.h"

namespace coldstart::lab {
namespace {

// The extended key usages Go's crypto/x509 parses into
// Certificate.ExtKeyUsage; any other OID lands in UnknownExtKeyUsage, which
// Talos's client-certificate rule does not look at.
constexpr absl::string_view kGoKnownExtKeyUsageOids[] = {
    kAnyExtendedKeyUsageOid,  kServerAuthOid, kClientAuthOid,
    "1.3.6.1.5.5.7.3.3",       // codeSigning
    "1.3.6.1.5.5.7.3.4",       // emailProtection
    "1.3.6.1.5.5.7.3.5",       // ipsecEndSystem
    "1.3.6.1.5.5.7.3.6",       // ipsecTunnel
    "1.3.6.1.5.5.7.3.7",       // ipsecUser
    "1.3.6.1.5.5.7.3.8",       // timeStamping
    "1.3.6.1.5.5.7.3.9",       // OCSPSigning
    "1.3.6.1.4.1.311.10.3.3",  // Microsoft server gated crypto
    "2.16.840.1.113730.4.1",   // Netscape server gated crypto
    "1.3.6.1.4.1.311.2.1.22",  // Microsoft commercial code signing
    "1.3.6.1.4.1.311.61.1.1",  // Microsoft kernel code signing
};

absl::StatusOr<PrivateKey> GenerateKey(KeyType type) {
  switch (type) {
    case KeyType::kEd25519:
      return PrivateKey::GenerateEd25519();
    case KeyType::kRsa:
      return PrivateKey::GenerateRsa(2048);
    case KeyType::kEcdsaP256:
      return PrivateKey::GenerateEcdsaP256();
  }
  return absl::InternalError("unknown key type");
}

// PKCS#8 "PRIVATE KEY", which gRPC (Debian's OpenSSL) and kubectl read.
absl::StatusOr<std::string> KeyPem(const PrivateKey& key) {
  ASSIGN_OR_RETURN(Secret pem, key.ToPem(PrivateKeyPem::kPkcs8));
  return std::string(pem.Reveal());
}

absl::StatusOr<PemKeyPair> ToPemKeyPair(const Certificate& cert,
                                        const PrivateKey& key) {
  ASSIGN_OR_RETURN(std::string key_pem, KeyPem(key));
  return PemKeyPair{cert.ToPem(), std::move(key_pem)};
}

// Valid from `now + not_before_offset` for `lifetime`.
CertificateTemplate Template(absl::Duration not_before_offset,
                             absl::Duration lifetime) {
  CertificateTemplate spec;
  spec.not_before = absl::Now() + not_before_offset;
  spec.not_after = spec.not_before + lifetime;
  return spec;
}

// Splits `names` into IP and DNS subjectAltNames, dropping empty and repeated
// entries.
void AddSans(const std::vector<std::string>& names, CertificateTemplate* spec) {
  for (const std::string& n : names) {
    if (n.empty()) continue;
    const bool ip = n.find_first_not_of("0123456789.") == std::string::npos ||
                    n.find(':') != std::string::npos;
    std::vector<std::string>& list = ip ? spec->ip_addresses : spec->dns_names;
    if (!absl::c_linear_search(list, n)) list.push_back(n);
  }
}

std::optional<Certificate> ReadCert(const std::string& pem) {
  absl::StatusOr<Certificate> cert = Certificate::FromPem(pem);
  if (!cert.ok()) return std::nullopt;
  return *std::move(cert);
}

std::optional<PrivateKey> ReadKey(const std::string& pem) {
  absl::StatusOr<PrivateKey> key =
      PrivateKey::FromPem(Secret(std::string(pem)));
  if (!key.ok()) return std::nullopt;
  return *std::move(key);
}

}  // namespace

std::string NormalizeKeyPemForOpenSsl(const std::string& pem) {
  return absl::StrReplaceAll(
      pem,
      {{"-----BEGIN ED25519 PRIVATE KEY-----", "-----BEGIN PRIVATE KEY-----"},
       {"-----END ED25519 PRIVATE KEY-----", "-----END PRIVATE KEY-----"}});
}

absl::StatusOr<PemKeyPair> IssueMaintenanceCertificate(
    const std::vector<std::string>& ips, const std::string& hostname) {
  PrivateKey ca_key = PrivateKey::GenerateEd25519();
  PrivateKey leaf_key = PrivateKey::GenerateEd25519();
  CertificateTemplate ca_spec = Template(absl::ZeroDuration(), absl::Hours(24));
  ca_spec.organizations = {"talos"};
  ca_spec.is_ca = true;
  ca_spec.key_usage = kKeyCertSign | kDigitalSignature;
  ASSIGN_OR_RETURN(
      Certificate ca,
      IssueCertificate(ca_spec, ca_key.public_key(), ca_key, nullptr));
  std::vector<std::string> names = ips;
  names.push_back("127.0.0.1");
  names.push_back("::1");
  names.push_back(hostname);
  CertificateTemplate leaf_spec =
      Template(absl::ZeroDuration(), absl::Hours(24));
  leaf_spec.common_name = "maintenance-service.talos.dev";
  leaf_spec.key_usage = kDigitalSignature;
  leaf_spec.server_auth = true;
  AddSans(names, &leaf_spec);
  ASSIGN_OR_RETURN(
      Certificate leaf,
      IssueCertificate(leaf_spec, leaf_key.public_key(), ca_key, &ca));
  return ToPemKeyPair(leaf, leaf_key);
}

absl::StatusOr<PemKeyPair> IssueApidCertificate(
    const std::string& ca_cert_pem, const std::string& ca_key_pem,
    const std::string& hostname, const std::vector<std::string>& sans) {
  std::optional<Certificate> ca = ReadCert(ca_cert_pem);
  std::optional<PrivateKey> ca_key = ReadKey(ca_key_pem);
  if (!ca || !ca_key) return absl::InvalidArgumentError("unreadable OS CA");
  ASSIGN_OR_RETURN(PrivateKey key, GenerateKey(ca_key->type()));
  std::vector<std::string> names = sans;
  names.push_back("127.0.0.1");
  names.push_back(hostname);
  CertificateTemplate spec = Template(absl::Seconds(-60), absl::Hours(24));
  spec.common_name = hostname;
  spec.key_usage = kDigitalSignature;
  spec.server_auth = true;
  AddSans(names, &spec);
  ASSIGN_OR_RETURN(Certificate cert,
                   IssueCertificate(spec, key.public_key(), *ca_key, &*ca));
  return ToPemKeyPair(cert, key);
}

absl::StatusOr<PemKeyPair> IssueKubernetesAdminCertificate(
    const std::string& ca_cert_pem, const std::string& ca_key_pem) {
  std::optional<Certificate> ca = ReadCert(ca_cert_pem);
  std::optional<PrivateKey> ca_key = ReadKey(ca_key_pem);
  if (!ca || !ca_key) {
    return absl::FailedPreconditionError("cluster CA is not available");
  }
  PrivateKey key = PrivateKey::GenerateEcdsaP256();
  CertificateTemplate spec =
      Template(absl::Seconds(-10), absl::Hours(365 * 24));
  spec.common_name = "admin";
  spec.organizations = {"system:masters"};
  spec.key_usage = kDigitalSignature | kKeyEncipherment;
  spec.client_auth = true;
  ASSIGN_OR_RETURN(Certificate cert,
                   IssueCertificate(spec, key.public_key(), *ca_key, &*ca));
  return ToPemKeyPair(cert, key);
}

absl::StatusOr<std::string> PemLabel(absl::string_view pem) {
  const size_t begin = pem.find("-----BEGIN ");
  if (begin == absl::string_view::npos) {
    return absl::InvalidArgumentError("no PEM block");
  }
  const size_t start = begin + 11;
  const size_t end = pem.find("-----", start);
  if (end == absl::string_view::npos) {
    return absl::InvalidArgumentError("no PEM block");
  }
  return std::string(pem.substr(start, end - start));
}

absl::Status CheckCertificatePem(const std::string& pem) {
  absl::StatusOr<std::string> label = PemLabel(pem);
  if (!label.ok() || *label != "CERTIFICATE" || !ReadCert(pem)) {
    return absl::InvalidArgumentError("failed to parse PEM certificate");
  }
  return absl::OkStatus();
}

absl::Status CheckTalosKeyPem(const std::string& pem) {
  absl::StatusOr<std::string> label = PemLabel(pem);
  if (!label.ok()) {
    return absl::InvalidArgumentError("failed to decode PEM key");
  }
  if (*label != "RSA PRIVATE KEY" && *label != "EC PRIVATE KEY" &&
      *label != "ED25519 PRIVATE KEY") {
    return absl::InvalidArgumentError(
        absl::StrCat("unsupported key type: \"", *label, "\""));
  }
  if (!ReadKey(pem)) {
    return absl::InvalidArgumentError(absl::StrCat("failed to parse ", *label));
  }
  return absl::OkStatus();
}

bool KeyMatchesCertificate(const std::string& cert_pem,
                           const std::string& key_pem) {
  std::optional<Certificate> cert = ReadCert(cert_pem);
  std::optional<PrivateKey> key = ReadKey(key_pem);
  if (!cert || !key) return false;
  absl::StatusOr<PublicKey> cert_key = cert->public_key();
  return cert_key.ok() && *cert_key == key->public_key();
}

absl::Status CheckClientChainExtKeyUsage(const std::string& chain_pem) {
  absl::StatusOr<std::vector<Certificate>> chain =
      Certificate::AllFromPem(chain_pem);
  if (!chain.ok()) {
    return absl::PermissionDeniedError(
        absl::StrCat("no client certificate (", chain.status().message(), ")"));
  }
  for (const Certificate& cert : *chain) {
    if (cert.IsCa()) continue;
    absl::StatusOr<std::vector<std::string>> oids = cert.ExtendedKeyUsageOids();
    std::vector<std::string> known;
    if (oids.ok()) {
      for (const std::string& oid : *oids) {
        if (absl::c_linear_search(kGoKnownExtKeyUsageOids, oid)) {
          known.push_back(oid);
        }
      }
    }
    if (known.size() != 1 || known[0] != kClientAuthOid) {
      return absl::PermissionDeniedError(
          absl::StrCat("certificate ", cert.SubjectString(),
                       ": ExtKeyUsage must be exactly [clientAuth]"));
    }
  }
  return absl::OkStatus();
}

std::vector<std::string> CertificateOrganizations(const std::string& cert_pem) {
  std::optional<Certificate> cert = ReadCert(cert_pem);
  if (!cert) return {};
  return cert->Organizations();
}

}  // namespace coldstart::lab
