// What one seal-keystore run is asked to do (README.md): the subcommand, its
// arguments and flags.
#ifndef COLDSTART_TOOLS_SEAL_KEYSTORE_SEAL_KEYSTORE_OPTIONS_H_
#define COLDSTART_TOOLS_SEAL_KEYSTORE_SEAL_KEYSTORE_OPTIONS_H_

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "lib/cli/cli.h"
#include "lib/kube/cluster_kubeconfig.h"

namespace coldstart {

inline constexpr char kSealingKeyCommonName[] = "sealed-secrets";

struct SealKeystoreOptions {
  // init | import | cert | renew-cert | seal | unseal | check | backup |
  // restore
  std::string command;
  // Positional arguments after the command (files, a directory; "-" is
  // standard input).
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

  // backup / restore: how to reach the Kubernetes API (lib/cli/kube_flags.h).
  // `namespace_` overrides spec.sealed_secrets.controller_namespace (else
  // kube-system).
  KubeAccessOptions kube;
};

}  // namespace coldstart

#endif  // COLDSTART_TOOLS_SEAL_KEYSTORE_SEAL_KEYSTORE_OPTIONS_H_
