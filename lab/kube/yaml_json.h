// YAML (one or more documents) to JSON values, for manifests and scenario
// files. Plain scalars follow the YAML 1.2 core schema (null, true/false,
// integers, floats); quoted scalars stay strings.
#ifndef COLDSTART_LAB_KUBE_YAML_JSON_H_
#define COLDSTART_LAB_KUBE_YAML_JSON_H_

#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"

namespace coldstart::lab {

// Every non-empty document of `text`, in order. InvalidArgument with
// "line:col" for malformed YAML.
absl::StatusOr<std::vector<nlohmann::json>> ParseYamlDocuments(
    absl::string_view text);

// JSON text or, failing that, one YAML document. InvalidArgument when
// neither parses or the text holds several documents.
absl::StatusOr<nlohmann::json> ParseJsonOrYaml(absl::string_view text);

}  // namespace coldstart::lab

#endif  // COLDSTART_LAB_KUBE_YAML_JSON_H_
