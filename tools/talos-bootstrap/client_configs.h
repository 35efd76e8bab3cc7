// The clients' configs talos-bootstrap leaves behind, written once (when
// missing), 0600 from the first byte (lib/cli/atomic_file.h
// WriteSecretFileAtomically): the kubeconfig (server = the VIP endpoint, from
// Talos's Kubeconfig stream) and the talosconfig (endpoints = the control
// plane IPs, never the VIP; nodes = the first control plane).
#ifndef COLDSTART_TOOLS_TALOS_BOOTSTRAP_CLIENT_CONFIGS_H_
#define COLDSTART_TOOLS_TALOS_BOOTSTRAP_CLIENT_CONFIGS_H_

#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "lib/cli/tool_run.h"
#include "proto/coldstart/v1/cluster.pb.h"
#include "tools/talos-bootstrap/talos_access.h"

namespace coldstart {

// spec.talos.kubeconfig_path, default "kubeconfig" (relative to the working
// directory).
std::string KubeconfigPath(const v1::ClusterSpec& spec);
// spec.talos.talosconfig_path, default "talosconfig".
std::string TalosconfigPath(const v1::ClusterSpec& spec);

// Steps "kubeconfig" (the Kubeconfig call retried until `deadline`) and
// "talosconfig"; files that exist are kept. Sets the paths in `status`.
// Errors: the Talos call's, the file write's.
absl::Status WriteClientConfigs(ToolRun& run, const TalosAccess& access,
                                const v1::Node& first, absl::Time deadline,
                                v1::TalosBootstrapStatus& status);

// Dry run: a plan line per config, kept (exists) or pending (written after
// the bootstrap).
void PlanClientConfigs(ToolRun& run);

}  // namespace coldstart

#endif  // COLDSTART_TOOLS_TALOS_BOOTSTRAP_CLIENT_CONFIGS_H_
