// verify-cluster: the playbook's verification (nodes Ready, no pod outside
// Running/Succeeded, Flux objects Ready, storage, Vault, ESO, Authentik,
// service VIPs) as typed gates that explain themselves (README.md).
#ifndef COLDSTART_TOOLS_VERIFY_CLUSTER_VERIFY_CLUSTER_H_
#define COLDSTART_TOOLS_VERIFY_CLUSTER_VERIFY_CLUSTER_H_

#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "lib/cli/cli.h"
#include "lib/kube/kube_client.h"
#include "proto/coldstart/v1/cluster.pb.h"

namespace coldstart {

// The gates, in run order.
const std::vector<std::string>& KnownGates();

// The checks of `spec`: spec.verify.checks, or DefaultChecks(spec) when it
// lists none.
std::vector<v1::Check> EffectiveChecks(const v1::ClusterSpec& spec);

// The playbook's list with parameters from the spec (VIPs, versions).
std::vector<v1::Check> DefaultChecks(const v1::ClusterSpec& spec);

// The gate a check runs under: Check.gate when set, else from its kind
// (nodes, pods, flux, storage, vault, eso, authentik, services).
std::string GateOf(const v1::Check& check);

// Whether `check` is selected by --gate tokens (a token matches the check's
// gate, its name, or the gate derived from its kind). Empty: all.
bool Selected(const v1::Check& check, const std::vector<std::string>& gates);

struct CheckOutcome {
  std::string name;
  std::string gate;
  bool passed = false;
  // What was seen (on success) or a summary of the failures.
  std::string message;
  // One line per failing object.
  std::vector<std::string> failures;
};

// Evaluates one check against the API once. Never fails as a call: API
// errors become failures of the check.
CheckOutcome RunCheck(kube::KubeClient& client, const v1::ClusterSpec& spec,
                      const v1::Check& check);

struct VerifyOptions {
  CommonOptions common;
  // --gate NAME[,...]; empty: every check.
  std::vector<std::string> gates;
  // --wait: poll until all pass or this much time has passed; 0: one round.
  absl::Duration wait = absl::ZeroDuration();
  // --junit FILE.
  std::string junit_path;
  // --kubeconfig FILE, --context NAME.
  std::string kubeconfig;
  std::string context;
  // --insecure: allow insecure-skip-tls-verify kubeconfigs.
  bool insecure = false;
  // Pause between rounds with --wait (exponential up to 5 s).
  absl::Duration initial_poll = absl::Milliseconds(200);
  // Injectable for tests; default real.
  std::function<absl::Time()> now;
  std::function<void(absl::Duration)> sleep;
};

// One run: reads the Cluster, resolves the kubeconfig (--kubeconfig, else
// status.talos_bootstrap.kubeconfig_path, else spec.talos.kubeconfig_path,
// else $KUBECONFIG / ~/.kube/config), runs the selected checks (rounds with
// --wait), writes status.verify, prints the table to `err`, the Cluster to
// `out`, and the JUnit file. Returns OK when all pass; FailedPrecondition
// naming every failing check otherwise; InvalidArgument for bad input
// (unknown gate, unusable kubeconfig), other codes when the API cannot be
// reached at all.
absl::Status RealMain(const VerifyOptions& options, std::ostream& out,
                      std::ostream& err);

// The stderr table of `outcomes`.
std::string FormatTable(const std::vector<CheckOutcome>& outcomes);

// JUnit XML of `outcomes` (one testsuite "verify-cluster", one testcase per
// check, <failure> with the failures).
std::string FormatJunit(const std::vector<CheckOutcome>& outcomes,
                        absl::Duration elapsed);

}  // namespace coldstart

#endif  // COLDSTART_TOOLS_VERIFY_CLUSTER_VERIFY_CLUSTER_H_
