// A pre-rendered Kubernetes manifest (`helm template` output): the objects
// of a multi-document YAML file as JSON, ready for server-side apply.
#ifndef COLDSTART_TOOLS_TALOS_BOOTSTRAP_MANIFEST_H_
#define COLDSTART_TOOLS_TALOS_BOOTSTRAP_MANIFEST_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"

namespace coldstart {

struct ManifestObject {
  nlohmann::json object;
  std::string api_version;
  std::string kind;
  // Empty when the document names none (cluster-scoped, or the default
  // namespace for a namespaced kind).
  std::string ns;
  std::string name;
  // "DaemonSet kube-system/cilium", for messages.
  std::string Describe() const;
};

// Every non-empty document of `text`, in file order, converted as kubectl
// converts YAML (lib/yaml_json.h: quoted scalars stay strings, plain ones
// resolve to null/bool/int/float). InvalidArgument with
// "<source>:line:col" for bad YAML and for a document without apiVersion,
// kind or metadata.name, or a List.
absl::StatusOr<std::vector<ManifestObject>> ParseManifest(
    absl::string_view text, absl::string_view source);

}  // namespace coldstart

#endif  // COLDSTART_TOOLS_TALOS_BOOTSTRAP_MANIFEST_H_
