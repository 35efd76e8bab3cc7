// The Talos secrets bundle (facts/talos.md §3.4): the cluster's CAs, keys and
// tokens, generated once with BoringSSL and kept in the keystore.
//
// Stored form = `talosctl gen secrets` YAML (cluster{id,secret},
// secrets{bootstraptoken,secretboxencryptionsecret}, trustdinfo{token},
// certs{etcd,k8s,k8saggregator,os{crt,key},k8sserviceaccount{key}}, PEM values
// base64-encoded), so a user can hand it to talosctl and back.
//
// Key types and PEM labels are those Talos 1.9.1's parser accepts: OS CA
// Ed25519 "ED25519 PRIVATE KEY"; Kubernetes, aggregator and etcd CAs ECDSA
// P-256 "EC PRIVATE KEY"; service-account key RSA-4096 "RSA PRIVATE KEY".
#ifndef COLDSTART_TOOLS_TALOS_BOOTSTRAP_SECRETS_BUNDLE_H_
#define COLDSTART_TOOLS_TALOS_BOOTSTRAP_SECRETS_BUNDLE_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "lib/secrets/secret.h"

namespace coldstart {

struct CertAndKey {
  std::string crt_pem;
  Secret key_pem;
};

struct SecretsBundle {
  std::string cluster_id;      // 32 random bytes, URL-safe base64 (≤1.13)
  Secret cluster_secret;       // 32 random bytes, standard base64
  Secret bootstrap_token;      // [a-z0-9]{6}.[a-z0-9]{16}
  Secret secretbox_secret;     // 32 random bytes, standard base64
  Secret trustd_token;         // [a-z0-9]{6}.[a-z0-9]{16}
  CertAndKey os_ca;            // machine.ca
  CertAndKey kubernetes_ca;    // cluster.ca
  CertAndKey aggregator_ca;    // cluster.aggregatorCA
  CertAndKey etcd_ca;          // cluster.etcd.ca
  Secret service_account_key;  // cluster.serviceAccount.key (PEM)
};

// A fresh bundle; CAs valid 10 years from `now`. Internal on crypto failure.
absl::StatusOr<SecretsBundle> GenerateSecretsBundle(absl::Time now);

// `6 + "." + 16` characters of [0-9a-z], unbiased.
Secret GenerateTalosToken();
// True for a well-formed token ([a-z0-9]{6}\.[a-z0-9]{16}).
bool IsTalosToken(absl::string_view token);

// The talosctl-format YAML (a Secret: it holds private keys).
Secret SerializeSecretsBundle(const SecretsBundle& bundle);
// Parses SerializeSecretsBundle's output (or talosctl's). InvalidArgument
// naming the missing/malformed field (never its value).
absl::StatusOr<SecretsBundle> ParseSecretsBundle(const Secret& yaml);

// An admin client certificate for the Talos API as Talos makes it (§4):
// Ed25519 key, O=os:admin, no CN, KeyUsage digitalSignature, EKU clientAuth
// only, signed by the OS CA, NotBefore `now` - 10 min, 1 year. The key is
// written as "PRIVATE KEY" (PKCS#8), which OpenSSL/gRPC and talosctl load.
absl::StatusOr<CertAndKey> IssueTalosAdminCertificate(
    const SecretsBundle& bundle, absl::Time now);

}  // namespace coldstart

#endif  // COLDSTART_TOOLS_TALOS_BOOTSTRAP_SECRETS_BUNDLE_H_
