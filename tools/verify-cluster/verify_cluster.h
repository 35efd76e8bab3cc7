// verify-cluster: the playbook's verification (nodes Ready, no pod outside
// Running/Succeeded, Flux objects Ready, storage, Vault, ESO, Authentik,
// service VIPs) as typed gates that explain themselves (README.md). The
// checks are in checks.h, the table/JUnit/status output in report.h.
#ifndef COLDSTART_TOOLS_VERIFY_CLUSTER_VERIFY_CLUSTER_H_
#define COLDSTART_TOOLS_VERIFY_CLUSTER_VERIFY_CLUSTER_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "lib/cli/cli.h"
#include "lib/cli/tool_run.h"
#include "lib/kube/cluster_kubeconfig.h"

namespace coldstart {

struct VerifyOptions {
  CommonOptions common;
  // --kubeconfig, --context, --insecure (lib/cli/kube_flags.h).
  KubeAccessOptions kube;
  // --gate NAME[,...]; empty: every check.
  std::vector<std::string> gates;
  // --wait: rounds until all pass or this much time has passed; 0: one
  // round.
  absl::Duration wait = absl::ZeroDuration();
  // --junit FILE.
  std::string junit_path;
};

// One run in the tool frame (lib/cli/tool_run.h): reads and validates the
// Cluster, resolves the kubeconfig (--kubeconfig, else
// status.talos_bootstrap.kubeconfig_path, else spec.talos.kubeconfig_path,
// else $KUBECONFIG / ~/.kube/config), runs the selected checks (rounds with
// --wait, polled on io.clock), records one event step per check, writes
// status.verify, prints the table to stderr, the Cluster by the frame's
// output rule, and the JUnit file.
//
// --dry-run: the plan (the checks it would run) and whether the Kubernetes
// API answers. Before the status says the cluster exists
// (status.talos_bootstrap.etcd_bootstrapped and kubeconfig_path), the API
// and its kubeconfig are created by an earlier layer: not reachable or not
// written yet is a "pending" plan line. After, the API must answer.
//
// Returns OK when all pass; FailedPrecondition naming every failing check;
// InvalidArgument for bad input (invalid spec, unknown gate, unusable
// kubeconfig); Unavailable when the API cannot be reached (in a dry run,
// only where it must exist).
absl::Status RealMain(const VerifyOptions& options, ToolIo& io);

}  // namespace coldstart

#endif  // COLDSTART_TOOLS_VERIFY_CLUSTER_VERIFY_CLUSTER_H_
