// The Talos image of provision-vms: the schematic hashed locally, the volume
// "<image_storage>:import/talos-<ver>-<id>-<platform>-<arch>.qcow2" looked up
// on every Proxmox node of the spec, and only where it is missing: the
// schematic POSTed to the Image Factory (its id cross-checked) and the
// image downloaded by Proxmox (download-url, content=import).
#ifndef COLDSTART_TOOLS_PROVISION_VMS_IMAGE_H_
#define COLDSTART_TOOLS_PROVISION_VMS_IMAGE_H_

#include "absl/status/status.h"
#include "proto/coldstart/v1/cluster.pb.h"
#include "tools/provision-vms/provision_context.h"
#include "tools/provision-vms/pve_client.h"

namespace coldstart {

// Observes the image and fills `status` (volume; schematic id and URL once
// known); with `plan_only` prints the plan and changes nothing. Errors: the
// Proxmox and factory calls'; FailedPrecondition when the factory's id
// differs from the local one or a download task fails (naming the node and
// the URL).
absl::Status EnsureImage(ProvisionContext& context, PveClient& pve,
                         bool plan_only, v1::ImageStatus* status);

// Dry-run reachability of the Image Factory (spec.image.factory_url): any
// HTTP answer to a GET of its base URL is OK. Errors: the transport's.
absl::Status ProbeImageFactory(ProvisionContext& context);

}  // namespace coldstart

#endif  // COLDSTART_TOOLS_PROVISION_VMS_IMAGE_H_
