// The resource types the Kubernetes API simulator serves: the built-in kinds
// it knows (core, apps, storage, rbac, apiextensions, ...) and, at run time,
// every kind a CustomResourceDefinition declares. No networking here.
#ifndef COLDSTART_LAB_KUBE_RESOURCES_H_
#define COLDSTART_LAB_KUBE_RESOURCES_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace coldstart::lab {

using Json = nlohmann::json;

// One column of a Table (built-in printers or a CRD's
// additionalPrinterColumns).
struct PrinterColumn {
  std::string name;
  // string | integer | number | boolean | date
  std::string type = "string";
  // CRD columns: the JSONPath evaluated on the object; built-ins: empty.
  std::string json_path;
  int priority = 0;
  std::string description;
  std::string format;
};

struct ResourceType {
  std::string group;  // "" for core
  std::string version;
  std::string kind;
  std::string plural;
  std::string singular;
  bool namespaced = true;
  std::vector<std::string> short_names;
  std::vector<std::string> categories;
  // Serves a status subresource.
  bool has_status = false;
  // Declared by a CustomResourceDefinition (Table columns = `columns`).
  bool custom = false;
  std::vector<PrinterColumn> columns;

  // "v1" or "G/V".
  std::string ApiVersion() const;
  // "pods" or "kustomizations.kustomize.toolkit.fluxcd.io", as in messages.
  std::string QualifiedPlural() const;
  // "/api/v1" or "/apis/G/V".
  std::string GroupVersionPath() const;
};

// Every built-in kind the simulator serves.
const std::vector<ResourceType>& BuiltinResourceTypes();

// The resource types a CustomResourceDefinition object declares (one per
// served version). InvalidArgument naming the missing field when the CRD
// lacks group, names.plural, names.kind, scope or versions.
absl::StatusOr<std::vector<ResourceType>> ResourceTypesFromCrd(const Json& crd);

}  // namespace coldstart::lab

#endif  // COLDSTART_LAB_KUBE_RESOURCES_H_
