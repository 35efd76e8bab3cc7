// cluster-spec: validate | plan | lab-map a Cluster spec. See README.md.
#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/status/status.h"
#include "lib/cli.h"
#include "lib/cli_flags.h"
#include "tools/cluster-spec/cluster_spec.h"

ABSL_FLAG(std::string, lab_ca_file, "lab-ca.pem",
          "lab-map: CA file (PEM) the mapped https endpoints trust.");

namespace {

absl::Status Run(const std::vector<char*>& positional) {
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
  absl::SetProgramUsageMessage(
      "cluster-spec validate|plan|lab-map [FILE|-] [--in FILE] [-o "
      "textproto|json] [--lab_ca_file PEM]");
  std::vector<std::string> args = coldstart::NormalizeFlagNames(argc, argv);
  std::vector<char*> arg_pointers;
  for (std::string& arg : args) arg_pointers.push_back(arg.data());
  const std::vector<char*> positional = absl::ParseCommandLine(
      static_cast<int>(arg_pointers.size()), arg_pointers.data());
  const absl::Status status = Run(positional);
  coldstart::PrintStatus("cluster-spec", status, std::cerr);
  return coldstart::ExitCodeForStatus(status);
}
