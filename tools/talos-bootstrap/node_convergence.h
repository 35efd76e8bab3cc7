// Every node from Talos maintenance mode (or an earlier config) to its
// machine config, in parallel, with the etcd bootstrap in between: the
// control planes first, then the bootstrap while the workers still wait
// (they have no API until trustd signs their certificate after bootstrap).
#ifndef COLDSTART_TOOLS_TALOS_BOOTSTRAP_NODE_CONVERGENCE_H_
#define COLDSTART_TOOLS_TALOS_BOOTSTRAP_NODE_CONVERGENCE_H_

#include <map>
#include <string>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "lib/cli/tool_run.h"
#include "tools/talos-bootstrap/machine_config.h"
#include "tools/talos-bootstrap/mesh_enrolment.h"
#include "tools/talos-bootstrap/talos_access.h"

namespace coldstart {

// Node name → its machine config (with its pre-auth key, when it gets one).
using NodeConfigs = std::map<std::string, MachineConfig>;

// Step "configs": renders every node's config from the credentials, the
// image schematic and `mesh` (may be null). InvalidArgument when the spec
// lacks what a config needs.
absl::StatusOr<NodeConfigs> RenderNodeConfigs(
    ToolRun& run, const TalosCredentials& credentials,
    const std::string& schematic_id, const MeshEnrolment* mesh);

// What a node reached.
struct NodeOutcome {
  // "configured", or empty (not reached).
  std::string stage;
  std::string config_sha256;
};

// Converges every node of the spec in parallel; per node the steps "boot
// wait" (its Talos API answers; the mode is read from TLS), "apply"
// (maintenance: ApplyConfiguration AUTO over insecure TLS, under the 4 MiB
// maintenance limit; configured: dry run first, applied only when the diff
// is not empty) and, for control planes after a maintenance apply, "cluster
// PKI wait" (mutual TLS answers). Once every control plane is done, runs
// `after_control_planes` (the etcd bootstrap) while the workers still wait.
//
// A control plane's failure, or that of `after_control_planes`, stops every
// other node's wait at once: their steps end Cancelled "<what>: stopped:
// <cause>". Returns that cause, else the first worker failure; waits end by
// `deadline`. `outcomes` gets every node's stage and config hash, also on
// failure.
absl::Status ConvergeNodes(
    ToolRun& run, const TalosAccess& access, const NodeConfigs& configs,
    absl::Time deadline, absl::FunctionRef<absl::Status()> after_control_planes,
    std::map<std::string, NodeOutcome>* outcomes);

// The lines of a dry-run diff, indented, with the values of secret-looking
// lines (keys, tokens, certificates, TS_AUTHKEY) replaced by "[redacted]".
std::string RedactDiff(const std::string& details);

}  // namespace coldstart

#endif  // COLDSTART_TOOLS_TALOS_BOOTSTRAP_NODE_CONVERGENCE_H_
