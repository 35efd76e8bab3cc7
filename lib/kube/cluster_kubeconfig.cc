#include "lib/kube/cluster_kubeconfig.h"

#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace coldstart {

absl::StatusOr<kube::RestConfig> LoadClusterKubeconfig(
    const coldstart::v1::Cluster& cluster, absl::string_view flag_path,
    absl::string_view context) {
  kube::KubeconfigLoadOptions load;
  load.context = std::string(context);
  std::string source;
  if (!flag_path.empty()) {
    load.explicit_path = std::string(flag_path);
    source = "--kubeconfig";
  } else if (!cluster.status().talos_bootstrap().kubeconfig_path().empty()) {
    load.explicit_path = cluster.status().talos_bootstrap().kubeconfig_path();
    source = "status.talos_bootstrap.kubeconfig_path";
  } else if (!cluster.spec().talos().kubeconfig_path().empty()) {
    load.explicit_path = cluster.spec().talos().kubeconfig_path();
    source = "spec.talos.kubeconfig_path";
  } else {
    source = "$KUBECONFIG or ~/.kube/config";
  }
  absl::StatusOr<kube::RestConfig> config = kube::LoadKubeconfig(load);
  if (!config.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("kubeconfig (", source, "): ", config.status().message(),
                     absl::IsNotFound(config.status())
                         ? "; run talos-bootstrap or pass --kubeconfig"
                         : ""));
  }
  return config;
}

}  // namespace coldstart
