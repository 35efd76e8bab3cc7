#include "tools/talos-bootstrap/etcd_bootstrap.h"

#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "lib/base/poll.h"
#include "lib/base/status_macros.h"
#include "tools/talos-bootstrap/run_steps.h"

namespace coldstart {
namespace {

// One Bootstrap call: OK (bootstrapped now: *started), AlreadyExists → OK,
// the transient FailedPreconditions → Unavailable (retried), the others as
// they are.
absl::Status TryBootstrap(const TalosAccess& access, const v1::Node& first,
                          bool* started) {
  absl::Status status = access.Mutual(first)->Bootstrap().status();
  if (status.ok()) {
    *started = true;
    return status;
  }
  if (absl::IsAlreadyExists(status)) return absl::OkStatus();
  if (!absl::IsFailedPrecondition(status)) return status;
  const std::string text(status.message());
  if (absl::StrContains(text, "not available yet") ||
      absl::StrContains(text, "time is not in sync")) {
    return absl::UnavailableError(text);
  }
  return absl::FailedPreconditionError(
      absl::StrCat(text, " (not retried: bootstrap ", first.name(),
                   " only if it is the cluster's first control plane)"));
}

}  // namespace

absl::StatusOr<bool> BootstrapEtcd(ToolRun& run, const TalosAccess& access,
                                   const v1::Node& first, absl::Time deadline) {
  bool started = false;
  RETURN_IF_ERROR(
      RunStep(run, "bootstrap", first.name(), [&]() -> absl::Status {
        absl::StatusOr<bool> members = access.HasEtcdMembers(first);
        if (members.ok() && *members) {
          run.events().Note("etcd bootstrap already done", first.name());
          return absl::OkStatus();
        }
        RETURN_IF_ERROR(
            Poll(ConvergenceWait(
                     run, absl::StrCat("the etcd bootstrap on ", first.name()),
                     deadline),
                 [&](PollAttempt&) {
                   return TryBootstrap(access, first, &started);
                 }));
        run.events().Note(absl::StrCat("etcd bootstrap ",
                                       started ? "started" : "already done"),
                          first.name());
        return absl::OkStatus();
      }));
  return started;
}

absl::Status AwaitEtcdMembers(ToolRun& run, const TalosAccess& access,
                              const v1::Node& first, absl::Time deadline) {
  int control_planes = 0;
  for (const v1::Node& n : run.spec().nodes()) {
    control_planes += IsControlPlane(n);
  }
  return RunStep(run, "etcd members wait", "", [&] {
    return Poll(ConvergenceWait(run, "the etcd members", deadline),
                [&](PollAttempt&) -> absl::Status {
                  ASSIGN_OR_RETURN(machine::EtcdMemberListResponse m,
                                   access.Mutual(first)->EtcdMemberList());
                  const int n =
                      m.messages_size() > 0 ? m.messages(0).members_size() : 0;
                  if (n < control_planes) {
                    return absl::UnavailableError(absl::StrCat(
                        n, " of ", control_planes, " etcd members"));
                  }
                  return absl::OkStatus();
                });
  });
}

}  // namespace coldstart
