// The Kubernetes API simulator's core: an in-memory object store behind the
// REST surface real kubectl (1.32) and lib/kube use (facts/kubernetes.md):
// /version, legacy discovery, /openapi/v3, list/get (plain or Table),
// create, replace, merge/JSON/strategic patch, server-side apply, delete,
// pagination, label/field selectors and Status errors. Transport-free:
// lab/kube/kube_https.h serves it over HTTPS. See lab/kube/README.md for
// what is and is not simulated.
//
// Thread-safe. Write observers run after the write, on the writing thread,
// with no lock held (they may call back into the server).
#ifndef COLDSTART_LAB_KUBE_API_SERVER_H_
#define COLDSTART_LAB_KUBE_API_SERVER_H_

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "lab/kube/resources.h"

namespace coldstart::lab {

struct ApiRequest {
  std::string method;
  std::string path;  // without the query
  // Decoded query parameters (first value of each name).
  std::map<std::string, std::string> query;
  std::string accept;
  std::string content_type;
  std::string body;
};

struct ApiResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
};

struct ApiServerOptions {
  // Stamps creationTimestamp and computes AGE. Default: absl::Now.
  std::function<absl::Time()> now;
  // /version: the dispatcher in front of kubectl picks its client by
  // `minor`; "32" selects kubectl 1.32.
  std::string git_version = "v1.32.3";
  // /api's serverAddressByClientCIDRs, e.g. "127.0.3.1:6443".
  std::string server_address = "127.0.0.1:6443";
};

// What happened to an object, for observers.
enum class WriteVerb { kCreate, kUpdate, kDelete };

class ApiServer {
 public:
  using WriteObserver = std::function<void(
      WriteVerb verb, const ResourceType& type, const Json& object)>;

  explicit ApiServer(ApiServerOptions options = {});
  ApiServer(const ApiServer&) = delete;
  ApiServer& operator=(const ApiServer&) = delete;

  // Answers one HTTP request (never fails: errors are Status bodies).
  ApiResponse Handle(const ApiRequest& request);

  // --- In-process access for the lab's controllers, scenario and tests. ---

  // Creates `object` or merges it into the existing one (RFC 7386 merge:
  // maps merged, lists replaced, null deletes), like server-side apply with
  // force. Returns the stored object. Errors as the API's (NotFound for an
  // unknown kind or namespace, InvalidArgument for a malformed object).
  absl::StatusOr<Json> Apply(const Json& object);
  // NotFound when absent.
  absl::Status Delete(absl::string_view api_version, absl::string_view kind,
                      absl::string_view ns, absl::string_view name);
  std::optional<Json> Get(absl::string_view api_version, absl::string_view kind,
                          absl::string_view ns, absl::string_view name) const;
  // Objects of the kind, in key order; `ns` empty: all namespaces.
  std::vector<Json> List(absl::string_view api_version, absl::string_view kind,
                         absl::string_view ns = "") const;
  // Objects in the store, all kinds.
  size_t ObjectCount() const;

  void AddWriteObserver(WriteObserver observer);

 private:
  struct Stored {
    Json object;
    std::string json;  // serialized `object`, for fast lists
  };
  using Bucket = std::map<std::string, Stored>;  // "ns/name" -> object
  struct Written {
    WriteVerb verb;
    ResourceType type;
    Json object;
  };
  // One request on a resource path (api_resource_routes.cc).
  struct ResourceCall;

  // Resource paths: parses the path, then dispatches by verb to one of the
  // handlers below, under mu_.
  ApiResponse HandleResource(const ApiRequest& request,
                             std::vector<Written>& written);
  ApiResponse ListObjects(ResourceCall& call)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  ApiResponse ListResponse(const ResourceCall& call,
                           const std::vector<const Stored*>& items,
                           const std::string& next)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  ApiResponse GetObject(ResourceCall& call) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  ApiResponse DeleteObject(ResourceCall& call)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  ApiResponse CreateObject(ResourceCall& call)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  ApiResponse ReplaceObject(ResourceCall& call)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  ApiResponse PatchObject(ResourceCall& call)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // PATCH with application/apply-patch+yaml (server-side apply).
  ApiResponse ApplyPatch(ResourceCall& call) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Commits `next` over the existing object (PUT and PATCH).
  ApiResponse Update(ResourceCall& call, Json next)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  ApiResponse Discovery(const ApiRequest& request);
  ApiResponse OpenApi(const ApiRequest& request);

  std::optional<ResourceType> FindType(absl::string_view group,
                                       absl::string_view version,
                                       absl::string_view plural) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);
  std::optional<ResourceType> FindTypeByKind(absl::string_view api_version,
                                             absl::string_view kind) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);
  // Validates, fills server fields and stores; `existing` is the current
  // object or null. Returns the stored object.
  absl::StatusOr<Json> Commit(const ResourceType& type, Json object,
                              const Json* existing, bool dry_run,
                              std::vector<Written>& written)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status RemoveLocked(const ResourceType& type, const std::string& key,
                            std::vector<Written>& written)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<Json> ApplyLocked(const ResourceType& type, Json object,
                                   const std::string& ns, bool dry_run,
                                   bool* created, std::vector<Written>& written)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void RegisterCrd(const Json& crd) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void UnregisterCrd(const Json& crd) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Notify(std::vector<Written>& written);
  absl::Time Now() const;

  const ApiServerOptions options_;
  mutable absl::Mutex mu_;
  // "group/version/plural" -> type.
  std::map<std::string, ResourceType> types_ ABSL_GUARDED_BY(mu_);
  // "group/plural" -> objects.
  std::map<std::string, Bucket> store_ ABSL_GUARDED_BY(mu_);
  int64_t resource_version_ ABSL_GUARDED_BY(mu_) = 1000;
  int64_t cluster_ip_next_ ABSL_GUARDED_BY(mu_) = 10;
  std::vector<WriteObserver> observers_ ABSL_GUARDED_BY(mu_);
};

// The Status body of an error (kind Status, reason from the code: NotFound,
// AlreadyExists, Conflict (Aborted), Invalid (InvalidArgument → 422), ...).
ApiResponse StatusResponse(int code, absl::string_view reason,
                           absl::string_view message,
                           const Json& details = Json::object());

}  // namespace coldstart::lab

#endif  // COLDSTART_LAB_KUBE_API_SERVER_H_
