// provision-vms: reads a Cluster, converges Proxmox VE to its spec and writes
// status.provision (README.md). Layer 0 (roles, users, tokens, ACLs with the
// admin credential; token secrets straight into the keystore), the Talos
// image (schematic at the Image Factory, cross-checked id, download-url only
// when missing), then every node's VM in parallel with fixed VMIDs, our tags
// and marker, every task awaited by UPID.
#ifndef COLDSTART_TOOLS_PROVISION_VMS_PROVISION_VMS_H_
#define COLDSTART_TOOLS_PROVISION_VMS_PROVISION_VMS_H_

#include "absl/status/status.h"
#include "lib/cli/tool_run.h"
#include "tools/provision-vms/provision_options.h"

namespace coldstart {

// The whole run in the tool frame (lib/cli/tool_run.h): read (--in/--state/
// stdin), validate, converge (or, with --dry-run, check credentials and that
// Proxmox and the Image Factory answer, and print the plan), write. Errors:
// InvalidArgument for bad input or options (exit 2, nothing changed);
// FailedPrecondition for conflicts and refusals (exit 1, with what to do);
// others from the world (exit 1; the status so far is written and a re-run
// resumes).
absl::Status RealMain(const ProvisionOptions& options, ToolIo& io);

}  // namespace coldstart

#endif  // COLDSTART_TOOLS_PROVISION_VMS_PROVISION_VMS_H_
