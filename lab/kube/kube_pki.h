// Certificates for the Kubernetes API simulator: the cluster CA (or the
// world model's), the apiserver's serving certificate and an admin client
// certificate, issued with //lib/secrets:crypto. Plain PEM strings (private
// keys as PKCS#8 "PRIVATE KEY", which httplib's OpenSSL and kubectl both read).
// Lab-internal material: never logged.
#ifndef COLDSTART_LAB_KUBE_KUBE_PKI_H_
#define COLDSTART_LAB_KUBE_KUBE_PKI_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace coldstart::lab {

struct KubePki {
  std::string ca_cert_pem;
  std::string ca_key_pem;
  std::string server_cert_pem;
  std::string server_key_pem;
  // CN=admin, O=system:masters (what talosctl kubeconfig issues).
  std::string admin_cert_pem;
  std::string admin_key_pem;
};

// Issues a serving certificate for `server_addresses` (IPs become IP SANs,
// anything else DNS SANs; "kubernetes", "localhost" and 127.0.0.1 are always
// included) and an admin client certificate, both ECDSA P-256, valid one
// year, signed by the CA given as PEM (any key PEM lib/crypto reads) or,
// when both are empty, by a new self-signed ECDSA P-256 CA (ten years).
// InvalidArgument for an unreadable CA, a CA key that does not match its
// certificate, or a malformed address.
absl::StatusOr<KubePki> IssueKubePki(
    const std::vector<std::string>& server_addresses,
    const std::string& ca_cert_pem = "", const std::string& ca_key_pem = "");

}  // namespace coldstart::lab

#endif  // COLDSTART_LAB_KUBE_KUBE_PKI_H_
