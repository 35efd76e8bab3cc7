// seal-keystore: the sealed-secrets keypair, kubeseal-compatible sealing,
// backup and restore. See README.md.
#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "lib/cli/cli.h"
#include "lib/cli/cli_flags.h"
#include "lib/cli/kube_flags.h"
#include "lib/cli/tool_run.h"
#include "tools/seal-keystore/seal_keystore.h"

ABSL_FLAG(absl::Duration, validity, absl::Hours(87600),
          "init, renew-cert, import of a bare key: certificate lifetime.");
ABSL_FLAG(absl::Duration, renew_before, absl::Hours(24 * 30),
          "renew-cert: renew when the certificate expires within this.");
ABSL_FLAG(bool, force, false, "renew-cert: renew even if not due.");
ABSL_FLAG(std::string, scope, "",
          "seal: strict | namespace-wide | cluster-wide (default: the "
          "Secret's annotations, else strict).");
ABSL_FLAG(std::string, namespace, "",
          "seal: namespace for Secrets that declare none; backup, restore: "
          "the controller's namespace (default: spec.sealed_secrets."
          "controller_namespace, else kube-system).");
ABSL_FLAG(std::string, cert, "",
          "seal: certificate PEM to seal for instead of the keystore's.");
ABSL_FLAG(std::string, previous, "",
          "seal: existing SealedSecret YAML; values that still decrypt to "
          "the same plaintext keep their ciphertext.");
ABSL_FLAG(bool, batch, false,
          "seal: seal the spec's sealed_secrets.items into the GitOps "
          "checkout (Cluster from --in/--state/stdin).");
ABSL_FLAG(std::string, gitops_checkout, "",
          "seal --batch: the GitOps working tree (default: "
          "spec.gitops.checkout, relative to the spec file).");

namespace {

absl::StatusOr<coldstart::SealKeystoreOptions> OptionsFromFlags(
    const std::vector<std::string>& positional) {
  absl::StatusOr<coldstart::CommonOptions> common =
      coldstart::CommonOptionsFromFlags();
  if (!common.ok()) return common.status();
  if (positional.size() < 2) {
    return absl::InvalidArgumentError(
        "usage: seal-keystore init|import|cert|renew-cert|seal|unseal|check|"
        "backup|restore [ARGS] [FLAGS]; see --help");
  }
  coldstart::SealKeystoreOptions options;
  options.command = positional[1];
  options.args.assign(positional.begin() + 2, positional.end());
  options.common = *common;
  options.validity = absl::GetFlag(FLAGS_validity);
  options.renew_before = absl::GetFlag(FLAGS_renew_before);
  options.force = absl::GetFlag(FLAGS_force);
  options.scope = absl::GetFlag(FLAGS_scope);
  options.namespace_ = absl::GetFlag(FLAGS_namespace);
  options.cert_file = absl::GetFlag(FLAGS_cert);
  options.previous_file = absl::GetFlag(FLAGS_previous);
  options.batch = absl::GetFlag(FLAGS_batch);
  options.gitops_checkout = absl::GetFlag(FLAGS_gitops_checkout);
  options.kube = coldstart::KubeAccessOptionsFromFlags();
  return options;
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> positional = coldstart::ParseToolCommandLine(
      argc, argv, "seal-keystore",
      "seal-keystore init|import FILE...|cert|renew-cert|seal [FILE]|"
      "unseal [FILE]|check DIR|backup|restore [--keystore SPEC] [--dry-run] "
      "[--in FILE|--state FILE] [--kubeconfig FILE]");
  absl::StatusOr<coldstart::SealKeystoreOptions> options =
      OptionsFromFlags(positional);
  absl::Status status = options.status();
  if (options.ok()) {
    coldstart::ToolIo io = coldstart::StandardIo();
    status = coldstart::RealMain(*options, io);
  }
  std::cout.flush();
  coldstart::PrintStatus("seal-keystore", status, std::cerr);
  return coldstart::ExitCodeForStatus(status);
}
