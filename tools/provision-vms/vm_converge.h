// Brings one VM to its plan: create (fixed VMID, imported disk, cloud-init),
// or for adopt/change read its config and PUT only what differs; then resize
// the disk if smaller and start it if stopped. Every task is awaited.
#ifndef COLDSTART_TOOLS_PROVISION_VMS_VM_CONVERGE_H_
#define COLDSTART_TOOLS_PROVISION_VMS_VM_CONVERGE_H_

#include <string>

#include "absl/status/status.h"
#include "nlohmann/json.hpp"
#include "proto/coldstart/v1/cluster.pb.h"
#include "tools/provision-vms/provision_context.h"
#include "tools/provision-vms/pve_client.h"
#include "tools/provision-vms/vm_plan.h"

namespace coldstart {

// Converges the VM of `plan` (not kConflict), disk imported from
// `image_volid` when created, recording MAC, power state and last task in
// `status`; one events step named after the action, per node. Errors name
// the VM and what to do (VmError, RunVmTask).
absl::Status ConvergeVm(ProvisionContext& context, PveClient& pve, VmPlan& plan,
                        const std::string& image_volid, v1::VmStatus* status);

// The config keys (and values) to PUT so that `config` (GET .../config)
// matches the spec for `node`: our tags and marker added, name, cores,
// memory, cpu, scsihw, net0 bridge/tag (keeping the MAC), ipconfig0,
// nameserver, a cloud-init drive, agent. InvalidArgument for a bad subnet.
absl::StatusOr<PveParams> ConfigChanges(const v1::ClusterSpec& spec,
                                        const v1::Node& node,
                                        const nlohmann::json& config);

}  // namespace coldstart

#endif  // COLDSTART_TOOLS_PROVISION_VMS_VM_CONVERGE_H_
