// A Proxmox task on one VM (create, resize, start, stop, destroy): started,
// awaited by UPID, re-issued after a lock timeout, recorded in the VM's
// status, and its failure told with the VM named and what to do next.
#ifndef COLDSTART_TOOLS_PROVISION_VMS_VM_TASK_H_
#define COLDSTART_TOOLS_PROVISION_VMS_VM_TASK_H_

#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"
#include "proto/coldstart/v1/cluster.pb.h"
#include "tools/provision-vms/provision_context.h"
#include "tools/provision-vms/pve_client.h"

namespace coldstart {

// "VM 1500 (ctrl-1) on node pve".
std::string Describe(const v1::Node& node);

// A VM step's error with the VM named and what to do next (for a
// PermissionDenied: which privilege to grant). InvalidArgument becomes
// FailedPrecondition (the world refused, the input was fine).
absl::Status VmError(const v1::Node& node, absl::string_view what,
                     const absl::Status& cause, absl::string_view todo);

// Runs `start` (a call answering a UPID, or null when there was nothing to
// do) through PveClient::RunTask (kTaskAttempts, --task-deadline each) and
// records the last task in `status->last_task`. Errors: the calls'; a task
// that did not end OK → FailedPrecondition naming the VM, the task, its
// exit status, the attempts, and what to do.
absl::StatusOr<PveTask> RunVmTask(
    ProvisionContext& context, PveClient& pve, const v1::Node& node,
    absl::string_view what,
    const std::function<absl::StatusOr<nlohmann::json>()>& start,
    v1::VmStatus* status);

}  // namespace coldstart

#endif  // COLDSTART_TOOLS_PROVISION_VMS_VM_TASK_H_
