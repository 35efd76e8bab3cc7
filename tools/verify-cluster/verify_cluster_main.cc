// verify-cluster: the cluster's verification as typed gates. See README.md.
#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "lib/base/status_macros.h"
#include "lib/cli/cli.h"
#include "lib/cli/cli_flags.h"
#include "lib/cli/kube_flags.h"
#include "lib/cli/tool_run.h"
#include "tools/verify-cluster/verify_cluster.h"

ABSL_FLAG(std::string, gate, "",
          "Run only these gates/checks (comma-separated): nodes, pods, flux, "
          "storage, vault, eso, authentik, services, or a check name.");
ABSL_FLAG(std::string, wait, "0s",
          "Poll until every check passes or this duration (e.g. 10m) passes.");
ABSL_FLAG(std::string, junit, "", "Also write the results as JUnit XML here.");

namespace {

constexpr char kUsage[] =
    "verify-cluster [--in FILE|--state FILE] [--gate G,...] [--wait D] "
    "[--junit FILE] [-o textproto|json] [--kubeconfig FILE] [--dry-run]";

absl::StatusOr<coldstart::VerifyOptions> OptionsFromFlags(
    const std::vector<std::string>& positional) {
  if (positional.size() > 1) {
    return absl::InvalidArgumentError(absl::StrCat("usage: ", kUsage));
  }
  coldstart::VerifyOptions options;
  ASSIGN_OR_RETURN(options.common, coldstart::CommonOptionsFromFlags());
  options.kube = coldstart::KubeAccessOptionsFromFlags();
  const std::string gate = absl::GetFlag(FLAGS_gate);
  if (!gate.empty()) options.gates = absl::StrSplit(gate, ',');
  if (!absl::ParseDuration(absl::GetFlag(FLAGS_wait), &options.wait)) {
    return absl::InvalidArgumentError(
        "--wait: want a duration such as 90s or 10m");
  }
  options.junit_path = absl::GetFlag(FLAGS_junit);
  return options;
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> positional =
      coldstart::ParseToolCommandLine(argc, argv, "verify-cluster", kUsage);
  absl::StatusOr<coldstart::VerifyOptions> options =
      OptionsFromFlags(positional);
  absl::Status status = options.status();
  if (options.ok()) {
    coldstart::ToolIo io = coldstart::StandardIo();
    status = coldstart::RealMain(*options, io);
  }
  coldstart::PrintStatus("verify-cluster", status, std::cerr);
  return coldstart::ExitCodeForStatus(status);
}
