#include "lib/cli/kube_flags.h"

#include <string>

#include "absl/flags/flag.h"

ABSL_FLAG(std::string, kubeconfig, "",
          "Kubeconfig file (default: the status' or spec's kubeconfig_path, "
          "else $KUBECONFIG / ~/.kube/config).");
ABSL_FLAG(std::string, context, "", "Kubeconfig context to use.");
ABSL_FLAG(bool, insecure, false,
          "Allow a kubeconfig with insecure-skip-tls-verify (prints a "
          "warning).");

namespace coldstart {

KubeAccessOptions KubeAccessOptionsFromFlags() {
  KubeAccessOptions options;
  options.kubeconfig = absl::GetFlag(FLAGS_kubeconfig);
  options.context = absl::GetFlag(FLAGS_context);
  options.insecure = absl::GetFlag(FLAGS_insecure);
  return options;
}

}  // namespace coldstart
