// provision-vms: reads a Cluster, converges Proxmox VE to its spec and writes
// status.provision (README.md). Layer 0 (users, roles, tokens, ACLs with the
// admin credential; token secrets straight into the keystore; the Proxmox CSI
// plugin's Secret manifest as a keystore item), the Talos image (schematic at
// the Image Factory, cross-checked id, download-url only when missing), then
// every node's VM in parallel with fixed VMIDs, our tags and marker, every
// task awaited by UPID.
#ifndef COLDSTART_TOOLS_PROVISION_VMS_PROVISION_VMS_H_
#define COLDSTART_TOOLS_PROVISION_VMS_PROVISION_VMS_H_

#include <ostream>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "lib/cli/cli.h"

namespace coldstart {

// Keystore item (key) holding the Proxmox CSI plugin's Secret manifest
// (namespace csi-proxmox, name proxmox-csi-plugin, key config.yaml) for
// seal-keystore.
inline constexpr char kCsiSecretManifestKey[] = "proxmox-csi-plugin-secret";
// Environment variable with the admin credential when the spec's
// admin_credentials item is not in the keystore.
inline constexpr char kAdminTokenEnvironmentVariable[] = "PROXMOX_VE_API_TOKEN";

struct ProvisionOptions {
  CommonOptions common;
  // Take over VMs whose VMID and name match the spec but that lack our
  // marker (clusters built by Terraform or by hand).
  bool adopt = false;
  // Stop and delete every VM carrying our marker; nothing else.
  bool destroy = false;
  // VMs worked on at once.
  int parallelism = 8;
  // Limit for each Proxmox task (create, download, ...).
  absl::Duration task_deadline = absl::Minutes(15);
  // Overall limit of one HTTP call's retries.
  absl::Duration retry_deadline = absl::Minutes(2);
};

// The whole run: read (--in/--state/stdin), validate, converge, write. Errors:
// InvalidArgument for bad input (exit 2, nothing changed); FailedPrecondition
// for conflicts and refusals (exit 1, with what to do); others from the
// world (exit 1; a re-run resumes).
absl::Status RunProvisionVms(const ProvisionOptions& options, std::ostream& out,
                             std::ostream& err);

}  // namespace coldstart

#endif  // COLDSTART_TOOLS_PROVISION_VMS_PROVISION_VMS_H_
