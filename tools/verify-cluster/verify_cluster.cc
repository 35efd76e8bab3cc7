#include "tools/verify-cluster/verify_cluster.h"

#include <sys/stat.h>

#include <memory>
#include <optional>
#include <vector>

#include "absl/strings/str_cat.h"
#include "lib/base/poll.h"
#include "lib/base/status_macros.h"
#include "lib/cli/atomic_file.h"
#include "lib/cli/events.h"
#include "lib/kube/kube_client.h"
#include "lib/kube/kube_config.h"
#include "tools/verify-cluster/checks.h"
#include "tools/verify-cluster/report.h"

namespace coldstart {
namespace {

using v1::Check;

constexpr char kTool[] = "verify-cluster";

absl::Status CheckVerifyOptions(const VerifyOptions& options) {
  for (const std::string& gate : options.gates) {
    if (gate.empty())
      return absl::InvalidArgumentError("--gate: empty gate name");
  }
  if (options.wait < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--wait: must not be negative");
  }
  return absl::OkStatus();
}

// The event steps of the checks: a check's step runs from its first
// evaluation until it passes (a check that fails again later opens a new
// one); steps still open at the end fail with the check's message.
class CheckSteps {
 public:
  CheckSteps(Events& events, const std::vector<Check>& checks)
      : events_(events),
        checks_(checks),
        open_(checks.size()),
        passing_(checks.size(), false) {}

  void Before(size_t i) {
    if (!open_[i].has_value() && !passing_[i]) Open(i);
  }
  void After(size_t i, const CheckOutcome& outcome) {
    passing_[i] = outcome.passed;
    if (outcome.passed && open_[i].has_value()) {
      events_.End(*open_[i], absl::OkStatus());
      open_[i].reset();
    } else if (!outcome.passed && !open_[i].has_value()) {
      Open(i);
    }
  }
  void EndOpen(const std::vector<CheckOutcome>& outcomes) {
    for (size_t i = 0; i < open_.size(); ++i) {
      if (!open_[i].has_value()) continue;
      events_.End(*open_[i],
                  absl::FailedPreconditionError(outcomes[i].message));
      open_[i].reset();
    }
  }

 private:
  void Open(size_t i) { open_[i] = events_.Start(checks_[i].name()); }

  Events& events_;
  const std::vector<Check>& checks_;
  std::vector<std::optional<Events::StepId>> open_;
  std::vector<bool> passing_;
};

// Rounds of every check until all pass or `wait` is over (one round when it
// is zero); the first round is immediate, then 200 ms doubling to 5 s.
VerifyReport RunRounds(ToolRun& run, kube::KubeClient& client,
                       const std::vector<Check>& checks, absl::Duration wait) {
  VerifyReport report;
  report.started.resize(checks.size());
  report.finished.resize(checks.size());
  CheckSteps steps(run.events(), checks);
  Clock& clock = run.clock();
  const absl::Time start = clock.Now();
  PollOptions poll = run.PollFor("every selected check to pass", wait);
  poll.backoff.initial = absl::Milliseconds(200);
  poll.backoff.max = absl::Seconds(5);
  // The outcome is the report's: a wait that ends with failures is the
  // verdict, not an error of the loop.
  (void)Poll(poll, [&](PollAttempt&) -> absl::Status {
    ++report.rounds;
    report.outcomes.clear();
    size_t failing = 0;
    for (size_t i = 0; i < checks.size(); ++i) {
      steps.Before(i);
      report.started[i] = clock.Now();
      report.outcomes.push_back(RunCheck(client, run.spec(), checks[i]));
      report.finished[i] = clock.Now();
      steps.After(i, report.outcomes.back());
      failing += report.outcomes.back().passed ? 0 : 1;
    }
    if (failing == 0) return absl::OkStatus();
    return absl::UnavailableError(absl::StrCat("round ", report.rounds, ": ",
                                               failing, " of ", checks.size(),
                                               " checks failing"));
  });
  report.elapsed = clock.Now() - start;
  steps.EndOpen(report.outcomes);
  return report;
}

// Whether the status says the cluster's API exists: etcd bootstrapped and
// the kubeconfig written.
bool ClusterExists(const v1::Cluster& cluster) {
  const v1::TalosBootstrapStatus& bootstrap =
      cluster.status().talos_bootstrap();
  return bootstrap.etcd_bootstrapped() && !bootstrap.kubeconfig_path().empty();
}

bool FileExists(const std::string& path) {
  struct stat info;
  return stat(path.c_str(), &info) == 0;
}

absl::Status DryRun(ToolRun& run, const VerifyOptions& options,
                    const std::vector<Check>& checks) {
  for (const Check& check : checks) {
    run.Plan(
        absl::StrCat("would run ", check.name(), " (", GateOf(check), ")"));
  }
  const bool exists = ClusterExists(run.cluster());
  absl::StatusOr<kube::RestConfig> config = LoadClusterKubeconfig(
      run.cluster(), options.kube.kubeconfig, options.kube.context);
  if (!config.ok()) {
    // A kubeconfig the user named that is there but unusable is bad input.
    const bool named_and_present =
        !options.kube.kubeconfig.empty() && FileExists(options.kube.kubeconfig);
    if (exists || named_and_present) return config.status();
    run.Plan(absl::StrCat("pending: ", config.status().message(),
                          " (written by talos-bootstrap, an earlier layer)"));
    return absl::OkStatus();
  }
  ASSIGN_OR_RETURN(
      std::unique_ptr<kube::KubeClient> client,
      kube::KubeClient::FromConfig(*config, options.kube.insecure));
  return run.CheckEndpoint("the Kubernetes API", config->server,
                           exists ? EndpointExistence::kMustExist
                                  : EndpointExistence::kCreatedEarlier,
                           client->Version().status());
}

absl::Status Verify(ToolRun& run, const VerifyOptions& options) {
  ASSIGN_OR_RETURN(std::vector<Check> checks,
                   SelectChecks(run.spec(), options.gates));
  if (run.dry_run()) return DryRun(run, options, checks);
  ASSIGN_OR_RETURN(kube::RestConfig config,
                   LoadClusterKubeconfig(run.cluster(), options.kube.kubeconfig,
                                         options.kube.context));
  ASSIGN_OR_RETURN(std::unique_ptr<kube::KubeClient> client,
                   kube::KubeClient::FromConfig(config, options.kube.insecure));
  const VerifyReport report = RunRounds(run, *client, checks, options.wait);
  RecordResults(report, run.clock().Now(),
                *run.cluster().mutable_status()->mutable_verify());
  run.err() << FormatTable(report.outcomes);
  if (!options.junit_path.empty()) {
    RETURN_IF_ERROR(WriteFileAtomically(
        options.junit_path, FormatJunit(report.outcomes, report.elapsed)));
  }
  return Verdict(report, options.wait);
}

}  // namespace

absl::Status RealMain(const VerifyOptions& options, ToolIo& io) {
  RETURN_IF_ERROR(CheckVerifyOptions(options));
  ASSIGN_OR_RETURN(std::unique_ptr<ToolRun> run,
                   ToolRun::Open(kTool, options.common, io));
  return run->Finish(Verify(*run, options));
}

}  // namespace coldstart
