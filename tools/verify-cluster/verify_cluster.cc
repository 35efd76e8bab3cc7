#include "tools/verify-cluster/verify_cluster.h"

#include <algorithm>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "google/protobuf/util/time_util.h"
#include "lib/base/status_macros.h"
#include "lib/cli/atomic_file.h"
#include "lib/cli/events.h"
#include "lib/kube/cluster_kubeconfig.h"
#include "lib/kube/kube_config.h"
#include "lib/kube/kube_lists.h"

namespace coldstart {
namespace {

using kube::Json;
using kube::KubeClient;
using v1::Check;

constexpr char kCsiDriver[] = "csi.proxmox.sinextra.dev";

std::string Str(const Json& j, std::initializer_list<const char*> keys) {
  const Json* cur = &j;
  for (const char* k : keys) {
    if (!cur->is_object()) return "";
    auto it = cur->find(k);
    if (it == cur->end()) return "";
    cur = &*it;
  }
  return cur->is_string() ? cur->get<std::string>() : "";
}

std::string ObjectName(const Json& o) {
  std::string ns = Str(o, {"metadata", "namespace"});
  std::string name = Str(o, {"metadata", "name"});
  return ns.empty() ? name : absl::StrCat(ns, "/", name);
}

// "Ready=False BuildFailed: message" or "no Ready condition".
std::string ReadyText(const Json& o) {
  const Json* c = kube::FindCondition(o, "Ready");
  if (c == nullptr) return "no Ready condition yet";
  std::string text = absl::StrCat("Ready=", Str(*c, {"status"}));
  std::string reason = Str(*c, {"reason"});
  std::string message = Str(*c, {"message"});
  if (!reason.empty()) absl::StrAppend(&text, " ", reason);
  if (!message.empty()) absl::StrAppend(&text, ": ", message);
  return text;
}

bool IsReady(const Json& o) {
  const Json* c = kube::FindCondition(o, "Ready");
  return c != nullptr && Str(*c, {"status"}) == "True";
}

Check MakeCheck(const std::string& name, const std::string& gate) {
  Check c;
  c.set_name(name);
  c.set_gate(gate);
  return c;
}

std::string Plural(size_t n, const char* one, const char* many) {
  return absl::StrCat(n, " ", n == 1 ? one : many);
}

CheckOutcome Finish(CheckOutcome o, const std::string& ok_message) {
  o.passed = o.failures.empty();
  if (o.passed) {
    o.message = ok_message;
  } else {
    o.message = o.failures.size() == 1
                    ? o.failures[0]
                    : absl::StrCat(o.failures[0], " (and ",
                                   o.failures.size() - 1, " more)");
  }
  return o;
}

// --- The checks ---

CheckOutcome NodesReady(KubeClient& client, const v1::ClusterSpec& spec,
                        const v1::NodesReadyCheck& p, CheckOutcome o) {
  size_t want_cp = p.control_planes(), want_workers = p.workers();
  std::map<std::string, v1::NodeRole> spec_roles;
  for (const v1::Node& n : spec.nodes()) spec_roles[n.name()] = n.role();
  if (want_cp == 0 && want_workers == 0) {
    for (const v1::Node& n : spec.nodes()) {
      (n.role() == v1::NODE_ROLE_CONTROL_PLANE ? want_cp : want_workers)++;
    }
  }
  std::string want_version = p.kubelet_version();
  if (want_version.empty() && !spec.versions().kubernetes().empty()) {
    want_version = absl::StrCat("v", spec.versions().kubernetes());
  }
  absl::StatusOr<std::vector<kube::NodeSummary>> nodes =
      kube::ListNodeSummaries(client);
  if (!nodes.ok()) {
    o.failures.push_back(std::string(nodes.status().message()));
    return Finish(o, "");
  }
  size_t cp = 0, workers = 0;
  std::set<std::string> seen;
  for (const kube::NodeSummary& n : *nodes) {
    seen.insert(n.name);
    bool is_cp = std::find(n.roles.begin(), n.roles.end(), "control-plane") !=
                 n.roles.end();
    (is_cp ? cp : workers)++;
    if (!spec_roles.empty() && spec_roles.count(n.name) == 0) {
      o.failures.push_back(absl::StrCat("node ", n.name, ": not in the spec"));
    }
    if (n.ready != "True") {
      std::string why = n.ready.empty() ? "no Ready condition"
                                        : absl::StrCat("Ready=", n.ready);
      if (!n.ready_reason.empty()) absl::StrAppend(&why, " ", n.ready_reason);
      if (!n.ready_message.empty())
        absl::StrAppend(&why, ": ", n.ready_message);
      o.failures.push_back(absl::StrCat("node ", n.name, ": ", why));
    }
    if (!want_version.empty() && n.kubelet_version != want_version) {
      o.failures.push_back(absl::StrCat(
          "node ", n.name, ": kubelet ",
          n.kubelet_version.empty() ? "version unknown" : n.kubelet_version,
          ", want ", want_version));
    }
  }
  for (const auto& [name, role] : spec_roles) {
    if (seen.count(name) == 0) {
      o.failures.push_back(absl::StrCat("node ", name, ": not registered"));
    }
  }
  if (cp != want_cp) {
    o.failures.push_back(absl::StrCat("control-plane nodes: ", cp,
                                      " registered, want ", want_cp));
  }
  if (workers != want_workers) {
    o.failures.push_back(absl::StrCat("worker nodes: ", workers,
                                      " registered, want ", want_workers));
  }
  return Finish(o, absl::StrCat(Plural(nodes->size(), "node", "nodes"),
                                " Ready (", cp, " control-plane, ", workers,
                                " worker), kubelet ", want_version));
}

bool Allowed(const kube::PodSummary& pod,
             const google::protobuf::RepeatedPtrField<std::string>& allow) {
  for (const std::string& a : allow) {
    std::vector<std::string> parts = absl::StrSplit(a, absl::MaxSplits('/', 1));
    if (parts.size() != 2 || parts[0] != pod.ns) continue;
    if (parts[1] == "*" || absl::StartsWith(pod.name, parts[1])) return true;
  }
  return false;
}

std::string PodProblem(const kube::PodSummary& p) {
  std::string state = p.phase;
  if (!p.reason.empty()) absl::StrAppend(&state, "/", p.reason);
  return absl::StrCat(
      "pod ", p.ns, "/", p.name, ": ", state, ", ",
      Plural(static_cast<size_t>(p.restarts), "restart", "restarts"));
}

bool Healthy(const kube::PodSummary& p) {
  if (p.phase == "Succeeded") return true;
  return p.phase == "Running" && p.reason.empty();
}

CheckOutcome PodsHealthy(KubeClient& client, const v1::PodsHealthyCheck& p,
                         CheckOutcome o) {
  std::vector<std::string> namespaces(p.namespaces().begin(),
                                      p.namespaces().end());
  if (namespaces.empty()) namespaces.push_back("");
  size_t total = 0;
  for (const std::string& ns : namespaces) {
    absl::StatusOr<std::vector<kube::PodSummary>> pods =
        kube::ListPodSummaries(client, ns);
    if (!pods.ok()) {
      o.failures.push_back(std::string(pods.status().message()));
      continue;
    }
    total += pods->size();
    for (const kube::PodSummary& pod : *pods) {
      if (!Healthy(pod) && !Allowed(pod, p.allow())) {
        o.failures.push_back(PodProblem(pod));
      }
    }
  }
  return Finish(
      o, absl::StrCat(Plural(total, "pod", "pods"), " Running or Succeeded"));
}

CheckOutcome FluxReady(KubeClient& client, const v1::FluxReadyCheck& p,
                       CheckOutcome o) {
  std::vector<std::string> namespaces(p.namespaces().begin(),
                                      p.namespaces().end());
  if (namespaces.empty()) namespaces.push_back("");
  size_t total = 0, kustomizations = 0;
  for (const kube::Resource& r :
       {kube::GitRepositories(), kube::Kustomizations(),
        kube::HelmReleases()}) {
    for (const std::string& ns : namespaces) {
      absl::StatusOr<std::vector<Json>> items = client.List(r, ns);
      if (absl::IsNotFound(items.status())) {
        o.failures.push_back(absl::StrCat(r.QualifiedPlural(),
                                          " not served: Flux (", r.ApiVersion(),
                                          ") is not installed"));
        break;
      }
      if (!items.ok()) {
        o.failures.push_back(std::string(items.status().message()));
        continue;
      }
      total += items->size();
      if (r.kind == "Kustomization") kustomizations += items->size();
      for (const Json& item : *items) {
        if (!IsReady(item)) {
          o.failures.push_back(absl::StrCat(r.kind, " ", ObjectName(item), ": ",
                                            ReadyText(item)));
        }
      }
    }
  }
  if (o.failures.empty() && kustomizations == 0) {
    o.failures.push_back(
        "no Flux Kustomization exists (was gitops-bootstrap "
        "run?)");
  }
  return Finish(
      o, absl::StrCat(Plural(total, "Flux object", "Flux objects"), " Ready"));
}

CheckOutcome Storage(KubeClient& client, const v1::StorageCheck& p,
                     CheckOutcome o) {
  std::string driver = p.csi_driver().empty() ? kCsiDriver : p.csi_driver();
  absl::StatusOr<Json> sc =
      client.Get(kube::StorageClasses(), "", p.storage_class());
  if (!sc.ok()) {
    o.failures.push_back(absl::StrCat(
        "StorageClass ", p.storage_class(), ": ",
        absl::IsNotFound(sc.status()) ? "not found" : sc.status().message()));
  } else {
    const Json* ann = nullptr;
    if (sc->contains("metadata") && (*sc)["metadata"].contains("annotations")) {
      ann = &(*sc)["metadata"]["annotations"];
    }
    bool is_default =
        ann != nullptr &&
        (ann->value("storageclass.kubernetes.io/is-default-class", "") ==
             "true" ||
         ann->value("storageclass.beta.kubernetes.io/is-default-class", "") ==
             "true");
    if (!is_default) {
      o.failures.push_back(absl::StrCat("StorageClass ", p.storage_class(),
                                        ": not the default class"));
    }
    if (Str(*sc, {"provisioner"}) != driver) {
      o.failures.push_back(
          absl::StrCat("StorageClass ", p.storage_class(), ": provisioner ",
                       Str(*sc, {"provisioner"}), ", want ", driver));
    }
  }
  if (!p.namespace_().empty()) {
    absl::StatusOr<std::vector<kube::PodSummary>> pods =
        kube::ListPodSummaries(client, p.namespace_());
    if (!pods.ok()) {
      o.failures.push_back(std::string(pods.status().message()));
    } else if (pods->empty()) {
      o.failures.push_back(
          absl::StrCat("no CSI pods in namespace ", p.namespace_()));
    } else {
      for (const kube::PodSummary& pod : *pods) {
        if (!Healthy(pod) || pod.phase != "Running") {
          o.failures.push_back(PodProblem(pod));
        }
      }
    }
  }
  absl::StatusOr<std::vector<Json>> csinodes =
      client.List(kube::CsiNodes(), "");
  if (!csinodes.ok()) {
    o.failures.push_back(std::string(csinodes.status().message()));
  } else {
    if (csinodes->empty()) o.failures.push_back("no CSINode objects exist");
    for (const Json& n : *csinodes) {
      bool found = false;
      if (n.contains("spec") && n["spec"].contains("drivers") &&
          n["spec"]["drivers"].is_array()) {
        for (const Json& d : n["spec"]["drivers"]) {
          if (Str(d, {"name"}) == driver) found = true;
        }
      }
      if (!found) {
        o.failures.push_back(absl::StrCat(
            "CSINode ", ObjectName(n), ": driver ", driver, " not registered"));
      }
    }
  }
  return Finish(o, absl::StrCat("StorageClass ", p.storage_class(),
                                " is the default; CSI pods Running; ",
                                csinodes.ok() ? csinodes->size() : 0,
                                " CSINodes list ", driver));
}

CheckOutcome PodsReady(KubeClient& client, const v1::PodsReadyCheck& p,
                       CheckOutcome o) {
  kube::ListOptions options;
  options.label_selector = p.label_selector();
  absl::StatusOr<std::vector<kube::PodSummary>> pods =
      kube::ListPodSummaries(client, p.namespace_(), options);
  if (!pods.ok()) {
    o.failures.push_back(std::string(pods.status().message()));
    return Finish(o, "");
  }
  if (pods->empty()) {
    o.failures.push_back(absl::StrCat(
        "no pods in namespace ", p.namespace_(),
        p.label_selector().empty() ? "" : " with labels ", p.label_selector()));
  }
  for (const kube::PodSummary& pod : *pods) {
    if (pod.phase != "Running" || !pod.reason.empty()) {
      o.failures.push_back(PodProblem(pod));
    } else if (pod.ready_containers < pod.containers) {
      o.failures.push_back(absl::StrCat(
          "pod ", pod.ns, "/", pod.name, ": Running but ", pod.ready_containers,
          "/", pod.containers, " containers ready"));
    }
  }
  return Finish(o, absl::StrCat(Plural(pods->size(), "pod", "pods"), " in ",
                                p.namespace_(), " Running and ready"));
}

CheckOutcome SecretExists(KubeClient& client, const v1::SecretExistsCheck& p,
                          CheckOutcome o) {
  absl::StatusOr<Json> secret =
      client.Get(kube::Secrets(), p.namespace_(), p.name());
  std::string id = absl::StrCat("Secret ", p.namespace_(), "/", p.name());
  if (!secret.ok()) {
    o.failures.push_back(absl::StrCat(id, ": ",
                                      absl::IsNotFound(secret.status())
                                          ? "not found"
                                          : secret.status().message()));
    return Finish(o, "");
  }
  for (const std::string& key : p.keys()) {
    if (!secret->contains("data") || !(*secret)["data"].contains(key)) {
      o.failures.push_back(absl::StrCat(id, ": no data key ", key));
    }
  }
  return Finish(o, absl::StrCat(id, " exists"));
}

CheckOutcome ClusterSecretStoreReady(KubeClient& client,
                                     const v1::ClusterSecretStoreReadyCheck& p,
                                     CheckOutcome o) {
  absl::StatusOr<Json> store =
      client.Get(kube::ClusterSecretStores(), "", p.name());
  std::string id = absl::StrCat("ClusterSecretStore ", p.name());
  if (!store.ok()) {
    o.failures.push_back(
        absl::StrCat(id, ": ",
                     absl::IsNotFound(store.status())
                         ? "not found (or External Secrets is not installed)"
                         : store.status().message()));
  } else if (!IsReady(*store)) {
    o.failures.push_back(absl::StrCat(id, ": ", ReadyText(*store)));
  }
  return Finish(o, absl::StrCat(id, " Ready"));
}

CheckOutcome ExternalSecretsReady(KubeClient& client,
                                  const v1::ExternalSecretsReadyCheck& p,
                                  CheckOutcome o) {
  std::vector<std::string> namespaces(p.namespaces().begin(),
                                      p.namespaces().end());
  if (namespaces.empty()) namespaces.push_back("");
  size_t total = 0;
  for (const std::string& ns : namespaces) {
    absl::StatusOr<std::vector<Json>> items =
        client.List(kube::ExternalSecrets(), ns);
    if (!items.ok()) {
      o.failures.push_back(
          absl::IsNotFound(items.status())
              ? "externalsecrets.external-secrets.io not served: External "
                "Secrets is not installed"
              : std::string(items.status().message()));
      continue;
    }
    if (items->empty()) {
      o.failures.push_back(absl::StrCat("no ExternalSecret in namespace ",
                                        ns.empty() ? "(any)" : ns));
    }
    total += items->size();
    for (const Json& es : *items) {
      if (!IsReady(es)) {
        o.failures.push_back(absl::StrCat("ExternalSecret ", ObjectName(es),
                                          ": ", ReadyText(es)));
      }
    }
  }
  return Finish(o,
                absl::StrCat(Plural(total, "ExternalSecret", "ExternalSecrets"),
                             " Ready"));
}

CheckOutcome Service(KubeClient& client, const v1::ServiceCheck& p,
                     CheckOutcome o) {
  std::string id = absl::StrCat("Service ", p.namespace_(), "/", p.name());
  absl::StatusOr<Json> svc =
      client.Get(kube::Services(), p.namespace_(), p.name());
  if (!svc.ok()) {
    o.failures.push_back(absl::StrCat(
        id, ": ",
        absl::IsNotFound(svc.status()) ? "not found" : svc.status().message()));
    return Finish(o, "");
  }
  std::vector<std::string> ips;
  if (svc->contains("status") && (*svc)["status"].contains("loadBalancer") &&
      (*svc)["status"]["loadBalancer"].contains("ingress") &&
      (*svc)["status"]["loadBalancer"]["ingress"].is_array()) {
    for (const Json& i : (*svc)["status"]["loadBalancer"]["ingress"]) {
      std::string ip = Str(i, {"ip"});
      if (!ip.empty()) ips.push_back(ip);
    }
  }
  if (!p.load_balancer_ip().empty() &&
      std::find(ips.begin(), ips.end(), p.load_balancer_ip()) == ips.end()) {
    o.failures.push_back(
        absl::StrCat(id, ": LoadBalancer IP ",
                     ips.empty() ? "<pending>" : absl::StrJoin(ips, ","),
                     ", want ", p.load_balancer_ip()));
  }
  return Finish(
      o, p.load_balancer_ip().empty()
             ? absl::StrCat(id, " exists")
             : absl::StrCat(id, " has LoadBalancer IP ", p.load_balancer_ip()));
}

std::string XmlEscape(absl::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

google::protobuf::Timestamp ToProto(absl::Time t) {
  return google::protobuf::util::TimeUtil::NanosecondsToTimestamp(
      absl::ToUnixNanos(t));
}

}  // namespace

const std::vector<std::string>& KnownGates() {
  static const auto* const kGates =
      new std::vector<std::string>{"nodes", "pods", "flux",      "storage",
                                   "vault", "eso",  "authentik", "services"};
  return *kGates;
}

std::vector<Check> DefaultChecks(const v1::ClusterSpec& spec) {
  std::vector<Check> checks;
  Check c = MakeCheck("nodes-ready", "nodes");
  c.mutable_nodes_ready();
  checks.push_back(c);
  c = MakeCheck("pods-healthy", "pods");
  c.mutable_pods_healthy();
  checks.push_back(c);
  c = MakeCheck("flux-ready", "flux");
  c.mutable_flux_ready();
  checks.push_back(c);
  c = MakeCheck("storage", "storage");
  c.mutable_storage()->set_storage_class("proxmox-csi");
  c.mutable_storage()->set_csi_driver(kCsiDriver);
  c.mutable_storage()->set_namespace_("csi-proxmox");
  checks.push_back(c);
  c = MakeCheck("vault-pods", "vault");
  c.mutable_pods_ready()->set_namespace_("vault");
  c.mutable_pods_ready()->set_label_selector("app.kubernetes.io/name=vault");
  checks.push_back(c);
  c = MakeCheck("vault-unseal-keys", "vault");
  c.mutable_secret_exists()->set_namespace_("vault");
  c.mutable_secret_exists()->set_name("instance-unseal-keys");
  checks.push_back(c);
  c = MakeCheck("eso-vault-backend", "eso");
  c.mutable_cluster_secret_store_ready()->set_name("vault-backend");
  checks.push_back(c);
  c = MakeCheck("authentik-bootstrap", "authentik");
  c.mutable_secret_exists()->set_namespace_("authentik");
  c.mutable_secret_exists()->set_name("authentik-bootstrap");
  checks.push_back(c);
  c = MakeCheck("authentik-externalsecrets", "authentik");
  c.mutable_external_secrets_ready()->add_namespaces("authentik");
  checks.push_back(c);
  c = MakeCheck("powerdns-external", "services");
  c.mutable_service()->set_namespace_("dns-system");
  c.mutable_service()->set_name("powerdns-external");
  c.mutable_service()->set_load_balancer_ip(spec.network().dns_vip());
  checks.push_back(c);
  c = MakeCheck("ingress-nginx", "services");
  c.mutable_service()->set_namespace_("ingress-nginx");
  c.mutable_service()->set_name("ingress-nginx-controller");
  c.mutable_service()->set_load_balancer_ip(spec.network().ingress_vip());
  checks.push_back(c);
  return checks;
}

std::vector<Check> EffectiveChecks(const v1::ClusterSpec& spec) {
  if (spec.verify().checks().empty()) return DefaultChecks(spec);
  return {spec.verify().checks().begin(), spec.verify().checks().end()};
}

namespace {
std::string KindGate(const Check& c) {
  auto by_ns = [](const std::string& ns) -> std::string {
    if (ns == "vault" || ns == "authentik") return ns;
    return "services";
  };
  switch (c.kind_case()) {
    case Check::kNodesReady:
      return "nodes";
    case Check::kPodsHealthy:
      return "pods";
    case Check::kFluxReady:
      return "flux";
    case Check::kStorage:
      return "storage";
    case Check::kPodsReady:
      return by_ns(c.pods_ready().namespace_());
    case Check::kSecretExists:
      return by_ns(c.secret_exists().namespace_());
    case Check::kClusterSecretStoreReady:
      return "eso";
    case Check::kExternalSecretsReady:
      return c.external_secrets_ready().namespaces_size() == 1
                 ? by_ns(c.external_secrets_ready().namespaces(0))
                 : "eso";
    case Check::kService:
      return "services";
    default:
      return "";
  }
}
}  // namespace

std::string GateOf(const Check& check) {
  return check.gate().empty() ? KindGate(check) : check.gate();
}

bool Selected(const Check& check, const std::vector<std::string>& gates) {
  if (gates.empty()) return true;
  for (const std::string& g : gates) {
    if (g == check.gate() || g == check.name() || g == KindGate(check)) {
      return true;
    }
  }
  return false;
}

CheckOutcome RunCheck(KubeClient& client, const v1::ClusterSpec& spec,
                      const Check& check) {
  CheckOutcome o;
  o.name = check.name();
  o.gate = GateOf(check);
  switch (check.kind_case()) {
    case Check::kNodesReady:
      return NodesReady(client, spec, check.nodes_ready(), o);
    case Check::kPodsHealthy:
      return PodsHealthy(client, check.pods_healthy(), o);
    case Check::kFluxReady:
      return FluxReady(client, check.flux_ready(), o);
    case Check::kStorage:
      return Storage(client, check.storage(), o);
    case Check::kPodsReady:
      return PodsReady(client, check.pods_ready(), o);
    case Check::kSecretExists:
      return SecretExists(client, check.secret_exists(), o);
    case Check::kClusterSecretStoreReady:
      return ClusterSecretStoreReady(client, check.cluster_secret_store_ready(),
                                     o);
    case Check::kExternalSecretsReady:
      return ExternalSecretsReady(client, check.external_secrets_ready(), o);
    case Check::kService:
      return Service(client, check.service(), o);
    default:
      o.failures.push_back("the check has no kind");
      return Finish(o, "");
  }
}

std::string FormatTable(const std::vector<CheckOutcome>& outcomes) {
  size_t wn = 5, wg = 4;
  for (const CheckOutcome& o : outcomes) {
    wn = std::max(wn, o.name.size());
    wg = std::max(wg, o.gate.size());
  }
  std::string out = absl::StrFormat("%-*s  %-*s  %-6s  %s\n", wn, "CHECK", wg,
                                    "GATE", "RESULT", "DETAIL");
  for (const CheckOutcome& o : outcomes) {
    if (o.passed) {
      absl::StrAppend(&out,
                      absl::StrFormat("%-*s  %-*s  %-6s  %s\n", wn, o.name, wg,
                                      o.gate, "ok", o.message));
      continue;
    }
    for (size_t i = 0; i < o.failures.size(); ++i) {
      absl::StrAppend(
          &out, absl::StrFormat("%-*s  %-*s  %-6s  %s\n", wn,
                                i == 0 ? o.name : "", wg, i == 0 ? o.gate : "",
                                i == 0 ? "FAILED" : "", o.failures[i]));
    }
  }
  return out;
}

std::string FormatJunit(const std::vector<CheckOutcome>& outcomes,
                        absl::Duration elapsed) {
  size_t failures = 0;
  for (const CheckOutcome& o : outcomes) failures += o.passed ? 0 : 1;
  std::string out = absl::StrFormat(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<testsuites>\n<testsuite name=\"verify-cluster\" tests=\"%d\" "
      "failures=\"%d\" time=\"%.3f\">\n",
      outcomes.size(), failures, absl::ToDoubleSeconds(elapsed));
  for (const CheckOutcome& o : outcomes) {
    absl::StrAppend(&out, "  <testcase classname=\"", XmlEscape(o.gate),
                    "\" name=\"", XmlEscape(o.name), "\"");
    if (o.passed) {
      absl::StrAppend(&out, "/>\n");
      continue;
    }
    absl::StrAppend(&out, ">\n    <failure message=\"", XmlEscape(o.message),
                    "\">", XmlEscape(absl::StrJoin(o.failures, "\n")),
                    "</failure>\n  </testcase>\n");
  }
  absl::StrAppend(&out, "</testsuite>\n</testsuites>\n");
  return out;
}

absl::Status RealMain(const VerifyOptions& options, std::ostream& out,
                      std::ostream& err) {
  RETURN_IF_ERROR(CheckCommonOptions(options.common));
  for (const std::string& g : options.gates) {
    if (g.empty()) {
      return absl::InvalidArgumentError("--gate: empty gate name");
    }
  }
  ASSIGN_OR_RETURN(ClusterSession session,
                   ClusterSession::Open(options.common));
  v1::Cluster cluster = session.input().cluster;
  const v1::ClusterSpec& spec = cluster.spec();

  std::vector<Check> checks;
  for (const Check& c : EffectiveChecks(spec)) {
    if (Selected(c, options.gates)) checks.push_back(c);
  }
  if (checks.empty()) {
    std::set<std::string> known(KnownGates().begin(), KnownGates().end());
    for (const Check& c : EffectiveChecks(spec)) {
      known.insert(GateOf(c));
      known.insert(c.name());
    }
    return absl::InvalidArgumentError(
        absl::StrCat("--gate ", absl::StrJoin(options.gates, ","),
                     " selects no check; known gates and checks: ",
                     absl::StrJoin(known, ", ")));
  }

  ASSIGN_OR_RETURN(
      kube::RestConfig config,
      LoadClusterKubeconfig(cluster, options.kubeconfig, options.context));
  ASSIGN_OR_RETURN(std::unique_ptr<KubeClient> client,
                   KubeClient::FromConfig(config, options.insecure));

  EventsOptions eo;
  eo.tool = "verify-cluster";
  eo.stderr_stream = nullptr;
  eo.events_path = options.common.events;
  ASSIGN_OR_RETURN(std::unique_ptr<Events> events, Events::Create(eo));

  if (options.common.dry_run) {
    absl::StatusOr<Json> version = client->Version();
    err << "verify-cluster: dry run against " << config.server << " ("
        << (version.ok()
                ? absl::StrCat("Kubernetes ", Str(*version, {"gitVersion"}))
                : absl::StrCat("unreachable: ", version.status().message()))
        << "); would run:\n";
    for (const Check& c : checks) {
      err << "  " << c.name() << " (" << GateOf(c) << ")\n";
    }
    return session.Write(cluster, out);
  }

  auto now = options.now ? options.now : [] { return absl::Now(); };
  auto sleep = options.sleep ? options.sleep
                             : [](absl::Duration d) { absl::SleepFor(d); };
  const absl::Time start = now();
  const absl::Time deadline = start + options.wait;
  absl::Duration pause = options.initial_poll;
  std::vector<CheckOutcome> outcomes;
  std::vector<absl::Time> started(checks.size()), finished(checks.size());
  uint32_t rounds = 0;
  for (;;) {
    ++rounds;
    outcomes.clear();
    bool all = true;
    for (size_t i = 0; i < checks.size(); ++i) {
      Events::StepId id = events->Start(checks[i].name());
      started[i] = now();
      outcomes.push_back(RunCheck(*client, spec, checks[i]));
      finished[i] = now();
      events->End(id, outcomes.back().passed ? absl::OkStatus()
                                             : absl::FailedPreconditionError(
                                                   outcomes.back().message));
      all = all && outcomes.back().passed;
    }
    absl::Time t = now();
    if (all || t >= deadline) break;
    size_t failing = 0;
    for (const CheckOutcome& o : outcomes) failing += o.passed ? 0 : 1;
    err << "verify-cluster: round " << rounds << ": " << failing
        << " check(s) failing; retrying for "
        << absl::FormatDuration(absl::Trunc(deadline - t, absl::Seconds(1)))
        << "\n";
    sleep(std::min(pause, deadline - t));
    pause = std::min(absl::Seconds(5), pause * 2);
  }
  const absl::Duration elapsed = now() - start;

  v1::VerifyStatus* status = cluster.mutable_status()->mutable_verify();
  status->Clear();
  bool passed = true;
  std::vector<std::string> failed;
  for (size_t i = 0; i < outcomes.size(); ++i) {
    const CheckOutcome& o = outcomes[i];
    v1::CheckResult* r = status->add_results();
    r->set_name(o.name);
    r->set_gate(o.gate);
    r->set_outcome(o.passed ? v1::OUTCOME_OK : v1::OUTCOME_FAILED);
    r->set_message(o.message);
    for (const std::string& f : o.failures) r->add_failures(f);
    r->set_attempts(rounds);
    *r->mutable_started_at() = ToProto(started[i]);
    *r->mutable_finished_at() = ToProto(finished[i]);
    if (!o.passed) {
      passed = false;
      failed.push_back(absl::StrCat(o.name, ": ", o.message));
    }
  }
  status->set_passed(passed);
  *status->mutable_updated_at() = ToProto(now());

  err << FormatTable(outcomes);
  if (!options.junit_path.empty()) {
    RETURN_IF_ERROR(WriteFileAtomically(options.junit_path,
                                        FormatJunit(outcomes, elapsed)));
  }
  RETURN_IF_ERROR(session.Write(cluster, out));
  if (!passed) {
    return absl::FailedPreconditionError(
        absl::StrCat(failed.size(), " of ", outcomes.size(), " checks failed",
                     options.wait > absl::ZeroDuration()
                         ? absl::StrCat(" after waiting ",
                                        absl::FormatDuration(absl::Trunc(
                                            elapsed, absl::Milliseconds(100))))
                         : "",
                     ": ", absl::StrJoin(failed, "; ")));
  }
  return absl::OkStatus();
}

}  // namespace coldstart
