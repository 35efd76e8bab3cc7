// What a provision-vms run is asked to do (README.md "Flags").
#ifndef COLDSTART_TOOLS_PROVISION_VMS_PROVISION_OPTIONS_H_
#define COLDSTART_TOOLS_PROVISION_VMS_PROVISION_OPTIONS_H_

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "lib/cli/cli.h"

namespace coldstart {

// Environment variable with the Proxmox admin credential
// ("user@realm!tokenid=secret"); it wins over the keystore item named by
// spec.proxmox.admin_credentials.
inline constexpr char kAdminTokenEnvironmentVariable[] = "PROXMOX_VE_API_TOKEN";

struct ProvisionOptions {
  CommonOptions common;
  // Take over VMs whose VMID and name match the spec but that lack our
  // marker (clusters built by Terraform or by hand).
  bool adopt = false;
  // Stop and delete every VM carrying our marker; nothing else.
  bool destroy = false;
  // VMs worked on at once; at least 1.
  int parallelism = 8;
  // Limit for each Proxmox task (create, download, ...).
  absl::Duration task_deadline = absl::Minutes(15);
  // Overall limit of one HTTP call's retries.
  absl::Duration retry_deadline = absl::Minutes(2);
};

// InvalidArgument for options that contradict each other or are out of
// range (--adopt with --destroy, --parallelism below 1); the common options
// are checked by ToolRun.
absl::Status CheckProvisionOptions(const ProvisionOptions& options);

}  // namespace coldstart

#endif  // COLDSTART_TOOLS_PROVISION_VMS_PROVISION_OPTIONS_H_
