// provision-vms --destroy: stop and delete every VM tagged cs-<cluster> (and
// nothing else); users, tokens, ACLs and the image stay.
#ifndef COLDSTART_TOOLS_PROVISION_VMS_DESTROY_H_
#define COLDSTART_TOOLS_PROVISION_VMS_DESTROY_H_

#include <map>

#include "absl/status/status.h"
#include "proto/coldstart/v1/cluster.pb.h"
#include "tools/provision-vms/provision_context.h"
#include "tools/provision-vms/pve_client.h"
#include "tools/provision-vms/vm_plan.h"

namespace coldstart {

// Destroys our VMs among `observed` in parallel (a plan line each; in a dry
// run nothing more), then rewrites `provision->vms` (absent, or unspecified
// for a spec VMID held by a VM that is not ours). Errors name the VM
// (VmError); a VM already gone counts as destroyed.
absl::Status DestroyVms(ProvisionContext& context, PveClient& pve,
                        const std::map<int, ObservedVm>& observed,
                        v1::ProvisionStatus* provision);

}  // namespace coldstart

#endif  // COLDSTART_TOOLS_PROVISION_VMS_DESTROY_H_
