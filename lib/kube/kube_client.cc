#include "lib/kube/kube_client.h"

#include <algorithm>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "lib/base/status_macros.h"
#include "lib/json/json_path.h"
#include "lib/kube/kube_transport.h"

namespace coldstart::kube {
namespace {

std::string QueryEscape(absl::string_view s) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

std::string NamespaceOf(const Resource& r, const Json& object) {
  if (!r.namespaced) return "";
  auto meta = object.find("metadata");
  return meta == object.end() ? "" : JsonString(*meta, {"namespace"});
}

std::string NameOf(const Json& object) {
  auto meta = object.find("metadata");
  return meta == object.end() ? "" : JsonString(*meta, {"name"});
}

}  // namespace

std::string Resource::ApiVersion() const {
  return group.empty() ? version : absl::StrCat(group, "/", version);
}
std::string Resource::QualifiedPlural() const {
  return group.empty() ? plural : absl::StrCat(plural, ".", group);
}

Resource Nodes() { return {"", "v1", "nodes", false, "Node"}; }
Resource Pods() { return {"", "v1", "pods", true, "Pod"}; }
Resource Secrets() { return {"", "v1", "secrets", true, "Secret"}; }
Resource Services() { return {"", "v1", "services", true, "Service"}; }
Resource Namespaces() { return {"", "v1", "namespaces", false, "Namespace"}; }
Resource DaemonSets() {
  return {"apps", "v1", "daemonsets", true, "DaemonSet"};
}
Resource StorageClasses() {
  return {"storage.k8s.io", "v1", "storageclasses", false, "StorageClass"};
}
Resource CsiNodes() {
  return {"storage.k8s.io", "v1", "csinodes", false, "CSINode"};
}
Resource CustomResourceDefinitions() {
  return {"apiextensions.k8s.io", "v1", "customresourcedefinitions", false,
          "CustomResourceDefinition"};
}
Resource GitRepositories() {
  return {"source.toolkit.fluxcd.io", "v1", "gitrepositories", true,
          "GitRepository"};
}
Resource Kustomizations() {
  return {"kustomize.toolkit.fluxcd.io", "v1", "kustomizations", true,
          "Kustomization"};
}
Resource HelmReleases() {
  return {"helm.toolkit.fluxcd.io", "v2", "helmreleases", true, "HelmRelease"};
}
Resource ClusterSecretStores() {
  return {"external-secrets.io", "v1", "clustersecretstores", false,
          "ClusterSecretStore"};
}
Resource ExternalSecrets() {
  return {"external-secrets.io", "v1", "externalsecrets", true,
          "ExternalSecret"};
}

absl::Status StatusFromResponse(absl::string_view method,
                                absl::string_view path,
                                const HttpResponse& response) {
  std::string message;
  std::string reason;
  Json body = Json::parse(response.body, nullptr, false);
  if (!body.is_discarded() && body.is_object()) {
    message = JsonString(body, {"message"});
    reason = JsonString(body, {"reason"});
  }
  if (message.empty()) {
    message = response.body.substr(0, 200);
    if (message.empty()) message = absl::StrCat("HTTP ", response.status);
  }
  std::string text =
      absl::StrCat(method, " ", path, ": ", message, reason.empty() ? "" : " (",
                   reason, reason.empty() ? "" : ")");
  switch (response.status) {
    case 400:
    case 422:
    case 415:
      return absl::InvalidArgumentError(text);
    case 401:
      return absl::UnauthenticatedError(text);
    case 403:
      return absl::PermissionDeniedError(text);
    case 404:
      return absl::NotFoundError(text);
    case 409:
      return reason == "AlreadyExists" ? absl::AlreadyExistsError(text)
                                       : absl::AbortedError(text);
    case 410:
      return absl::OutOfRangeError(text);
    case 429:
    case 500:
    case 502:
    case 503:
    case 504:
      return absl::UnavailableError(text);
    default:
      return absl::UnknownError(text);
  }
}

const Json* FindCondition(const Json& object, absl::string_view type) {
  auto status = object.find("status");
  if (status == object.end() || !status->is_object()) return nullptr;
  auto conds = status->find("conditions");
  if (conds == status->end() || !conds->is_array()) return nullptr;
  for (const Json& c : *conds) {
    if (c.is_object() && JsonString(c, {"type"}) == type) return &c;
  }
  return nullptr;
}

KubeClient::KubeClient(HttpClient& http, std::string server)
    : http_(http), server_(absl::StripSuffix(server, "/")) {}

absl::StatusOr<std::unique_ptr<KubeClient>> KubeClient::FromConfig(
    const RestConfig& config, bool allow_insecure) {
  TransportOptions options;
  options.allow_insecure = allow_insecure;
  ASSIGN_OR_RETURN(std::unique_ptr<HttpClient> http,
                   NewKubeHttpClient(config, options));
  auto client = std::make_unique<KubeClient>(*http, config.server);
  client->owned_http_ = std::move(http);
  return client;
}

std::string KubeClient::Path(const Resource& r, absl::string_view ns,
                             absl::string_view name) const {
  std::string path = r.group.empty()
                         ? absl::StrCat("/api/", r.version)
                         : absl::StrCat("/apis/", r.group, "/", r.version);
  if (r.namespaced && !ns.empty()) absl::StrAppend(&path, "/namespaces/", ns);
  absl::StrAppend(&path, "/", r.plural);
  if (!name.empty()) absl::StrAppend(&path, "/", name);
  return path;
}

absl::StatusOr<HttpResponse> KubeClient::Exchange(
    absl::string_view method, const std::string& path_and_query,
    absl::string_view content_type, std::string body) {
  HttpRequest request;
  request.method = std::string(method);
  request.url = absl::StrCat(server_, path_and_query);
  request.headers.emplace_back("Accept", "application/json");
  if (!content_type.empty()) {
    request.headers.emplace_back("Content-Type", std::string(content_type));
  }
  request.body = std::move(body);
  ASSIGN_OR_RETURN(HttpResponse response, http_.Send(request));
  if (response.status < 200 || response.status > 299) {
    std::string path(path_and_query.substr(0, path_and_query.find('?')));
    return StatusFromResponse(method, path, response);
  }
  return response;
}

absl::StatusOr<Json> KubeClient::ExchangeJson(absl::string_view method,
                                              const std::string& path_and_query,
                                              absl::string_view content_type,
                                              std::string body) {
  ASSIGN_OR_RETURN(
      HttpResponse response,
      Exchange(method, path_and_query, content_type, std::move(body)));
  Json j = Json::parse(response.body, nullptr, false);
  if (j.is_discarded()) {
    return absl::UnavailableError(absl::StrCat(
        method, " ", path_and_query.substr(0, path_and_query.find('?')),
        ": the server's answer is not JSON"));
  }
  return j;
}

absl::StatusOr<Json> KubeClient::Version() {
  return ExchangeJson("GET", "/version", "", "");
}

absl::StatusOr<Json> KubeClient::Get(const Resource& r, absl::string_view ns,
                                     absl::string_view name) {
  return ExchangeJson("GET", Path(r, ns, name), "", "");
}

absl::Status KubeClient::ListPages(
    const Resource& r, absl::string_view ns, const ListOptions& options,
    const std::function<absl::Status(absl::string_view page)>& on_page) {
  std::string base = Path(r, ns);
  std::string query;
  if (options.page_size > 0)
    absl::StrAppend(&query, "&limit=", options.page_size);
  if (!options.label_selector.empty()) {
    absl::StrAppend(&query,
                    "&labelSelector=", QueryEscape(options.label_selector));
  }
  if (!options.field_selector.empty()) {
    absl::StrAppend(&query,
                    "&fieldSelector=", QueryEscape(options.field_selector));
  }
  std::string cont;
  for (;;) {
    std::string q = query;
    if (!cont.empty()) absl::StrAppend(&q, "&continue=", QueryEscape(cont));
    std::string url = q.empty() ? base : absl::StrCat(base, "?", q.substr(1));
    ASSIGN_OR_RETURN(HttpResponse response, Exchange("GET", url, "", ""));
    RETURN_IF_ERROR(on_page(response.body));
    // Find metadata.continue cheaply: the List's metadata precedes items in
    // every server we know, but parse robustly if not found early.
    cont.clear();
    size_t items = response.body.find("\"items\"");
    absl::string_view head(response.body.data(), items == std::string::npos
                                                     ? response.body.size()
                                                     : items);
    size_t pos = head.find("\"continue\"");
    if (pos != absl::string_view::npos) {
      size_t q1 = head.find('"', head.find(':', pos) + 1);
      size_t q2 = head.find('"', q1 + 1);
      if (q1 != absl::string_view::npos && q2 != absl::string_view::npos) {
        cont = std::string(head.substr(q1 + 1, q2 - q1 - 1));
      }
    } else if (items == std::string::npos) {
      Json j = Json::parse(response.body, nullptr, false);
      if (!j.is_discarded() && j.contains("metadata")) {
        cont = JsonString(j["metadata"], {"continue"});
      }
    }
    if (cont.empty()) return absl::OkStatus();
  }
}

absl::StatusOr<std::vector<Json>> KubeClient::List(const Resource& r,
                                                   absl::string_view ns,
                                                   const ListOptions& options) {
  std::vector<Json> out;
  RETURN_IF_ERROR(ListPages(r, ns, options, [&](absl::string_view page) {
    Json j = Json::parse(page.begin(), page.end(), nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
      return absl::UnavailableError(absl::StrCat(
          "GET ", Path(r, ns), ": the server's answer is not a JSON list"));
    }
    auto items = j.find("items");
    if (items != j.end() && items->is_array()) {
      for (Json& item : *items) out.push_back(std::move(item));
    }
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<Json> KubeClient::Create(const Resource& r, const Json& object) {
  return ExchangeJson("POST", Path(r, NamespaceOf(r, object)),
                      "application/json", object.dump());
}

absl::StatusOr<Json> KubeClient::Replace(const Resource& r,
                                         const Json& object) {
  return ExchangeJson("PUT", Path(r, NamespaceOf(r, object), NameOf(object)),
                      "application/json", object.dump());
}

absl::StatusOr<Json> KubeClient::Apply(const Resource& r, const Json& object,
                                       const ApplyOptions& options) {
  if (options.field_manager.empty()) {
    return absl::InvalidArgumentError(
        "server-side apply needs a field manager");
  }
  std::string name = NameOf(object);
  if (name.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("apply of a ", r.kind, " without metadata.name"));
  }
  Json body = object;
  if (!body.contains("apiVersion")) body["apiVersion"] = r.ApiVersion();
  if (!body.contains("kind")) body["kind"] = r.kind;
  std::string url =
      absl::StrCat(Path(r, NamespaceOf(r, object), name),
                   "?fieldManager=", QueryEscape(options.field_manager),
                   "&force=", options.force ? "true" : "false");
  return ExchangeJson("PATCH", url, "application/apply-patch+yaml",
                      body.dump());
}

absl::StatusOr<Json> KubeClient::MergePatch(const Resource& r,
                                            absl::string_view ns,
                                            absl::string_view name,
                                            const Json& patch) {
  return ExchangeJson("PATCH", Path(r, ns, name),
                      "application/merge-patch+json", patch.dump());
}

absl::Status KubeClient::Delete(const Resource& r, absl::string_view ns,
                                absl::string_view name) {
  return Exchange("DELETE", Path(r, ns, name), "", "").status();
}

absl::StatusOr<Resource> KubeClient::Discover(absl::string_view api_version,
                                              absl::string_view kind) {
  std::string path = absl::StrContains(api_version, "/")
                         ? absl::StrCat("/apis/", api_version)
                         : absl::StrCat("/api/", api_version);
  absl::StatusOr<Json> list = ExchangeJson("GET", path, "", "");
  if (absl::IsNotFound(list.status())) {
    return absl::NotFoundError(absl::StrCat("no matches for kind \"", kind,
                                            "\" in version \"", api_version,
                                            "\" (is its CRD installed?)"));
  }
  RETURN_IF_ERROR(list.status());
  auto resources = list->find("resources");
  if (resources != list->end() && resources->is_array()) {
    for (const Json& res : *resources) {
      std::string name = JsonString(res, {"name"});
      if (JsonString(res, {"kind"}) != kind || absl::StrContains(name, "/"))
        continue;
      Resource r;
      std::vector<std::string> gv = absl::StrSplit(api_version, '/');
      if (gv.size() == 2) {
        r.group = gv[0];
        r.version = gv[1];
      } else {
        r.version = gv[0];
      }
      r.plural = name;
      r.namespaced = res.value("namespaced", true);
      r.kind = std::string(kind);
      return r;
    }
  }
  return absl::NotFoundError(absl::StrCat(
      "no matches for kind \"", kind, "\" in version \"", api_version, "\""));
}

absl::StatusOr<Json> KubeClient::WaitFor(
    const Resource& r, absl::string_view ns, absl::string_view name,
    const std::function<absl::StatusOr<ConditionResult>(const Json* object)>&
        condition,
    const WaitOptions& options) {
  PollOptions poll = options;
  if (poll.what.empty()) {
    poll.what = absl::StrCat(r.QualifiedPlural(), " ",
                             ns.empty() ? "" : absl::StrCat(ns, "/"), name);
  }
  Json found;
  RETURN_IF_ERROR(Poll(poll, [&](PollAttempt&) -> absl::Status {
    absl::StatusOr<Json> object = Get(r, ns, name);
    if (!object.ok() && !absl::IsNotFound(object.status())) {
      return object.status();  // transient ones are retried by Poll
    }
    ASSIGN_OR_RETURN(ConditionResult result,
                     condition(object.ok() ? &*object : nullptr));
    if (!result.done) {
      return absl::UnavailableError(result.waiting_for.empty()
                                        ? "condition not met"
                                        : result.waiting_for);
    }
    if (object.ok()) found = *std::move(object);
    return absl::OkStatus();
  }));
  return found;
}

}  // namespace coldstart::kube
