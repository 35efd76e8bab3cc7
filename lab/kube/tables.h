// Table responses (meta.k8s.io/v1 Table) computed from objects' current
// state, like the Kubernetes 1.32 printers (facts/kubernetes.md §3): built-in
// columns for nodes, pods, services, secrets, storage classes, CSI nodes,
// namespaces, config maps, deployments, daemon sets and CRDs; a CRD's
// additionalPrinterColumns through JSONPath; NAME + AGE for anything else.
#ifndef COLDSTART_LAB_KUBE_TABLES_H_
#define COLDSTART_LAB_KUBE_TABLES_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "lab/kube/resources.h"

namespace coldstart::lab {

// kubectl's AGE text ("45s", "3m12s", "5h2m", "30h", "3d4h", "400d", "2y3d");
// "<unknown>" for a zero time is the caller's business.
std::string HumanDuration(absl::Duration d);

// The values a JSONPath (the subset CRD printer columns use: `.a.b`, `[N]`,
// `[*]`, `[?(@.k=="v")]`) selects in `object`; empty when nothing matches.
std::vector<Json> EvalJsonPath(const Json& object, absl::string_view path);

// The pod's STATUS column (reason derivation of the 1.32 printer).
std::string PodStatusText(const Json& pod);

// A Table of `objects` (all of `type`), rows in the given order. `now` makes
// AGE; `resource_version`/`continue_token` go into the Table's metadata.
Json BuildTable(const ResourceType& type,
                const std::vector<const Json*>& objects, absl::Time now,
                const std::string& resource_version,
                const std::string& continue_token);

}  // namespace coldstart::lab

#endif  // COLDSTART_LAB_KUBE_TABLES_H_
