// cluster-spec: validate | plan | lab-map a Cluster spec. See README.md.
#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "lib/cli/cli.h"
#include "lib/cli/cli_flags.h"
#include "tools/cluster-spec/cluster_spec.h"

ABSL_FLAG(std::string, lab_ca_file, "lab-ca.pem",
          "lab-map: CA file (PEM) the mapped https endpoints trust.");

namespace {

absl::Status Run(const std::vector<std::string>& positional) {
  absl::StatusOr<coldstart::CommonOptions> common =
      coldstart::CommonOptionsFromFlags();
  if (!common.ok()) return common.status();
  if (!common->state.empty()) {
    return absl::InvalidArgumentError(
        "cluster-spec: --state is not supported (cluster-spec changes "
        "nothing; use --in or a file argument)");
  }
  if (positional.size() < 2 || positional.size() > 3) {
    return absl::InvalidArgumentError(
        "usage: cluster-spec validate|plan|lab-map [FILE|-] [-o json]");
  }
  coldstart::ClusterSpecOptions options;
  options.command = positional[1];
  options.input = common->in;
  if (positional.size() == 3) {
    if (!options.input.empty()) {
      return absl::InvalidArgumentError(
          "cluster-spec: give the spec either as FILE or with --in, not both");
    }
    options.input = positional[2];
  }
  options.output = common->output;
  options.lab_ca_file = absl::GetFlag(FLAGS_lab_ca_file);
  return coldstart::RunClusterSpec(options, std::cout);
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> positional = coldstart::ParseToolCommandLine(
      argc, argv, "cluster-spec",
      "cluster-spec validate|plan|lab-map [FILE|-] [--in FILE] [-o "
      "textproto|json] [--lab_ca_file PEM]\n\n"
      "validate: exit 0 when the spec is valid (prints it normalized), 2 with "
      "every problem as FILE:LINE:COL: path: message.\n"
      "plan: a table of nodes, VMIDs, IPs, roles, VIPs and endpoints.\n"
      "lab-map: the same cluster on 127.0.0.0/8 for a lab rehearsal.");
  const absl::Status status = Run(positional);
  coldstart::PrintStatus("cluster-spec", status, std::cerr);
  return coldstart::ExitCodeForStatus(status);
}
