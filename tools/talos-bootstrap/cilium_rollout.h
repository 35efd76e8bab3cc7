// Cilium on the new cluster (spec.talos.cilium_manifest, a pre-rendered
// `helm template` output): every object server-side applied in file order
// through the first API server that answers (the VIP, else the bootstrap
// endpoint), then the rollout of its DaemonSets and every node Ready.
#ifndef COLDSTART_TOOLS_TALOS_BOOTSTRAP_CILIUM_ROLLOUT_H_
#define COLDSTART_TOOLS_TALOS_BOOTSTRAP_CILIUM_ROLLOUT_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "lib/cli/tool_run.h"
#include "proto/coldstart/v1/cluster.pb.h"
#include "tools/talos-bootstrap/manifest.h"

namespace coldstart {

struct CiliumManifest {
  // As the spec names it (relative paths: to the working directory).
  std::string path;
  std::string sha256;
  std::vector<ManifestObject> objects;
};

// The manifest the spec names, read and parsed before anything changes;
// std::nullopt when the spec names none. InvalidArgument when it cannot be
// read, does not parse (file:line:col) or has no objects.
absl::StatusOr<std::optional<CiliumManifest>> LoadCiliumManifest(
    const v1::ClusterSpec& spec);

// Steps "VIP wait" (an API server answers GET /version, through the
// kubeconfig in `status`), "cilium apply", "cilium rollout" and "nodes
// ready", each ending by `deadline`. Sets kube_endpoint, cilium_applied and
// nodes_ready in `status`. Errors: FailedPrecondition for an unreadable
// kubeconfig; the API server's; DeadlineExceeded.
absl::Status RollOutCilium(ToolRun& run, const CiliumManifest& manifest,
                           absl::Time deadline,
                           v1::TalosBootstrapStatus& status);

// Dry run: whether the Kubernetes API on the VIP (network.api_vip,
// api_port) answers. An earlier step of this tool creates it, so silence is
// a pending plan line (ToolRun::CheckEndpoint, kCreatedEarlier).
absl::Status CheckKubernetesApi(ToolRun& run);

}  // namespace coldstart

#endif  // COLDSTART_TOOLS_TALOS_BOOTSTRAP_CILIUM_ROLLOUT_H_
