// verify-cluster: the cluster's verification as typed gates. See README.md.
#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "lib/cli/cli.h"
#include "lib/cli/cli_flags.h"
#include "tools/verify-cluster/verify_cluster.h"

ABSL_FLAG(std::string, gate, "",
          "Run only these gates/checks (comma-separated): nodes, pods, flux, "
          "storage, vault, eso, authentik, services, or a check name.");
ABSL_FLAG(std::string, wait, "0s",
          "Poll until every check passes or this duration (e.g. 10m) passes.");
ABSL_FLAG(std::string, junit, "", "Also write the results as JUnit XML here.");
ABSL_FLAG(std::string, kubeconfig, "",
          "Kubeconfig file (default: the status' or spec's kubeconfig_path, "
          "else $KUBECONFIG / ~/.kube/config).");
ABSL_FLAG(std::string, context, "", "Kubeconfig context to use.");
ABSL_FLAG(bool, insecure, false,
          "Allow a kubeconfig with insecure-skip-tls-verify.");

namespace {

absl::Status Run(const std::vector<std::string>& positional) {
  if (positional.size() > 1) {
    return absl::InvalidArgumentError(
        "usage: verify-cluster [--in FILE|--state FILE] [--gate G,...] "
        "[--wait DURATION] [--junit FILE] [-o textproto|json]");
  }
  absl::StatusOr<coldstart::CommonOptions> common =
      coldstart::CommonOptionsFromFlags();
  if (!common.ok()) return common.status();
  coldstart::VerifyOptions options;
  options.common = *common;
  std::string gate = absl::GetFlag(FLAGS_gate);
  if (!gate.empty()) options.gates = absl::StrSplit(gate, ',');
  if (!absl::ParseDuration(absl::GetFlag(FLAGS_wait), &options.wait) ||
      options.wait < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        "--wait: want a duration such as 90s or 10m");
  }
  options.junit_path = absl::GetFlag(FLAGS_junit);
  options.kubeconfig = absl::GetFlag(FLAGS_kubeconfig);
  options.context = absl::GetFlag(FLAGS_context);
  options.insecure = absl::GetFlag(FLAGS_insecure);
  return coldstart::RealMain(options, std::cout, std::cerr);
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> positional = coldstart::ParseToolCommandLine(
      argc, argv, "verify-cluster",
      "verify-cluster [--in FILE|--state FILE] [--gate G,...] [--wait D] "
      "[--junit FILE] [-o textproto|json] [--kubeconfig FILE]");
  const absl::Status status = Run(positional);
  coldstart::PrintStatus("verify-cluster", status, std::cerr);
  return coldstart::ExitCodeForStatus(status);
}
