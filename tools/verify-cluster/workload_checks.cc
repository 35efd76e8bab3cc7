#include "tools/verify-cluster/workload_checks.h"

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "lib/json/json_path.h"
#include "lib/kube/kube_lists.h"

namespace coldstart {
namespace {

using kube::Json;
using kube::KubeClient;

struct WantedNodes {
  size_t control_planes = 0;
  size_t workers = 0;
  std::string kubelet_version;
};

WantedNodes Wanted(const v1::ClusterSpec& spec,
                   const v1::NodesReadyCheck& check) {
  WantedNodes wanted{check.control_planes(), check.workers(),
                     check.kubelet_version()};
  if (wanted.control_planes == 0 && wanted.workers == 0) {
    for (const v1::Node& node : spec.nodes()) {
      ++(node.role() == v1::NODE_ROLE_CONTROL_PLANE ? wanted.control_planes
                                                    : wanted.workers);
    }
  }
  if (wanted.kubelet_version.empty() && !spec.versions().kubernetes().empty()) {
    wanted.kubelet_version = absl::StrCat("v", spec.versions().kubernetes());
  }
  return wanted;
}

std::string NotReadyText(const kube::NodeSummary& node) {
  std::string why = node.ready.empty() ? "no Ready condition"
                                       : absl::StrCat("Ready=", node.ready);
  if (!node.ready_reason.empty()) absl::StrAppend(&why, " ", node.ready_reason);
  if (!node.ready_message.empty()) {
    absl::StrAppend(&why, ": ", node.ready_message);
  }
  return absl::StrCat("node ", node.name, ": ", why);
}

bool IsControlPlane(const kube::NodeSummary& node) {
  return std::find(node.roles.begin(), node.roles.end(), "control-plane") !=
         node.roles.end();
}

bool Allowed(const kube::PodSummary& pod,
             const google::protobuf::RepeatedPtrField<std::string>& allow) {
  for (const std::string& entry : allow) {
    std::vector<std::string> parts =
        absl::StrSplit(entry, absl::MaxSplits('/', 1));
    if (parts.size() != 2 || parts[0] != pod.ns) continue;
    if (parts[1] == "*" || absl::StartsWith(pod.name, parts[1])) return true;
  }
  return false;
}

bool IsDefaultClass(const Json& storage_class) {
  const Json* annotations = JsonAt(storage_class, {"metadata", "annotations"});
  if (annotations == nullptr) return false;
  return JsonString(*annotations,
                    {"storageclass.kubernetes.io/is-default-class"}) ==
             "true" ||
         JsonString(*annotations,
                    {"storageclass.beta.kubernetes.io/is-default-class"}) ==
             "true";
}

void CheckStorageClass(KubeClient& client, const v1::StorageCheck& check,
                       const std::string& driver, CheckOutcome& outcome) {
  const std::string id = absl::StrCat("StorageClass ", check.storage_class());
  absl::StatusOr<Json> storage_class =
      client.Get(kube::StorageClasses(), "", check.storage_class());
  if (!storage_class.ok()) {
    outcome.failures.push_back(
        absl::StrCat(id, ": ",
                     absl::IsNotFound(storage_class.status())
                         ? "not found"
                         : storage_class.status().message()));
    return;
  }
  if (!IsDefaultClass(*storage_class)) {
    outcome.failures.push_back(absl::StrCat(id, ": not the default class"));
  }
  const std::string provisioner = JsonString(*storage_class, {"provisioner"});
  if (provisioner != driver) {
    outcome.failures.push_back(
        absl::StrCat(id, ": provisioner ", provisioner, ", want ", driver));
  }
}

void CheckCsiPods(KubeClient& client, const std::string& ns,
                  CheckOutcome& outcome) {
  absl::StatusOr<std::vector<kube::PodSummary>> pods =
      kube::ListPodSummaries(client, ns);
  if (!pods.ok()) {
    outcome.failures.push_back(std::string(pods.status().message()));
  } else if (pods->empty()) {
    outcome.failures.push_back(absl::StrCat("no CSI pods in namespace ", ns));
  }
  if (!pods.ok()) return;
  for (const kube::PodSummary& pod : *pods) {
    if (!PodHealthy(pod) || pod.phase != "Running") {
      outcome.failures.push_back(PodProblem(pod));
    }
  }
}

bool ListsDriver(const Json& csinode, const std::string& driver) {
  const Json* drivers = JsonAt(csinode, {"spec", "drivers"});
  if (drivers == nullptr || !drivers->is_array()) return false;
  for (const Json& entry : *drivers) {
    if (JsonString(entry, {"name"}) == driver) return true;
  }
  return false;
}

// The number of CSINodes seen.
size_t CheckCsiNodes(KubeClient& client, const std::string& driver,
                     CheckOutcome& outcome) {
  absl::StatusOr<std::vector<Json>> csinodes =
      client.List(kube::CsiNodes(), "");
  if (!csinodes.ok()) {
    outcome.failures.push_back(std::string(csinodes.status().message()));
    return 0;
  }
  if (csinodes->empty()) outcome.failures.push_back("no CSINode objects exist");
  for (const Json& node : *csinodes) {
    if (!ListsDriver(node, driver)) {
      outcome.failures.push_back(absl::StrCat("CSINode ", ObjectName(node),
                                              ": driver ", driver,
                                              " not registered"));
    }
  }
  return csinodes->size();
}

}  // namespace

CheckOutcome CheckNodesReady(KubeClient& client, const v1::ClusterSpec& spec,
                             const v1::NodesReadyCheck& check,
                             CheckOutcome outcome) {
  const WantedNodes wanted = Wanted(spec, check);
  std::map<std::string, v1::NodeRole> spec_roles;
  for (const v1::Node& node : spec.nodes())
    spec_roles[node.name()] = node.role();
  absl::StatusOr<std::vector<kube::NodeSummary>> nodes =
      kube::ListNodeSummaries(client);
  if (!nodes.ok()) {
    outcome.failures.push_back(std::string(nodes.status().message()));
    return Conclude(outcome, "");
  }
  size_t control_planes = 0, workers = 0;
  std::set<std::string> seen;
  for (const kube::NodeSummary& node : *nodes) {
    seen.insert(node.name);
    ++(IsControlPlane(node) ? control_planes : workers);
    if (!spec_roles.empty() && spec_roles.count(node.name) == 0) {
      outcome.failures.push_back(
          absl::StrCat("node ", node.name, ": not in the spec"));
    }
    if (node.ready != "True") outcome.failures.push_back(NotReadyText(node));
    if (!wanted.kubelet_version.empty() &&
        node.kubelet_version != wanted.kubelet_version) {
      outcome.failures.push_back(
          absl::StrCat("node ", node.name, ": kubelet ",
                       node.kubelet_version.empty() ? "version unknown"
                                                    : node.kubelet_version,
                       ", want ", wanted.kubelet_version));
    }
  }
  for (const auto& [name, role] : spec_roles) {
    if (seen.count(name) == 0) {
      outcome.failures.push_back(
          absl::StrCat("node ", name, ": not registered"));
    }
  }
  if (control_planes != wanted.control_planes) {
    outcome.failures.push_back(
        absl::StrCat("control-plane nodes: ", control_planes,
                     " registered, want ", wanted.control_planes));
  }
  if (workers != wanted.workers) {
    outcome.failures.push_back(absl::StrCat(
        "worker nodes: ", workers, " registered, want ", wanted.workers));
  }
  return Conclude(
      outcome, absl::StrCat(Plural(nodes->size(), "node", "nodes"), " Ready (",
                            control_planes, " control-plane, ", workers,
                            " worker), kubelet ", wanted.kubelet_version));
}

CheckOutcome CheckPodsHealthy(KubeClient& client,
                              const v1::PodsHealthyCheck& check,
                              CheckOutcome outcome) {
  size_t total = 0;
  for (const std::string& ns : NamespacesOrAll(check.namespaces())) {
    absl::StatusOr<std::vector<kube::PodSummary>> pods =
        kube::ListPodSummaries(client, ns);
    if (!pods.ok()) {
      outcome.failures.push_back(std::string(pods.status().message()));
      continue;
    }
    total += pods->size();
    for (const kube::PodSummary& pod : *pods) {
      if (!PodHealthy(pod) && !Allowed(pod, check.allow())) {
        outcome.failures.push_back(PodProblem(pod));
      }
    }
  }
  return Conclude(outcome, absl::StrCat(Plural(total, "pod", "pods"),
                                        " Running or Succeeded"));
}

CheckOutcome CheckPodsReady(KubeClient& client, const v1::PodsReadyCheck& check,
                            CheckOutcome outcome) {
  kube::ListOptions options;
  options.label_selector = check.label_selector();
  absl::StatusOr<std::vector<kube::PodSummary>> pods =
      kube::ListPodSummaries(client, check.namespace_(), options);
  if (!pods.ok()) {
    outcome.failures.push_back(std::string(pods.status().message()));
    return Conclude(outcome, "");
  }
  if (pods->empty()) {
    outcome.failures.push_back(
        absl::StrCat("no pods in namespace ", check.namespace_(),
                     check.label_selector().empty() ? "" : " with labels ",
                     check.label_selector()));
  }
  for (const kube::PodSummary& pod : *pods) {
    if (pod.phase != "Running" || !pod.reason.empty()) {
      outcome.failures.push_back(PodProblem(pod));
    } else if (pod.ready_containers < pod.containers) {
      outcome.failures.push_back(absl::StrCat(
          "pod ", pod.ns, "/", pod.name, ": Running but ", pod.ready_containers,
          "/", pod.containers, " containers ready"));
    }
  }
  return Conclude(outcome,
                  absl::StrCat(Plural(pods->size(), "pod", "pods"), " in ",
                               check.namespace_(), " Running and ready"));
}

CheckOutcome CheckStorage(KubeClient& client, const v1::StorageCheck& check,
                          CheckOutcome outcome) {
  const std::string driver =
      check.csi_driver().empty() ? kProxmoxCsiDriver : check.csi_driver();
  CheckStorageClass(client, check, driver, outcome);
  if (!check.namespace_().empty()) {
    CheckCsiPods(client, check.namespace_(), outcome);
  }
  const size_t csinodes = CheckCsiNodes(client, driver, outcome);
  return Conclude(outcome, absl::StrCat("StorageClass ", check.storage_class(),
                                        " is the default; CSI pods Running; ",
                                        csinodes, " CSINodes list ", driver));
}

}  // namespace coldstart
