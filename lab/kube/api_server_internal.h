// Helpers shared by the API server's translation units (api_server.cc,
// api_discovery.cc, api_resource_routes.cc). Internal to lab/kube.
#ifndef COLDSTART_LAB_KUBE_API_SERVER_INTERNAL_H_
#define COLDSTART_LAB_KUBE_API_SERVER_INTERNAL_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "lab/kube/api_server.h"
#include "lab/kube/resources.h"

namespace coldstart::lab::kube_api_internal {

// A request body: JSON, or failing that one YAML document (what kubectl and
// the real API server accept for apply-patch+yaml).
absl::StatusOr<Json> ParseJsonOrYaml(absl::string_view text);

// "group/version/plural": the key of a type.
std::string TypeKey(absl::string_view group, absl::string_view version,
                    absl::string_view plural);
// "group/plural": the key of a type's objects.
std::string BucketKey(const ResourceType& t);
// "ns/name": an object's key in its bucket ("" namespace: cluster-scoped).
std::string ObjectKey(absl::string_view ns, absl::string_view name);
// A random version-4 UUID.
std::string NewUid();

ApiResponse JsonResponse(int status, const Json& body);
// 404 "the server could not find the requested resource".
ApiResponse NotFoundPath();
// HTTP code and Status reason for a store error.
int HttpCodeFor(const absl::Status& s);
std::string ReasonFor(const absl::Status& s);
// `<plural>.<group> "<name>" not found`.
std::string NotFoundMessage(const ResourceType& t, absl::string_view name);

// The value at a dotted path ("metadata.name"); null when absent.
const Json* Field(const Json& j, absl::string_view dotted);
// That value as text (strings bare, others as JSON); "" when absent/null.
std::string FieldText(const Json& j, absl::string_view dotted);

// The Accept header asks for a Table (`as=Table`).
bool AcceptsTable(absl::string_view accept);

}  // namespace coldstart::lab::kube_api_internal

#endif  // COLDSTART_LAB_KUBE_API_SERVER_INTERNAL_H_
