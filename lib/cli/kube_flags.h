// The flags of tools that talk to the cluster's Kubernetes API, defined once:
//   --kubeconfig FILE  --context NAME  --insecure
// Link only into a tool's main (*_main.cc); libraries take KubeAccessOptions
// (lib/kube/cluster_kubeconfig.h).
#ifndef COLDSTART_LIB_CLI_KUBE_FLAGS_H_
#define COLDSTART_LIB_CLI_KUBE_FLAGS_H_

#include <string>

#include "absl/flags/declare.h"
#include "lib/kube/cluster_kubeconfig.h"

ABSL_DECLARE_FLAG(std::string, kubeconfig);
ABSL_DECLARE_FLAG(std::string, context);
ABSL_DECLARE_FLAG(bool, insecure);

namespace coldstart {

KubeAccessOptions KubeAccessOptionsFromFlags();

}  // namespace coldstart

#endif  // COLDSTART_LIB_CLI_KUBE_FLAGS_H_
