#include "tools/talos-bootstrap/talos_bootstrap.h"

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "lib/base/status_macros.h"
#include "lib/base/time_format.h"
#include "tools/talos-bootstrap/cilium_rollout.h"
#include "tools/talos-bootstrap/client_configs.h"
#include "tools/talos-bootstrap/etcd_bootstrap.h"
#include "tools/talos-bootstrap/mesh_enrolment.h"
#include "tools/talos-bootstrap/node_convergence.h"
#include "tools/talos-bootstrap/talos_access.h"
#include "tools/talos-bootstrap/talos_secrets_store.h"

namespace coldstart {
namespace {

constexpr char kTool[] = "talos-bootstrap";

google::protobuf::Timestamp NowInWholeSeconds(ToolRun& run) {
  return ToTimestamp(
      absl::FromUnixSeconds(absl::ToUnixSeconds(run.clock().Now())));
}

const char* RoleName(const v1::Node& node) {
  return IsControlPlane(node) ? "controlplane" : "worker";
}

// What a later run would do, after checking what it needs can be reached.
absl::Status PlanBootstrap(ToolRun& run, const TalosAccess& access,
                           const MeshEnrolment* mesh,
                           const std::optional<CiliumManifest>& manifest) {
  const v1::ClusterSpec& spec = run.spec();
  std::optional<NodeConfigs> configs;
  if (access.has_credentials()) {
    ASSIGN_OR_RETURN(
        configs,
        RenderNodeConfigs(
            run, access.credentials(),
            run.cluster().status().provision().image().schematic_id(), mesh));
  }
  std::map<std::string, TalosMode> modes;
  for (const v1::Node& node : spec.nodes()) {
    absl::StatusOr<TalosMode> mode = access.DetectMode(node);
    RETURN_IF_ERROR(run.CheckEndpoint(
        absl::StrCat("the Talos API of ", node.name()), access.Address(node),
        EndpointExistence::kCreatedEarlier, mode.status()));
    if (mode.ok()) modes[node.name()] = *mode;
    run.Plan(absl::StrCat(
        node.name(), " (", node.ip(), "): ", RoleName(node), " config ",
        configs.has_value() ? configs->at(node.name()).sha256
                            : "(hash after the bundle exists)"));
  }
  const v1::Node& first = *FirstControlPlane(spec);
  bool bootstrapped = false;
  if (modes.count(first.name()) > 0 &&
      modes[first.name()] == TalosMode::kConfigured) {
    bootstrapped = access.HasEtcdMembers(first).value_or(false);
  }
  run.Plan(absl::StrCat("etcd bootstrap on ", first.name(), ": ",
                        bootstrapped ? "done" : "pending"));
  PlanClientConfigs(run);
  RETURN_IF_ERROR(CheckKubernetesApi(run));
  if (manifest.has_value()) {
    run.Plan(absl::StrCat("cilium ", manifest->path, " (sha256 ",
                          manifest->sha256.substr(0, 12), ", ",
                          manifest->objects.size(),
                          " objects): pending (server-side apply after "
                          "bootstrap, then rollout and nodes Ready)"));
  }
  return absl::OkStatus();
}

void RecordNodes(ToolRun& run, const std::map<std::string, NodeOutcome>& nodes,
                 const MeshEnrolment* mesh, v1::TalosBootstrapStatus& status) {
  status.clear_nodes();
  for (const v1::Node& n : run.spec().nodes()) {
    auto it = nodes.find(n.name());
    v1::TalosNodeStatus* recorded = status.add_nodes();
    recorded->set_name(n.name());
    recorded->set_stage(it == nodes.end() || it->second.stage.empty()
                            ? "unknown"
                            : it->second.stage);
    if (it != nodes.end()) {
      recorded->set_config_sha256(it->second.config_sha256);
    }
    recorded->set_talos_version(run.spec().versions().talos());
    *recorded->mutable_observed_at() = NowInWholeSeconds(run);
  }
  status.clear_preauth_key_ids();
  if (mesh != nullptr) {
    for (const std::string& id : mesh->KeyIds()) status.add_preauth_key_ids(id);
  }
  *status.mutable_updated_at() = NowInWholeSeconds(run);
}

absl::Status BootstrapCluster(ToolRun& run, absl::Duration timeout) {
  const v1::ClusterSpec& spec = run.spec();
  const v1::Node* first = FirstControlPlane(spec);
  if (first == nullptr) {
    return absl::InvalidArgumentError("spec.nodes has no control plane");
  }
  ASSIGN_OR_RETURN(std::optional<CiliumManifest> manifest,
                   LoadCiliumManifest(spec));
  ASSIGN_OR_RETURN(std::optional<TalosCredentials> credentials,
                   ObtainTalosCredentials(run));
  const TalosAccess access(spec, credentials);
  ASSIGN_OR_RETURN(std::unique_ptr<MeshEnrolment> mesh,
                   MeshEnrolment::Prepare(run));
  if (run.dry_run()) return PlanBootstrap(run, access, mesh.get(), manifest);

  ASSIGN_OR_RETURN(
      NodeConfigs configs,
      RenderNodeConfigs(
          run, *credentials,
          run.cluster().status().provision().image().schematic_id(),
          mesh.get()));
  v1::TalosBootstrapStatus& status =
      *run.cluster().mutable_status()->mutable_talos_bootstrap();
  absl::Time deadline = run.clock().Now() + timeout;
  bool bootstrapped_now = false;
  std::map<std::string, NodeOutcome> outcomes;
  const absl::Status converged = ConvergeNodes(
      run, access, configs, deadline,
      [&]() -> absl::Status {
        ASSIGN_OR_RETURN(bootstrapped_now,
                         BootstrapEtcd(run, access, *first, deadline));
        return absl::OkStatus();
      },
      &outcomes);
  // What is known, also on failure.
  RecordNodes(run, outcomes, mesh.get(), status);
  RETURN_IF_ERROR(converged);

  deadline = run.clock().Now() + timeout;
  RETURN_IF_ERROR(AwaitEtcdMembers(run, access, *first, deadline));
  status.set_etcd_bootstrapped(true);
  status.set_bootstrap_node(first->name());
  if (bootstrapped_now || !status.has_bootstrapped_at()) {
    *status.mutable_bootstrapped_at() = NowInWholeSeconds(run);
  }
  RETURN_IF_ERROR(WriteClientConfigs(run, access, *first, deadline, status));
  if (mesh != nullptr) RETURN_IF_ERROR(mesh->Complete(run, deadline));
  if (manifest.has_value()) {
    status.set_nodes_ready(false);
    deadline = run.clock().Now() + timeout;
    RETURN_IF_ERROR(RollOutCilium(run, *manifest, deadline, status));
    status.set_cilium_manifest_sha256(manifest->sha256);
  }
  return absl::OkStatus();
}

// Waits that ran out or were cut short: the state so far is written, and a
// re-run resumes from it.
absl::Status WithResumeHint(absl::Status status) {
  if (!absl::IsDeadlineExceeded(status) && !absl::IsUnavailable(status) &&
      !absl::IsCancelled(status)) {
    return status;
  }
  return absl::Status(status.code(),
                      absl::StrCat(status.message(), "; re-run to resume"));
}

}  // namespace

absl::Status RealMain(const TalosBootstrapOptions& options, ToolIo& io) {
  if (options.timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--timeout must be positive, got ",
                     absl::FormatDuration(options.timeout)));
  }
  ASSIGN_OR_RETURN(std::unique_ptr<ToolRun> run,
                   ToolRun::Open(kTool, options.common, io));
  return run->Finish(WithResumeHint(BootstrapCluster(*run, options.timeout)));
}

}  // namespace coldstart
