// cluster-spec: validate | plan | lab-map a Cluster spec. See README.md.
#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "lib/base/status_macros.h"
#include "lib/cli/cli.h"
#include "lib/cli/cli_flags.h"
#include "lib/cli/tool_run.h"
#include "tools/cluster-spec/cluster_spec.h"

ABSL_FLAG(std::string, lab_ca_file, "lab-ca.pem",
          "lab-map: CA file (PEM) the mapped https endpoints trust.");

namespace {

constexpr char kUsage[] =
    "cluster-spec validate|plan|lab-map [FILE|-] [--in FILE|--state FILE] "
    "[-o textproto|json] [--lab-ca-file PEM]\n\n"
    "validate: exit 0 when the spec is valid (prints it normalized; with "
    "--state writes it back normalized, not in a --dry-run), 2 with every "
    "problem as FILE:LINE:COL: path: message.\n"
    "plan: a table (or -o json) of nodes, VMIDs, IPs, roles, VIPs and "
    "endpoints.\n"
    "lab-map: the same cluster on 127.0.0.0/8 for a lab rehearsal (not with "
    "--state).\n"
    "--events records one step per run; --keystore is accepted and unused "
    "(cluster-spec reads no secrets).";

absl::StatusOr<coldstart::ClusterSpecOptions> OptionsFromFlags(
    const std::vector<std::string>& positional) {
  if (positional.size() < 2 || positional.size() > 3) {
    return absl::InvalidArgumentError(
        "usage: cluster-spec validate|plan|lab-map [FILE|-] [-o json]");
  }
  coldstart::ClusterSpecOptions options;
  ASSIGN_OR_RETURN(options.common, coldstart::CommonOptionsFromFlags());
  options.command = positional[1];
  if (positional.size() == 3) {
    if (!options.common.in.empty() || !options.common.state.empty()) {
      return absl::InvalidArgumentError(
          "cluster-spec: give the spec as FILE, with --in or with --state, "
          "not two of them");
    }
    options.common.in = positional[2];
  }
  options.lab_ca_file = absl::GetFlag(FLAGS_lab_ca_file);
  return options;
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> positional =
      coldstart::ParseToolCommandLine(argc, argv, "cluster-spec", kUsage);
  absl::StatusOr<coldstart::ClusterSpecOptions> options =
      OptionsFromFlags(positional);
  absl::Status status = options.status();
  if (options.ok()) {
    coldstart::ToolIo io = coldstart::StandardIo();
    status = coldstart::RealMain(*options, io);
  }
  coldstart::PrintStatus("cluster-spec", status, std::cerr);
  return coldstart::ExitCodeForStatus(status);
}
