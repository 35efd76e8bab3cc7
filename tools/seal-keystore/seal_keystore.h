// seal-keystore: owns the sealed-secrets keypair for its whole life (see
// README.md): init, import, cert, renew-cert, seal (single and batch),
// unseal, check; backup and restore talk to the Kubernetes API.
//
// Keys live in the keystore (lib/keystore.h): the newest sealing key under
// the playbook's attributes, older ones archived. "Newest" is the controller's
// notion: the latest certificate NotBefore. Keys are never deleted or
// replaced by this tool; a key is identified by its public key, so the same
// key with a renewed certificate is one key.
#ifndef COLDSTART_TOOLS_SEAL_KEYSTORE_SEAL_KEYSTORE_H_
#define COLDSTART_TOOLS_SEAL_KEYSTORE_SEAL_KEYSTORE_H_

#include <cstdio>
#include <istream>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "lib/cli/cli.h"
#include "lib/cli/events.h"
#include "lib/secrets/crypto.h"
#include "lib/secrets/keystore.h"
#include "proto/coldstart/v1/cluster.pb.h"

namespace coldstart {

inline constexpr char kSealingKeyCommonName[] = "sealed-secrets";

// A sealing key as stored, parsed and checked.
struct SealingKeyPair {
  PrivateKey key;
  Certificate certificate;
  SealingKey stored;  // The PEM texts.
  // First 16 hex digits of the SHA-256 of the public key (DER): stable
  // across certificate renewals; names the key in messages and Secrets.
  std::string id;
};

// Parses and checks a stored pair: an RSA private key and a certificate of
// the same public key. InvalidArgument naming `what` otherwise.
absl::StatusOr<SealingKeyPair> CheckSealingKey(SealingKey stored,
                                               absl::string_view what);

// Every sealing key in `keystore`, the newest (playbook attributes) first.
absl::StatusOr<std::vector<SealingKeyPair>> LoadSealingKeyPairs(
    Keystore& keystore);

// Adds the keys of `incoming` the keystore lacks (by public key); the one
// with the latest NotBefore of all becomes the newest (the previous newest is
// archived), the others are archived. Returns the ids added. With `dry_run`
// only computes them.
absl::StatusOr<std::vector<std::string>> MergeSealingKeys(
    Keystore& keystore, const std::vector<SealingKeyPair>& incoming,
    bool dry_run);

// The keystore a run uses: --keystore, else $COLDSTART_KEYSTORE, else the
// spec's sealed_secrets.keystore (if a spec is at hand), else
// "secret-service".
std::string ResolveKeystoreSpec(absl::string_view flag,
                                absl::string_view spec_keystore);

struct SealKeystoreOptions {
  // init | import | cert | renew-cert | seal | unseal | check | backup |
  // restore
  std::string command;
  // Positional arguments after the command (files, a directory).
  std::vector<std::string> args;
  CommonOptions common;

  // init / renew-cert / import of a bare key: the certificate made.
  absl::Duration validity = absl::Hours(87600);
  std::string common_name = kSealingKeyCommonName;
  int rsa_bits = 4096;
  // renew-cert: renew when the certificate expires within this (or --force).
  absl::Duration renew_before = absl::Hours(24 * 30);
  bool force = false;

  // seal: the scope (overrides the Secret's annotations; empty: them), a
  // namespace for Secrets without one, a certificate file instead of the
  // keystore's, an existing SealedSecret file whose unchanged values are kept.
  std::string scope;
  std::string namespace_;
  std::string cert_file;
  std::string previous_file;
  // seal --batch: seal the spec's sealed_secrets.items into the GitOps
  // checkout (spec.gitops.checkout relative to the spec file's directory,
  // or `gitops_checkout` when set).
  bool batch = false;
  std::string gitops_checkout;

  // backup / restore: the kubeconfig (empty: status.talos_bootstrap's or
  // spec.talos's kubeconfig_path, else $KUBECONFIG / ~/.kube/config), its
  // context, and whether an insecure-skip-tls-verify kubeconfig is allowed.
  // `namespace_` overrides spec.sealed_secrets.controller_namespace (else
  // kube-system).
  std::string kubeconfig;
  std::string context;
  bool insecure = false;

  // Time source (tests); nullptr: the real clock.
  Clock* clock = nullptr;
};

struct SealKeystoreIo {
  std::istream* in = nullptr;    // Secret / SealedSecret input for "-".
  std::ostream* out = nullptr;   // The command's product (YAML, PEM, Cluster).
  std::FILE* progress = stderr;  // Human progress lines; nullptr: none.
};

// backup: reads every key Secret of the controller's namespace (label
// sealedsecrets.bitnami.com/sealed-secrets-key, any value, plus the legacy
// Secret sealed-secrets-key) into the keystore with MergeSealingKeys; keys
// already held are not written again. Passes the Cluster through with
// status.seal.backed_up_keys. FailedPrecondition when there is no key Secret.
//
// restore: a backup first (a key the controller made is never lost), then
// one key Secret (kubernetes.io/tls, label ...=active and
// app.kubernetes.io/managed-by=coldstart, named sealed-secrets-key-<id>) per
// keystore key the namespace lacks, by server-side apply; then every running
// controller pod that started before the newest of our key Secrets (or any,
// when this run applied one) is deleted so that the controller restarts and
// loads them; then a backup again. Writes status.seal.restored_keys and
// restarted_pods. A re-run on a restored cluster writes nothing.
//
// Runs one subcommand. Errors follow DESIGN.md: InvalidArgument for bad input
// or usage (exit 2, nothing changed), FailedPrecondition when the world is
// not as needed (no key yet, expired certificate, SealedSecrets that do not
// decrypt), other codes from the keystore.
absl::Status RunSealKeystore(const SealKeystoreOptions& options,
                             const SealKeystoreIo& io);

}  // namespace coldstart

#endif  // COLDSTART_TOOLS_SEAL_KEYSTORE_SEAL_KEYSTORE_H_
