#include "lab/kube/resources.h"

#include "absl/strings/str_cat.h"

namespace coldstart::lab {

std::string ResourceType::ApiVersion() const {
  return group.empty() ? version : absl::StrCat(group, "/", version);
}

std::string ResourceType::QualifiedPlural() const {
  return group.empty() ? plural : absl::StrCat(plural, ".", group);
}

std::string ResourceType::GroupVersionPath() const {
  return group.empty() ? absl::StrCat("/api/", version)
                       : absl::StrCat("/apis/", group, "/", version);
}

namespace {

ResourceType Builtin(std::string group, std::string version, std::string kind,
                     std::string plural, bool namespaced,
                     std::vector<std::string> short_names = {},
                     bool has_status = false,
                     std::vector<std::string> categories = {}) {
  ResourceType t;
  t.group = std::move(group);
  t.version = std::move(version);
  t.kind = std::move(kind);
  t.plural = std::move(plural);
  t.singular = t.kind;
  for (char& c : t.singular) c = static_cast<char>(std::tolower(c));
  t.namespaced = namespaced;
  t.short_names = std::move(short_names);
  t.has_status = has_status;
  t.categories = std::move(categories);
  return t;
}

}  // namespace

const std::vector<ResourceType>& BuiltinResourceTypes() {
  static const auto* const kTypes = new std::vector<ResourceType>{
      Builtin("", "v1", "Namespace", "namespaces", false, {"ns"}, true),
      Builtin("", "v1", "Node", "nodes", false, {"no"}, true),
      Builtin("", "v1", "Pod", "pods", true, {"po"}, true, {"all"}),
      Builtin("", "v1", "Service", "services", true, {"svc"}, true, {"all"}),
      Builtin("", "v1", "Secret", "secrets", true),
      Builtin("", "v1", "ConfigMap", "configmaps", true, {"cm"}),
      Builtin("", "v1", "ServiceAccount", "serviceaccounts", true, {"sa"}),
      Builtin("", "v1", "Endpoints", "endpoints", true, {"ep"}),
      Builtin("", "v1", "Event", "events", true, {"ev"}),
      Builtin("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims", true,
              {"pvc"}, true),
      Builtin("", "v1", "PersistentVolume", "persistentvolumes", false, {"pv"},
              true),
      Builtin("apps", "v1", "Deployment", "deployments", true, {"deploy"}, true,
              {"all"}),
      Builtin("apps", "v1", "DaemonSet", "daemonsets", true, {"ds"}, true,
              {"all"}),
      Builtin("apps", "v1", "StatefulSet", "statefulsets", true, {"sts"}, true,
              {"all"}),
      Builtin("apps", "v1", "ReplicaSet", "replicasets", true, {"rs"}, true,
              {"all"}),
      Builtin("storage.k8s.io", "v1", "StorageClass", "storageclasses", false,
              {"sc"}),
      Builtin("storage.k8s.io", "v1", "CSINode", "csinodes", false),
      Builtin("storage.k8s.io", "v1", "CSIDriver", "csidrivers", false),
      Builtin("apiextensions.k8s.io", "v1", "CustomResourceDefinition",
              "customresourcedefinitions", false, {"crd", "crds"}, true),
      Builtin("rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles",
              false),
      Builtin("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding",
              "clusterrolebindings", false),
      Builtin("rbac.authorization.k8s.io", "v1", "Role", "roles", true),
      Builtin("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings",
              true),
      Builtin("networking.k8s.io", "v1", "Ingress", "ingresses", true, {"ing"},
              true),
      Builtin("policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets",
              true, {"pdb"}, true),
      Builtin("coordination.k8s.io", "v1", "Lease", "leases", true),
  };
  return *kTypes;
}

absl::StatusOr<std::vector<ResourceType>> ResourceTypesFromCrd(
    const Json& crd) {
  const Json* spec = crd.contains("spec") ? &crd["spec"] : nullptr;
  auto str = [](const Json* j, const char* key) -> std::string {
    if (j == nullptr || !j->is_object() || !j->contains(key) ||
        !(*j)[key].is_string()) {
      return "";
    }
    return (*j)[key].get<std::string>();
  };
  const Json* names =
      spec != nullptr && spec->contains("names") ? &(*spec)["names"] : nullptr;
  ResourceType base;
  base.custom = true;
  base.group = str(spec, "group");
  base.plural = str(names, "plural");
  base.kind = str(names, "kind");
  base.singular = str(names, "singular");
  std::string scope = str(spec, "scope");
  for (const auto& [field, value] :
       {std::pair<const char*, const std::string*>{"spec.group", &base.group},
        {"spec.names.plural", &base.plural},
        {"spec.names.kind", &base.kind},
        {"spec.scope", &scope}}) {
    if (value->empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("spec.", field, ": Required value"));
    }
  }
  if (scope != "Namespaced" && scope != "Cluster") {
    return absl::InvalidArgumentError(
        absl::StrCat("spec.scope: Unsupported value: \"", scope,
                     "\": supported values: \"Cluster\", \"Namespaced\""));
  }
  base.namespaced = scope == "Namespaced";
  if (base.singular.empty()) {
    base.singular = base.kind;
    for (char& c : base.singular) c = static_cast<char>(std::tolower(c));
  }
  if (names != nullptr) {
    for (const char* key : {"shortNames", "categories"}) {
      if (!names->contains(key) || !(*names)[key].is_array()) continue;
      for (const Json& v : (*names)[key]) {
        if (!v.is_string()) continue;
        (std::string(key) == "shortNames" ? base.short_names : base.categories)
            .push_back(v.get<std::string>());
      }
    }
  }
  if (spec == nullptr || !spec->contains("versions") ||
      !(*spec)["versions"].is_array() || (*spec)["versions"].empty()) {
    return absl::InvalidArgumentError("spec.versions: Required value");
  }
  std::vector<ResourceType> types;
  for (const Json& v : (*spec)["versions"]) {
    if (!v.is_object() || !v.value("served", true)) continue;
    ResourceType t = base;
    t.version = v.value("name", "");
    if (t.version.empty()) {
      return absl::InvalidArgumentError("spec.versions[].name: Required value");
    }
    t.has_status = v.contains("subresources") &&
                   v["subresources"].is_object() &&
                   v["subresources"].contains("status");
    if (v.contains("additionalPrinterColumns") &&
        v["additionalPrinterColumns"].is_array()) {
      for (const Json& c : v["additionalPrinterColumns"]) {
        if (!c.is_object()) continue;
        PrinterColumn column;
        column.name = c.value("name", "");
        column.type = c.value("type", "string");
        column.json_path = c.value("jsonPath", "");
        column.priority = c.value("priority", 0);
        column.description = c.value("description", "");
        column.format = c.value("format", "");
        t.columns.push_back(std::move(column));
      }
    }
    if (t.columns.empty()) {
      t.columns.push_back(
          {"Age", "date", ".metadata.creationTimestamp", 0, "", ""});
    }
    types.push_back(std::move(t));
  }
  return types;
}

}  // namespace coldstart::lab
