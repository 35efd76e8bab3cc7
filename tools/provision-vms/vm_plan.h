// What provision-vms sees of the VMs and decides per node: one bulk
// observation (GET /cluster/resources?type=vm) and a plan per spec node
// (create, adopt, unchanged, change, conflict).
#ifndef COLDSTART_TOOLS_PROVISION_VMS_VM_PLAN_H_
#define COLDSTART_TOOLS_PROVISION_VMS_VM_PLAN_H_

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "proto/coldstart/v1/cluster.pb.h"
#include "tools/provision-vms/provision_context.h"
#include "tools/provision-vms/pve_client.h"

namespace coldstart {

// One VM as GET /cluster/resources?type=vm shows it.
struct ObservedVm {
  int vmid = 0;
  std::string node;
  std::string name;
  std::string status;
  std::set<std::string> tags;
  std::string lock;
  int64_t maxcpu = 0;
  int64_t maxmem = 0;
  int64_t maxdisk = 0;
};

enum class VmAction { kCreate, kAdopt, kUnchanged, kChange, kConflict };

// "create", "adopt", "unchanged", "change", "conflict".
const char* ActionName(VmAction action);

struct VmPlan {
  const v1::Node* node = nullptr;
  VmAction action = VmAction::kCreate;
  std::optional<ObservedVm> observed;
  // What differs (change/adopt) or why (conflict).
  std::vector<std::string> details;
};

// Every VM by VMID. A spec VMID still locked by a create or clone (a killed
// run's, another run's) is waited for (progress lines on the run's clock)
// up to --task-deadline: its owner shows only when it ends. Errors: the
// Proxmox call's; DeadlineExceeded when the lock outlasts the wait.
absl::StatusOr<std::map<int, ObservedVm>> ObserveVms(ProvisionContext& context,
                                                     PveClient& pve);

// The plan of every spec node against `observed` (spec order).
std::vector<VmPlan> PlanVms(const v1::ClusterSpec& spec,
                            const std::map<int, ObservedVm>& observed,
                            bool adopt);

}  // namespace coldstart

#endif  // COLDSTART_TOOLS_PROVISION_VMS_VM_PLAN_H_
