#include "tools/talos-bootstrap/node_convergence.h"

#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "lib/base/poll.h"
#include "lib/base/status_macros.h"
#include "tools/talos-bootstrap/run_steps.h"

namespace coldstart {
namespace {

constexpr size_t kMaintenanceRequestLimit = 4 << 20;

machine::ApplyConfigurationRequest ApplyRequest(const MachineConfig& config,
                                                bool dry_run) {
  machine::ApplyConfigurationRequest request;
  request.set_data(std::string(config.yaml.Reveal()));
  request.set_mode(machine::ApplyConfigurationRequest::AUTO);
  request.set_dry_run(dry_run);
  return request;
}

std::string FirstModeDetails(
    const machine::ApplyConfigurationResponse& response) {
  return response.messages_size() > 0 ? response.messages(0).mode_details()
                                      : "";
}

// One node's convergence; every wait ends early when `stop` fires.
class NodeConvergence {
 public:
  NodeConvergence(ToolRun& run, const TalosAccess& access, const v1::Node& node,
                  const MachineConfig& config, absl::Time deadline,
                  const StopSignal& stop)
      : run_(run),
        access_(access),
        node_(node),
        config_(config),
        deadline_(deadline),
        stop_(stop) {}

  absl::Status Converge() {
    TalosMode mode = TalosMode::kMaintenance;
    RETURN_IF_ERROR(RunStep(run_, "boot wait", node_.name(), [&] {
      return Wait("Talos API", [&]() -> absl::Status {
        ASSIGN_OR_RETURN(mode, access_.DetectMode(node_));
        return absl::OkStatus();
      });
    }));
    if (mode == TalosMode::kConfigured) {
      return RunStep(run_, "apply", node_.name(),
                     [&] { return ApplyToConfigured(); });
    }
    RETURN_IF_ERROR(RunStep(run_, "apply", node_.name(),
                            [&] { return ApplyInMaintenance(); }));
    // Control planes answer with the cluster PKI within seconds; workers
    // only after trustd (bootstrap + VIP).
    if (!IsControlPlane(node_)) return absl::OkStatus();
    return RunStep(run_, "cluster PKI wait", node_.name(), [&] {
      return Wait("cluster PKI",
                  [&] { return access_.Mutual(node_)->Version().status(); });
    });
  }

 private:
  // Polls `attempt` as "the <what> of <node>" until the deadline or stop.
  template <typename Attempt>
  absl::Status Wait(absl::string_view what, Attempt attempt) {
    return Poll(
        ConvergenceWait(run_, absl::StrCat("the ", what, " of ", node_.name()),
                        deadline_, &stop_),
        [&](PollAttempt&) { return attempt(); });
  }

  absl::Status ApplyInMaintenance() {
    if (config_.yaml.size() >= kMaintenanceRequestLimit) {
      return absl::FailedPreconditionError(absl::StrCat(
          node_.name(), ": machine config is ", config_.yaml.size(),
          " bytes; maintenance mode on Talos ≤1.12 accepts requests below 4 "
          "MiB"));
    }
    run_.events().Note(absl::StrCat("maintenance mode; applying ",
                                    config_.sha256.substr(0, 12)),
                       node_.name());
    const machine::ApplyConfigurationRequest request =
        ApplyRequest(config_, /*dry_run=*/false);
    absl::Status applied = Wait("apply", [&] {
      return access_.Insecure(node_)->Apply(request).status();
    });
    if (applied.ok() || absl::IsCancelled(applied)) return applied;
    return absl::Status(
        absl::IsInvalidArgument(applied) ? absl::StatusCode::kFailedPrecondition
                                         : applied.code(),
        absl::StrCat(node_.name(),
                     ": the node rejected its config: ", applied.message()));
  }

