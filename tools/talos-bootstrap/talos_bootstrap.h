// talos-bootstrap (README.md): from provisioned VMs in Talos maintenance
// mode to a bootstrapped cluster with kubeconfig and talosconfig, Cilium
// applied and every node Ready.
//
// Steps (events step names in quotes), each level-triggered (re-observed on
// every run):
//   "secrets"          the Talos secrets bundle from the keystore (generated
//                      once, stored, reused; talos_secrets_store.h);
//   "mesh keys"        Headscale: the user, one pre-auth key per node not yet
//                      registered (mesh_enrolment.h);
//   "configs"          the machine configs (machine_config.h);
//   per node "boot wait", "apply", "cluster PKI wait", and "bootstrap" of
//                      etcd once on the first control plane between them
//                      (node_convergence.h, etcd_bootstrap.h);
//   "etcd members wait", "kubeconfig", "talosconfig" (client_configs.h);
//   "mesh enrolment"   routes approved, keys expired;
//   "VIP wait", "cilium apply", "cilium rollout", "nodes ready"
//                      (cilium_rollout.h; only with
//                      spec.talos.cilium_manifest).
// --dry-run: the plan (config hash per node, bootstrap pending or not, the
// Cilium manifest pending); Headscale must answer, the nodes and the VIP are
// pending while they do not.
#ifndef COLDSTART_TOOLS_TALOS_BOOTSTRAP_TALOS_BOOTSTRAP_H_
#define COLDSTART_TOOLS_TALOS_BOOTSTRAP_TALOS_BOOTSTRAP_H_

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "lib/cli/cli.h"
#include "lib/cli/tool_run.h"

namespace coldstart {

struct TalosBootstrapOptions {
  CommonOptions common;
  // Deadline of each phase's waits (apply and bootstrap; etcd members,
  // configs and enrolment; Cilium and Ready). Must be positive.
  absl::Duration timeout = absl::Minutes(20);
};

// Runs the tool in the frame of lib/cli/tool_run.h: reads and validates the
// Cluster, converges, writes the Cluster with status.talos_bootstrap (also
// the partial status of a failed run). InvalidArgument for bad input or
// options (nothing sent to the network); FailedPrecondition, Unavailable,
// DeadlineExceeded, PermissionDenied for the world saying no.
absl::Status RealMain(const TalosBootstrapOptions& options, ToolIo& io);

}  // namespace coldstart

#endif  // COLDSTART_TOOLS_TALOS_BOOTSTRAP_TALOS_BOOTSTRAP_H_
