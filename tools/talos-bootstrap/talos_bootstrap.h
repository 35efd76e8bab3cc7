// talos-bootstrap (README.md): from provisioned VMs in Talos maintenance
// mode to a bootstrapped cluster with kubeconfig and talosconfig.
//
// Steps, each level-triggered (re-observed on every run):
//   1 secrets bundle from the keystore (generated once, stored, reused);
//   2 Headscale: user, one pre-auth key per node not yet registered (always
//     with an expiration; kept in the keystore, left out of the config hash);
//   3 machine configs per node;
//   4 per node: maintenance (from TLS: no client cert asked, CN
//     maintenance-service.talos.dev) -> ApplyConfiguration AUTO over TLS
//     without server verification (trust on first use); configured ->
//     dry_run first, apply only when the diff is not empty;
//   5 Bootstrap once on the first control plane (AlreadyExists = done;
//     FailedPrecondition retried only for "not available yet"/time sync),
//     then wait for the etcd members;
//   6 kubeconfig (0600, server = the VIP) and talosconfig (0600, endpoints =
//     control-plane IPs), written when missing;
//   7 Headscale: approve the spec's routes of enrolled nodes, expire their
//     keys;
//   8 Cilium: server-side apply of spec.talos.cilium_manifest through the
//     bootstrap endpoint until the VIP answers, wait for its rollout and the
//     nodes Ready (skipped when the manifest is not set).
// --dry-run: the plan (config hash per node, bootstrap pending or not, the
// Cilium manifest pending).
#ifndef COLDSTART_TOOLS_TALOS_BOOTSTRAP_TALOS_BOOTSTRAP_H_
#define COLDSTART_TOOLS_TALOS_BOOTSTRAP_TALOS_BOOTSTRAP_H_

#include <ostream>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "lib/cli/cli.h"

namespace coldstart {

struct TalosBootstrapOptions {
  CommonOptions common;
  // Overall deadline of the waits (boot, apply, bootstrap, etcd, Ready).
  absl::Duration timeout = absl::Minutes(20);
};

// Runs the tool: reads the Cluster per the common options, converges, writes
// the Cluster with status.talos_bootstrap to `out` (or the state file).
// Progress on `err`. InvalidArgument for bad input; FailedPrecondition,
// Unavailable, DeadlineExceeded, PermissionDenied for the world saying no.
absl::Status RunTalosBootstrap(const TalosBootstrapOptions& options,
                               std::ostream& out, std::ostream& err);

}  // namespace coldstart

#endif  // COLDSTART_TOOLS_TALOS_BOOTSTRAP_TALOS_BOOTSTRAP_H_
