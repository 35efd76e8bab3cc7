#include "tools/verify-cluster/checks.h"

#include <set>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "tools/verify-cluster/object_checks.h"
#include "tools/verify-cluster/workload_checks.h"

namespace coldstart {
namespace {

using v1::Check;

Check NamedCheck(const std::string& name, const std::string& gate) {
  Check check;
  check.set_name(name);
  check.set_gate(gate);
  return check;
}

Check PodsReadyCheck(const std::string& name, const std::string& gate,
                     const std::string& ns, const std::string& selector) {
  Check check = NamedCheck(name, gate);
  check.mutable_pods_ready()->set_namespace_(ns);
  check.mutable_pods_ready()->set_label_selector(selector);
  return check;
}

Check SecretCheck(const std::string& name, const std::string& gate,
                  const std::string& ns, const std::string& secret) {
  Check check = NamedCheck(name, gate);
  check.mutable_secret_exists()->set_namespace_(ns);
  check.mutable_secret_exists()->set_name(secret);
  return check;
}

Check ServiceCheck(const std::string& name, const std::string& ns,
                   const std::string& service, const std::string& ip) {
  Check check = NamedCheck(name, "services");
  check.mutable_service()->set_namespace_(ns);
  check.mutable_service()->set_name(service);
  check.mutable_service()->set_load_balancer_ip(ip);
  return check;
}

// vault and authentik objects belong to their gate; other namespaces are
// services.
std::string GateOfNamespace(const std::string& ns) {
  if (ns == "vault" || ns == "authentik") return ns;
  return "services";
}

std::string KindGate(const Check& check) {
  switch (check.kind_case()) {
    case Check::kNodesReady:
      return "nodes";
    case Check::kPodsHealthy:
      return "pods";
    case Check::kFluxReady:
      return "flux";
    case Check::kStorage:
      return "storage";
    case Check::kPodsReady:
      return GateOfNamespace(check.pods_ready().namespace_());
    case Check::kSecretExists:
      return GateOfNamespace(check.secret_exists().namespace_());
    case Check::kClusterSecretStoreReady:
      return "eso";
    case Check::kExternalSecretsReady:
      return check.external_secrets_ready().namespaces_size() == 1
                 ? GateOfNamespace(check.external_secrets_ready().namespaces(0))
                 : "eso";
    case Check::kService:
      return "services";
    default:
      return "";
  }
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
  checks.push_back(NamedCheck("nodes-ready", "nodes"));
  checks.back().mutable_nodes_ready();
  checks.push_back(NamedCheck("pods-healthy", "pods"));
  checks.back().mutable_pods_healthy();
  checks.push_back(NamedCheck("flux-ready", "flux"));
  checks.back().mutable_flux_ready();
  checks.push_back(NamedCheck("storage", "storage"));
  checks.back().mutable_storage()->set_storage_class("proxmox-csi");
  checks.back().mutable_storage()->set_csi_driver(kProxmoxCsiDriver);
  checks.back().mutable_storage()->set_namespace_("csi-proxmox");
  checks.push_back(PodsReadyCheck("vault-pods", "vault", "vault",
                                  "app.kubernetes.io/name=vault"));
  checks.push_back(SecretCheck("vault-unseal-keys", "vault", "vault",
                               "instance-unseal-keys"));
  checks.push_back(NamedCheck("eso-vault-backend", "eso"));
  checks.back().mutable_cluster_secret_store_ready()->set_name("vault-backend");
  checks.push_back(SecretCheck("authentik-bootstrap", "authentik", "authentik",
                               "authentik-bootstrap"));
  checks.push_back(NamedCheck("authentik-externalsecrets", "authentik"));
  checks.back().mutable_external_secrets_ready()->add_namespaces("authentik");
  checks.push_back(ServiceCheck("powerdns-external", "dns-system",
                                "powerdns-external", spec.network().dns_vip()));
  checks.push_back(ServiceCheck("ingress-nginx", "ingress-nginx",
                                "ingress-nginx-controller",
                                spec.network().ingress_vip()));
  return checks;
}

std::vector<Check> EffectiveChecks(const v1::ClusterSpec& spec) {
  if (spec.verify().checks().empty()) return DefaultChecks(spec);
  return {spec.verify().checks().begin(), spec.verify().checks().end()};
}

std::string GateOf(const Check& check) {
  return check.gate().empty() ? KindGate(check) : check.gate();
}

bool Selected(const Check& check, const std::vector<std::string>& gates) {
  if (gates.empty()) return true;
  for (const std::string& gate : gates) {
    if (gate == check.gate() || gate == check.name() ||
        gate == KindGate(check)) {
      return true;
    }
  }
  return false;
}

absl::StatusOr<std::vector<Check>> SelectChecks(
    const v1::ClusterSpec& spec, const std::vector<std::string>& gates) {
  const std::vector<Check> effective = EffectiveChecks(spec);
  std::vector<Check> selected;
  for (const Check& check : effective) {
    if (Selected(check, gates)) selected.push_back(check);
  }
  if (!selected.empty()) return selected;
  std::set<std::string> known(KnownGates().begin(), KnownGates().end());
  for (const Check& check : effective) {
    known.insert(GateOf(check));
    known.insert(check.name());
  }
  return absl::InvalidArgumentError(
      absl::StrCat("--gate ", absl::StrJoin(gates, ","),
                   " selects no check; known gates and checks: ",
                   absl::StrJoin(known, ", ")));
}

CheckOutcome RunCheck(kube::KubeClient& client, const v1::ClusterSpec& spec,
                      const Check& check) {
  CheckOutcome outcome;
  outcome.name = check.name();
  outcome.gate = GateOf(check);
  switch (check.kind_case()) {
    case Check::kNodesReady:
      return CheckNodesReady(client, spec, check.nodes_ready(), outcome);
    case Check::kPodsHealthy:
      return CheckPodsHealthy(client, check.pods_healthy(), outcome);
    case Check::kFluxReady:
      return CheckFluxReady(client, check.flux_ready(), outcome);
    case Check::kStorage:
      return CheckStorage(client, check.storage(), outcome);
    case Check::kPodsReady:
      return CheckPodsReady(client, check.pods_ready(), outcome);
    case Check::kSecretExists:
      return CheckSecretExists(client, check.secret_exists(), outcome);
    case Check::kClusterSecretStoreReady:
      return CheckClusterSecretStoreReady(
          client, check.cluster_secret_store_ready(), outcome);
    case Check::kExternalSecretsReady:
      return CheckExternalSecretsReady(client, check.external_secrets_ready(),
                                       outcome);
    case Check::kService:
      return CheckService(client, check.service(), outcome);
    default:
      outcome.failures.push_back("the check has no kind");
      return Conclude(outcome, "");
  }
}

}  // namespace coldstart
