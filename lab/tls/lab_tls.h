// The lab's certificate authority and server certificates for the HTTPS
// simulators (pve, factory, headscale). One CA per lab work directory, shared
// by every module: <workdir>/lab-ca.pem (certificate; what specs name as
// `ca_file`) and <workdir>/lab-ca-key.pem (0600). Created by the first module
// that asks, reused by the others and by later labs on the same work directory.
//
// Built on //lib/secrets:crypto (BoringSSL); the header names no crypto library
// type.
#ifndef COLDSTART_LAB_TLS_LAB_TLS_H_
#define COLDSTART_LAB_TLS_LAB_TLS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace coldstart::lab {

struct ServerCertificateFiles {
  // PEM files: the leaf certificate and its private key (0600).
  std::string cert_path;
  std::string key_path;
  std::string ca_path;
  // SHA-256 of the leaf certificate's DER, lowercase hex with colons
  // ("ab:cd:…"), as Proxmox shows it.
  std::string cert_sha256;
};

// Loads or creates the lab CA in `workdir`, then issues a fresh server
// certificate (ECDSA P-256, 10 years, serverAuth) for `ip_addresses` (and
// DNS "localhost"), written as <workdir>/<name>-cert.pem and
// <workdir>/<name>-key.pem (PKCS#8 "PRIVATE KEY", which httplib's SSLServer
// reads). Errors: FailedPrecondition for an unreadable existing CA,
// PermissionDenied/Internal for file problems, Internal for crypto failures.
absl::StatusOr<ServerCertificateFiles> IssueLabServerCertificate(
    const std::string& workdir, const std::string& name,
    const std::vector<std::string>& ip_addresses);

// Lowercase hex SHA-256 of `data`.
std::string LabSha256Hex(absl::string_view data);

}  // namespace coldstart::lab

#endif  // COLDSTART_LAB_TLS_LAB_TLS_H_
