// etcd bootstrapped exactly once, on the first control plane, through its
// own IP (facts/talos.md §5).
#ifndef COLDSTART_TOOLS_TALOS_BOOTSTRAP_ETCD_BOOTSTRAP_H_
#define COLDSTART_TOOLS_TALOS_BOOTSTRAP_ETCD_BOOTSTRAP_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "lib/cli/tool_run.h"
#include "tools/talos-bootstrap/talos_access.h"

namespace coldstart {

// Step "bootstrap" of `first`: nothing when EtcdMemberList already lists
// members (false); else Bootstrap, retried until `deadline` while Talos
// says "not available yet" or "time is not in sync" (true when this call
// bootstrapped; AlreadyExists counts as done, false). Errors: any other
// FailedPrecondition ("only on the cluster's first control plane"), not
// retried; DeadlineExceeded.
absl::StatusOr<bool> BootstrapEtcd(ToolRun& run, const TalosAccess& access,
                                   const v1::Node& first, absl::Time deadline);

// Step "etcd members wait": until every control plane of the spec is an
// etcd member, as `first` lists them, or `deadline`.
absl::Status AwaitEtcdMembers(ToolRun& run, const TalosAccess& access,
                              const v1::Node& first, absl::Time deadline);

}  // namespace coldstart

#endif  // COLDSTART_TOOLS_TALOS_BOOTSTRAP_ETCD_BOOTSTRAP_H_
