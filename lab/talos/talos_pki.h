// Certificates of the Talos simulator, on //lib/secrets:crypto (BoringSSL). PEM
// strings in and out; the header names no crypto library type. Lab-internal
// key material: never logged.
#ifndef COLDSTART_LAB_TALOS_TALOS_PKI_H_
#define COLDSTART_LAB_TALOS_TALOS_PKI_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace coldstart::lab {

struct PemKeyPair {
  std::string cert_pem;
  std::string key_pem;  // "PRIVATE KEY" (PKCS#8)
};

// Talos's maintenance certificate (facts/talos.md §1): a per-boot,
// self-signed Ed25519 CA and an Ed25519 leaf with CN
// "maintenance-service.talos.dev", SANs = `ips` + 127.0.0.1 + ::1 +
// `hostname`, EKU serverAuth, valid 24 h. Returns the leaf.
absl::StatusOr<PemKeyPair> IssueMaintenanceCertificate(
    const std::vector<std::string>& ips, const std::string& hostname);

// apid's configured-mode server certificate: signed by the OS CA (key type
// follows the CA's: Ed25519 -> Ed25519, EC -> P-256, RSA -> RSA-2048), CN =
// hostname, SANs = `sans` (IPs and DNS names split) + 127.0.0.1, EKU
// serverAuth, 24 h. InvalidArgument for an unusable CA.
absl::StatusOr<PemKeyPair> IssueApidCertificate(
    const std::string& ca_cert_pem, const std::string& ca_key_pem,
    const std::string& hostname, const std::vector<std::string>& sans);

// The Kubeconfig admin certificate (§2.2): ECDSA P-256, CN admin, O
// system:masters, EKU clientAuth, signed by the Kubernetes CA, NotBefore now
// - 10 s, one year.
absl::StatusOr<PemKeyPair> IssueKubernetesAdminCertificate(
    const std::string& ca_cert_pem, const std::string& ca_key_pem);

// The label of the first PEM block ("CERTIFICATE", "EC PRIVATE KEY", ...);
// InvalidArgument when `pem` holds no PEM block.
absl::StatusOr<std::string> PemLabel(absl::string_view pem);

// Checks that `pem` is one readable certificate (InvalidArgument otherwise).
absl::Status CheckCertificatePem(const std::string& pem);
// Checks that `pem` is a readable private key under one of the labels Talos
// 1.9.1 accepts ("RSA PRIVATE KEY", "EC PRIVATE KEY", "ED25519 PRIVATE
// KEY"); generic "PRIVATE KEY" is refused (accepted only from 1.11).
absl::Status CheckTalosKeyPem(const std::string& pem);
// True if `key_pem` is the private key of `cert_pem`.
bool KeyMatchesCertificate(const std::string& cert_pem,
                           const std::string& key_pem);

// apid's client-certificate rule: every non-CA certificate (basic constraints
// CA:FALSE or absent) of the chain (PEM, leaf first) has ExtKeyUsage exactly
// [clientAuth]. As in Talos (Go's crypto/x509), only the extended key usages
// Go knows count; OIDs it does not know are ignored. PermissionDenied naming
// the offending subject otherwise, or when `chain_pem` holds no certificate.
absl::Status CheckClientChainExtKeyUsage(const std::string& chain_pem);
// Subject Organization values of the first certificate of `cert_pem`.
std::vector<std::string> CertificateOrganizations(const std::string& cert_pem);

// "-----BEGIN ED25519 PRIVATE KEY-----" -> "-----BEGIN PRIVATE KEY-----"
// (the body already is PKCS#8): Talos's key PEM under the generic label that
// OpenSSL and Talos >= 1.11 read (this module's own readers take both).
std::string NormalizeKeyPemForOpenSsl(const std::string& pem);

}  // namespace coldstart::lab

#endif  // COLDSTART_LAB_TALOS_TALOS_PKI_H_