  absl::Status ApplyToConfigured() {
    ASSIGN_OR_RETURN(
        machine::ApplyConfigurationResponse dry,
        access_.Mutual(node_)->Apply(ApplyRequest(config_, /*dry_run=*/true)));
    const std::string details = FirstModeDetails(dry);
    if (absl::StrContains(details, "No changes.")) return absl::OkStatus();
    run_.events().Note(
        absl::StrCat("config drift; diff:\n", RedactDiff(details)),
        node_.name());
    ASSIGN_OR_RETURN(
        machine::ApplyConfigurationResponse applied,
        access_.Mutual(node_)->Apply(ApplyRequest(config_, /*dry_run=*/false)));
    run_.events().Note(absl::StrCat("applied ", config_.sha256.substr(0, 12),
                                    " (", FirstModeDetails(applied), ")"),
                       node_.name());
    return absl::OkStatus();
  }

  ToolRun& run_;
  const TalosAccess& access_;
  const v1::Node& node_;
  const MachineConfig& config_;
  const absl::Time deadline_;
  const StopSignal& stop_;
};

}  // namespace

absl::StatusOr<NodeConfigs> RenderNodeConfigs(
    ToolRun& run, const TalosCredentials& credentials,
    const std::string& schematic_id, const MeshEnrolment* mesh) {
  NodeConfigs configs;
  RETURN_IF_ERROR(RunStep(run, "configs", "", [&]() -> absl::Status {
    for (const v1::Node& node : run.spec().nodes()) {
      ASSIGN_OR_RETURN(
          configs[node.name()],
          RenderMachineConfig(
              run.spec(), node, credentials.bundle, schematic_id,
              mesh == nullptr ? Secret() : mesh->PreauthKey(node.name())));
    }
    return absl::OkStatus();
  }));
  return configs;
}

absl::Status ConvergeNodes(
    ToolRun& run, const TalosAccess& access, const NodeConfigs& configs,
    absl::Time deadline, absl::FunctionRef<absl::Status()> after_control_planes,
    std::map<std::string, NodeOutcome>* outcomes) {
  const auto& nodes = run.spec().nodes();
  StopSignal stop;
  std::vector<absl::Status> results(nodes.size());
  for (const v1::Node& node : nodes) {
    (*outcomes)[node.name()].config_sha256 = configs.at(node.name()).sha256;
  }
  auto start = [&](bool control_planes) {
    std::vector<std::thread> threads;
    for (int i = 0; i < nodes.size(); ++i) {
      if (IsControlPlane(nodes[i]) != control_planes) continue;
      NodeOutcome* outcome = &(*outcomes)[nodes[i].name()];
      threads.emplace_back([&, i, control_planes, outcome] {
        const v1::Node& node = nodes[i];
        results[i] = NodeConvergence(run, access, node, configs.at(node.name()),
                                     deadline, stop)
                         .Converge();
        if (results[i].ok()) outcome->stage = "configured";
        // Without every control plane there is no bootstrap: stop waiting.
        if (!results[i].ok() && control_planes) stop.Stop(results[i]);
      });
    }
    return threads;
  };
  std::vector<std::thread> control_planes = start(true);
  std::vector<std::thread> workers = start(false);
  for (std::thread& t : control_planes) t.join();
  if (!stop.stopped()) {
    absl::Status status = after_control_planes();
    if (!status.ok()) stop.Stop(status);
  }
  for (std::thread& t : workers) t.join();
  if (stop.stopped()) return stop.reason();
  for (const absl::Status& status : results) RETURN_IF_ERROR(status);
  return absl::OkStatus();
}

std::string RedactDiff(const std::string& details) {
  std::string out;
  for (absl::string_view line : absl::StrSplit(details, '\n')) {
    if (absl::StrContains(line, "key:") || absl::StrContains(line, "token:") ||
        absl::StrContains(line, "secret:") ||
        absl::StrContains(line, "Secret:") ||
        absl::StrContains(line, "TS_AUTHKEY") ||
        absl::StrContains(line, "crt:")) {
      const size_t colon = line.find_first_of(":=");
      absl::StrAppend(&out, "    ", line.substr(0, colon + 1), " [redacted]\n");
    } else {
      absl::StrAppend(&out, "    ", line, "\n");
    }
  }
  return out;
}

}  // namespace coldstart
