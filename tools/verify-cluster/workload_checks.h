// The checks of the nodes, pods and storage gates: what runs on the cluster
// (tools/verify-cluster README "Gates and checks"). Each evaluates once
// against the API and never fails as a call: API errors become failures of
// the check. `outcome` arrives with name and gate set.
#ifndef COLDSTART_TOOLS_VERIFY_CLUSTER_WORKLOAD_CHECKS_H_
#define COLDSTART_TOOLS_VERIFY_CLUSTER_WORKLOAD_CHECKS_H_

#include "lib/kube/kube_client.h"
#include "proto/coldstart/v1/cluster.pb.h"
#include "tools/verify-cluster/check_support.h"

namespace coldstart {

inline constexpr char kProxmoxCsiDriver[] = "csi.proxmox.sinextra.dev";

// Nodes per role as the spec says (or as the check says), every node Ready,
// kubelet = v + spec.versions.kubernetes, no node outside the spec.
CheckOutcome CheckNodesReady(kube::KubeClient& client,
                             const v1::ClusterSpec& spec,
                             const v1::NodesReadyCheck& check,
                             CheckOutcome outcome);

// Every pod Running or Succeeded, except the allowed ones.
CheckOutcome CheckPodsHealthy(kube::KubeClient& client,
                              const v1::PodsHealthyCheck& check,
                              CheckOutcome outcome);

// Pods of a namespace (and selector) exist, Running, all containers ready.
CheckOutcome CheckPodsReady(kube::KubeClient& client,
                            const v1::PodsReadyCheck& check,
                            CheckOutcome outcome);

// The StorageClass is the default and names the CSI driver, the CSI pods
// run, every CSINode lists the driver.
CheckOutcome CheckStorage(kube::KubeClient& client,
                          const v1::StorageCheck& check, CheckOutcome outcome);

}  // namespace coldstart

#endif  // COLDSTART_TOOLS_VERIFY_CLUSTER_WORKLOAD_CHECKS_H_
