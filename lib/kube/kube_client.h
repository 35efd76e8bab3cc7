// A Kubernetes REST client over lib/http's HttpClient: get, list with
// pagination, create, replace, server-side apply, merge patch, delete,
// discovery of a kind's resource, and polling until a condition holds.
//
// Paths: "/api/v1/..." for the core group, "/apis/G/V/..." otherwise;
// namespaced resources take a namespace (empty = all namespaces for lists).
//
// Errors (every call): the server's Status body becomes an absl::Status
// whose message is "<METHOD> <path>: <server message> (<reason>)":
//   404 → NotFound, 409 AlreadyExists → AlreadyExists, 409 Conflict →
//   Aborted, 400/422 → InvalidArgument, 401 → Unauthenticated,
//   403 → PermissionDenied, 410 → OutOfRange (expired continue token),
//   429/5xx → Unavailable; transport errors pass through (lib/http.h).
// Nothing secret (token, key) appears in a message.
#ifndef COLDSTART_LIB_KUBE_CLIENT_H_
#define COLDSTART_LIB_KUBE_CLIENT_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "lib/base/poll.h"
#include "lib/kube/kube_config.h"
#include "lib/net/http.h"
#include "nlohmann/json.hpp"

namespace coldstart::kube {

using Json = nlohmann::json;

// A resource (collection) of the API.
struct Resource {
  std::string group;  // "" for core
  std::string version;
  std::string plural;
  bool namespaced = true;
  std::string kind;

  std::string ApiVersion() const;
  // "pods" / "kustomizations.kustomize.toolkit.fluxcd.io", for messages.
  std::string QualifiedPlural() const;
};

// The resources the tools use.
Resource Nodes();
Resource Pods();
Resource Secrets();
Resource Services();
Resource Namespaces();
Resource DaemonSets();
Resource StorageClasses();
Resource CsiNodes();
Resource CustomResourceDefinitions();
Resource GitRepositories();      // source.toolkit.fluxcd.io/v1
Resource Kustomizations();       // kustomize.toolkit.fluxcd.io/v1
Resource HelmReleases();         // helm.toolkit.fluxcd.io/v2
Resource ClusterSecretStores();  // external-secrets.io/v1
Resource ExternalSecrets();      // external-secrets.io/v1

struct ListOptions {
  std::string label_selector;
  std::string field_selector;
  // Items per page (the server's `limit`); 0: no limit, one response.
  int page_size = 500;
};

struct ApplyOptions {
  // Required (the server refuses apply without one).
  std::string field_manager;
  // Take over fields owned by other managers.
  bool force = false;
};

// How WaitFor polls: lib/base/poll.h's options (timeout or shared deadline,
// backoff, early stop, clock, progress lines). `what` is filled in by
// WaitFor when empty.
using WaitOptions = ::coldstart::PollOptions;

// The outcome of one condition check: done, or not yet with why not (the
// last reason is reported when the deadline passes).
struct ConditionResult {
  bool done = false;
  std::string waiting_for;
};

class KubeClient {
 public:
  // `http` must outlive the client. `server` is the base URL (kubeconfig
  // `server`).
  KubeClient(HttpClient& http, std::string server);

  // A client with its own transport (lib/kube_transport.h) for `config`.
  static absl::StatusOr<std::unique_ptr<KubeClient>> FromConfig(
      const RestConfig& config, bool allow_insecure = false);

  // Path of a collection (empty name) or object.
  std::string Path(const Resource& resource, absl::string_view ns,
                   absl::string_view name = "") const;

  // GET /version.
  absl::StatusOr<Json> Version();

  absl::StatusOr<Json> Get(const Resource& resource, absl::string_view ns,
                           absl::string_view name);

  // Every page of a list, in order, as the raw JSON text of a <Kind>List
  // (for fast decoders, lib/kube_lists.h). Follows metadata.continue until
  // it is empty. `on_page` errors stop the walk and are returned.
  absl::Status ListPages(
      const Resource& resource, absl::string_view ns,
      const ListOptions& options,
      const std::function<absl::Status(absl::string_view page)>& on_page);

  // Every item of every page.
  absl::StatusOr<std::vector<Json>> List(const Resource& resource,
                                         absl::string_view ns,
                                         const ListOptions& options = {});

  // POST; AlreadyExists when the object exists.
  absl::StatusOr<Json> Create(const Resource& resource, const Json& object);
  // PUT the whole object; with metadata.resourceVersion set, Aborted when
  // the stored object has changed since.
  absl::StatusOr<Json> Replace(const Resource& resource, const Json& object);
  // Server-side apply (PATCH application/apply-patch+yaml): creates or
  // merges the fields `object` sets. InvalidArgument without a field
  // manager.
  absl::StatusOr<Json> Apply(const Resource& resource, const Json& object,
                             const ApplyOptions& options);
  // RFC 7386 merge patch.
  absl::StatusOr<Json> MergePatch(const Resource& resource,
                                  absl::string_view ns, absl::string_view name,
                                  const Json& patch);
  // NotFound when absent.
  absl::Status Delete(const Resource& resource, absl::string_view ns,
                      absl::string_view name);

  // The resource serving `kind` in `api_version` ("v1", "apps/v1"), from
  // discovery. NotFound when the server does not serve it (e.g. its CRD is
  // not installed).
  absl::StatusOr<Resource> Discover(absl::string_view api_version,
                                    absl::string_view kind);

  // Polls `condition` on the object (nullptr while it does not exist) with
  // exponential backoff until it returns done, returns an error (returned
  // as is), or the timeout passes: DeadlineExceeded naming the object, the
  // time waited and the last `waiting_for`. Transient errors (Unavailable,
  // DeadlineExceeded of one request) are retried.
  absl::StatusOr<Json> WaitFor(
      const Resource& resource, absl::string_view ns, absl::string_view name,
      const std::function<absl::StatusOr<ConditionResult>(const Json* object)>&
          condition,
      const WaitOptions& options = {});

 private:
  absl::StatusOr<HttpResponse> Exchange(absl::string_view method,
                                        const std::string& path_and_query,
                                        absl::string_view content_type,
                                        std::string body);
  absl::StatusOr<Json> ExchangeJson(absl::string_view method,
                                    const std::string& path_and_query,
                                    absl::string_view content_type,
                                    std::string body);

  HttpClient& http_;
  std::string server_;
  std::unique_ptr<HttpClient> owned_http_;
};

// The absl::Status for a non-2xx response (see the mapping above).
absl::Status StatusFromResponse(absl::string_view method,
                                absl::string_view path,
                                const HttpResponse& response);

// The `type` condition of an object's status.conditions, or nullptr.
const Json* FindCondition(const Json& object, absl::string_view type);

}  // namespace coldstart::kube

#endif  // COLDSTART_LIB_KUBE_CLIENT_H_
