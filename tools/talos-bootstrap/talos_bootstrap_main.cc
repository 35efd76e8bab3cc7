// talos-bootstrap: Talos secrets, Headscale keys, machine configs, apply,
// etcd bootstrap, kubeconfig/talosconfig, Cilium. See README.md.
#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "lib/cli/cli.h"
#include "lib/cli/cli_flags.h"
#include "lib/cli/tool_run.h"
#include "tools/talos-bootstrap/talos_bootstrap.h"

ABSL_FLAG(absl::Duration, timeout, absl::Minutes(20),
          "Deadline of each phase's waits (apply and bootstrap; etcd members, "
          "configs and enrolment; Cilium and nodes Ready).");

int main(int argc, char** argv) {
  const std::vector<std::string> positional = coldstart::ParseToolCommandLine(
      argc, argv, "talos-bootstrap",
      "talos-bootstrap [--in FILE | --state FILE] [-o textproto|json] "
      "[--dry-run] [--events FILE] [--keystore SPEC] [--timeout 20m] "
      "< cluster.txtpb\n\n"
      "Generates (once) the Talos secrets, Headscale pre-auth keys and "
      "machine configs, applies them, bootstraps etcd once, writes the "
      "kubeconfig and talosconfig, applies Cilium. HEADSCALE_API_KEY or the "
      "keystore holds the Headscale API key.");
  absl::Status status;
  if (positional.size() != 1) {
    status = absl::InvalidArgumentError(
        "talos-bootstrap takes no positional arguments");
  } else if (absl::StatusOr<coldstart::CommonOptions> common =
                 coldstart::CommonOptionsFromFlags();
             !common.ok()) {
    status = common.status();
  } else {
    coldstart::TalosBootstrapOptions options;
    options.common = *common;
    options.timeout = absl::GetFlag(FLAGS_timeout);
    coldstart::ToolIo io = coldstart::StandardIo();
    status = coldstart::RealMain(options, io);
  }
  coldstart::PrintStatus("talos-bootstrap", status, std::cerr);
  return coldstart::ExitCodeForStatus(status);
}
