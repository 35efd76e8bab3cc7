// provision-vms: converge Proxmox VE to a Cluster spec. See README.md.
#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "lib/cli/cli.h"
#include "lib/cli/cli_flags.h"
#include "lib/cli/tool_run.h"
#include "tools/provision-vms/provision_vms.h"

ABSL_FLAG(bool, adopt, false,
          "Take over VMs whose VMID and name match the spec but lack our "
          "marker (built by Terraform or by hand); shows what it changes.");
ABSL_FLAG(bool, destroy, false,
          "Stop and delete every VM carrying this cluster's marker; users, "
          "tokens and the image stay.");
ABSL_FLAG(int, parallelism, 8, "VMs worked on at once (at least 1).");

int main(int argc, char** argv) {
  const std::vector<std::string> positional = coldstart::ParseToolCommandLine(
      argc, argv, "provision-vms",
      "provision-vms [--in FILE | --state FILE] [-o textproto|json] "
      "[--dry-run] [--adopt] [--destroy] [--parallelism N] [--events FILE] "
      "[--keystore SPEC]");
  absl::StatusOr<coldstart::CommonOptions> common =
      coldstart::CommonOptionsFromFlags();
  absl::Status status = common.status();
  if (status.ok() && positional.size() > 1) {
    status = absl::InvalidArgumentError(
        "provision-vms takes no positional arguments (use --in FILE)");
  }
  if (status.ok()) {
    coldstart::ProvisionOptions options;
    options.common = *common;
    options.adopt = absl::GetFlag(FLAGS_adopt);
    options.destroy = absl::GetFlag(FLAGS_destroy);
    options.parallelism = absl::GetFlag(FLAGS_parallelism);
    coldstart::ToolIo io = coldstart::StandardIo();
    status = coldstart::RealMain(options, io);
  }
  coldstart::PrintStatus("provision-vms", status, std::cerr);
  return coldstart::ExitCodeForStatus(status);
}
