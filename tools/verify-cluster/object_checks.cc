#include "tools/verify-cluster/object_checks.h"

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "lib/json/json_path.h"

namespace coldstart {
namespace {

using kube::Json;
using kube::KubeClient;

// "<id>: not found" or "<id>: <the API error>".
std::string GetFailure(const std::string& id, const absl::Status& status,
                       const char* not_found = "not found") {
  return absl::StrCat(id, ": ",
                      absl::IsNotFound(status) ? not_found : status.message());
}

std::vector<std::string> LoadBalancerIps(const Json& service) {
  std::vector<std::string> ips;
  const Json* ingress = JsonAt(service, {"status", "loadBalancer", "ingress"});
  if (ingress == nullptr || !ingress->is_array()) return ips;
  for (const Json& entry : *ingress) {
    std::string ip = JsonString(entry, {"ip"});
    if (!ip.empty()) ips.push_back(std::move(ip));
  }
  return ips;
}

}  // namespace

CheckOutcome CheckFluxReady(KubeClient& client, const v1::FluxReadyCheck& check,
                            CheckOutcome outcome) {
  const std::vector<std::string> namespaces =
      NamespacesOrAll(check.namespaces());
  size_t total = 0, kustomizations = 0;
  for (const kube::Resource& resource :
       {kube::GitRepositories(), kube::Kustomizations(),
        kube::HelmReleases()}) {
    for (const std::string& ns : namespaces) {
      absl::StatusOr<std::vector<Json>> items = client.List(resource, ns);
      if (absl::IsNotFound(items.status())) {
        outcome.failures.push_back(
            absl::StrCat(resource.QualifiedPlural(), " not served: Flux (",
                         resource.ApiVersion(), ") is not installed"));
        break;
      }
      if (!items.ok()) {
        outcome.failures.push_back(std::string(items.status().message()));
        continue;
      }
      total += items->size();
      if (resource.kind == "Kustomization") kustomizations += items->size();
      for (const Json& item : *items) {
        if (!IsReady(item)) {
          outcome.failures.push_back(absl::StrCat(
              resource.kind, " ", ObjectName(item), ": ", ReadyText(item)));
        }
      }
    }
  }
  if (outcome.failures.empty() && kustomizations == 0) {
    outcome.failures.push_back(
        "no Flux Kustomization exists (was gitops-bootstrap run?)");
  }
  return Conclude(
      outcome,
      absl::StrCat(Plural(total, "Flux object", "Flux objects"), " Ready"));
}

CheckOutcome CheckSecretExists(KubeClient& client,
                               const v1::SecretExistsCheck& check,
                               CheckOutcome outcome) {
  const std::string id =
      absl::StrCat("Secret ", check.namespace_(), "/", check.name());
  absl::StatusOr<Json> secret =
      client.Get(kube::Secrets(), check.namespace_(), check.name());
  if (!secret.ok()) {
    outcome.failures.push_back(GetFailure(id, secret.status()));
    return Conclude(outcome, "");
  }
  for (const std::string& key : check.keys()) {
    if (JsonAt(*secret, {"data", key.c_str()}) == nullptr) {
      outcome.failures.push_back(absl::StrCat(id, ": no data key ", key));
    }
  }
  return Conclude(outcome, absl::StrCat(id, " exists"));
}

CheckOutcome CheckClusterSecretStoreReady(
    KubeClient& client, const v1::ClusterSecretStoreReadyCheck& check,
    CheckOutcome outcome) {
  const std::string id = absl::StrCat("ClusterSecretStore ", check.name());
  absl::StatusOr<Json> store =
      client.Get(kube::ClusterSecretStores(), "", check.name());
  if (!store.ok()) {
    outcome.failures.push_back(
        GetFailure(id, store.status(),
                   "not found (or External Secrets is not installed)"));
  } else if (!IsReady(*store)) {
    outcome.failures.push_back(absl::StrCat(id, ": ", ReadyText(*store)));
  }
  return Conclude(outcome, absl::StrCat(id, " Ready"));
}

CheckOutcome CheckExternalSecretsReady(
    KubeClient& client, const v1::ExternalSecretsReadyCheck& check,
    CheckOutcome outcome) {
  size_t total = 0;
  for (const std::string& ns : NamespacesOrAll(check.namespaces())) {
    absl::StatusOr<std::vector<Json>> items =
        client.List(kube::ExternalSecrets(), ns);
    if (!items.ok()) {
      outcome.failures.push_back(
          absl::IsNotFound(items.status())
              ? "externalsecrets.external-secrets.io not served: External "
                "Secrets is not installed"
              : std::string(items.status().message()));
      continue;
    }
    if (items->empty()) {
      outcome.failures.push_back(absl::StrCat("no ExternalSecret in namespace ",
                                              ns.empty() ? "(any)" : ns));
    }
    total += items->size();
    for (const Json& secret : *items) {
      if (!IsReady(secret)) {
        outcome.failures.push_back(absl::StrCat(
            "ExternalSecret ", ObjectName(secret), ": ", ReadyText(secret)));
      }
    }
  }
  return Conclude(
      outcome, absl::StrCat(Plural(total, "ExternalSecret", "ExternalSecrets"),
                            " Ready"));
}

CheckOutcome CheckService(KubeClient& client, const v1::ServiceCheck& check,
                          CheckOutcome outcome) {
  const std::string id =
      absl::StrCat("Service ", check.namespace_(), "/", check.name());
  absl::StatusOr<Json> service =
      client.Get(kube::Services(), check.namespace_(), check.name());
  if (!service.ok()) {
    outcome.failures.push_back(GetFailure(id, service.status()));
    return Conclude(outcome, "");
  }
  const std::string& want = check.load_balancer_ip();
  if (want.empty()) return Conclude(outcome, absl::StrCat(id, " exists"));
  const std::vector<std::string> ips = LoadBalancerIps(*service);
  if (std::find(ips.begin(), ips.end(), want) == ips.end()) {
    outcome.failures.push_back(absl::StrCat(
        id, ": LoadBalancer IP ",
        ips.empty() ? "<pending>" : absl::StrJoin(ips, ","), ", want ", want));
  }
  return Conclude(outcome, absl::StrCat(id, " has LoadBalancer IP ", want));
}

}  // namespace coldstart
