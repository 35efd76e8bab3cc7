// The kubeconfig a coldstart tool uses to reach the cluster a Cluster
// describes, resolved the same way by every tool.
#ifndef COLDSTART_LIB_KUBE_CLUSTER_KUBECONFIG_H_
#define COLDSTART_LIB_KUBE_CLUSTER_KUBECONFIG_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "lib/kube/kube_config.h"
#include "proto/coldstart/v1/cluster.pb.h"

namespace coldstart {

// How a tool reaches the cluster's Kubernetes API: --kubeconfig, --context,
// --insecure (lib/cli/kube_flags.h defines the flags once).
struct KubeAccessOptions {
  // Kubeconfig file; empty: the Cluster's, else kubectl's default.
  std::string kubeconfig;
  // Context to use; empty: the file's current-context.
  std::string context;
  // Allow a kubeconfig with insecure-skip-tls-verify (prints a warning).
  bool insecure = false;
};

// Loads, in this order of preference: `flag_path` (--kubeconfig) when set,
// else status.talos_bootstrap.kubeconfig_path, else spec.talos.kubeconfig_path,
// else $KUBECONFIG / ~/.kube/config as kubectl does; `context` (--context)
// overrides the file's current context. Errors: InvalidArgument naming where
// the kubeconfig came from, what is wrong, and — when there is none — what to
// run.
absl::StatusOr<kube::RestConfig> LoadClusterKubeconfig(
    const coldstart::v1::Cluster& cluster, absl::string_view flag_path,
    absl::string_view context);

}  // namespace coldstart

#endif  // COLDSTART_LIB_KUBE_CLUSTER_KUBECONFIG_H_
