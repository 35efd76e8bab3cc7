#include "tools/provision-vms/vm_task.h"

#include "absl/strings/str_cat.h"
#include "lib/base/status_macros.h"

namespace coldstart {

std::string Describe(const v1::Node& node) {
  return absl::StrCat("VM ", node.vmid(), " (", node.name(), ") on node ",
                      node.proxmox_node());
}

absl::Status VmError(const v1::Node& node, absl::string_view what,
                     const absl::Status& cause, absl::string_view todo) {
  if (absl::IsPermissionDenied(cause)) {
    todo =
        "grant the missing privilege to the provisioning token (a role in "
        "spec.proxmox.roles) and re-run";
  }
  return absl::Status(cause.code() == absl::StatusCode::kInvalidArgument
                          ? absl::StatusCode::kFailedPrecondition
                          : cause.code(),
                      absl::StrCat(Describe(node), ": ", what, ": ",
                                   cause.message(), "; ", todo));
}

absl::StatusOr<PveTask> RunVmTask(
    ProvisionContext& context, PveClient& pve, const v1::Node& node,
    absl::string_view what,
    const std::function<absl::StatusOr<nlohmann::json>()>& start,
    v1::VmStatus* status) {
  ASSIGN_OR_RETURN(PveTaskRun run,
                   pve.RunTask(absl::StrCat(Describe(node), ": ", what), start,
                               context.options().task_deadline, kTaskAttempts));
  const PveTask& task = run.task;
  if (task.upid.empty()) return task;
  v1::ProxmoxTaskResult* last = status->mutable_last_task();
  last->set_upid(task.upid);
  last->set_type(task.type);
  last->set_exit_status(task.exit_status);
  last->set_outcome(task.ok() ? v1::OUTCOME_OK : v1::OUTCOME_FAILED);
  *last->mutable_finished_at() = context.Now();
  if (task.ok()) return task;
  const bool locked = IsLockText(task.exit_status);
  return absl::FailedPreconditionError(absl::StrCat(
      Describe(node), ": ", what, " task ", task.upid, " ended \"",
      task.exit_status, "\"",
      run.attempts > 1 ? absl::StrCat("; tried ", run.attempts, " times over ",
                                      absl::FormatDuration(run.took))
                       : "",
      locked ? "; another operation holds the VM: re-run to resume"
             : "; fix the cause shown in the task log (Proxmox UI, task "
               "history), then re-run"));
}

}  // namespace coldstart
