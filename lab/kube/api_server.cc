// The store behind the API server: server-owned fields, kind-specific
// behaviour, CRDs, in-process access, and the top-level router (/version,
// health, discovery, OpenAPI, resources).
#include "lab/kube/api_server.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "lab/kube/api_server_internal.h"
#include "lib/base/time_format.h"

namespace coldstart::lab {

using kube_api_internal::BucketKey;
using kube_api_internal::FieldText;
using kube_api_internal::JsonResponse;
using kube_api_internal::NewUid;
using kube_api_internal::NotFoundMessage;
using kube_api_internal::NotFoundPath;
using kube_api_internal::ObjectKey;
using kube_api_internal::TypeKey;

ApiServer::ApiServer(ApiServerOptions options) : options_(std::move(options)) {
  absl::MutexLock lock(&mu_);
  for (const ResourceType& t : BuiltinResourceTypes()) {
    types_[TypeKey(t.group, t.version, t.plural)] = t;
  }
  for (const char* ns :
       {"default", "kube-system", "kube-public", "kube-node-lease"}) {
    std::vector<Written> ignored;
    ResourceType t = *FindType("", "v1", "namespaces");
    (void)Commit(t,
                 {{"apiVersion", "v1"},
                  {"kind", "Namespace"},
                  {"metadata", {{"name", ns}}}},
                 nullptr, false, ignored);
  }
}

absl::Time ApiServer::Now() const {
  return options_.now ? options_.now() : absl::Now();
}

void ApiServer::AddWriteObserver(WriteObserver observer) {
  absl::MutexLock lock(&mu_);
  observers_.push_back(std::move(observer));
}

void ApiServer::Notify(std::vector<Written>& written) {
  std::vector<WriteObserver> observers;
  {
    absl::ReaderMutexLock lock(&mu_);
    observers = observers_;
  }
  for (const Written& w : written) {
    for (const WriteObserver& o : observers) o(w.verb, w.type, w.object);
  }
  written.clear();
}

std::optional<ResourceType> ApiServer::FindType(
    absl::string_view group, absl::string_view version,
    absl::string_view plural) const {
  auto it = types_.find(TypeKey(group, version, plural));
  if (it == types_.end()) return std::nullopt;
  return it->second;
}

std::optional<ResourceType> ApiServer::FindTypeByKind(
    absl::string_view api_version, absl::string_view kind) const {
  for (const auto& [key, t] : types_) {
    if (t.kind == kind && t.ApiVersion() == api_version) return t;
  }
  return std::nullopt;
}

void ApiServer::RegisterCrd(const Json& crd) {
  absl::StatusOr<std::vector<ResourceType>> types = ResourceTypesFromCrd(crd);
  if (!types.ok()) return;
  for (const ResourceType& t : *types) {
    types_[TypeKey(t.group, t.version, t.plural)] = t;
  }
}

void ApiServer::UnregisterCrd(const Json& crd) {
  absl::StatusOr<std::vector<ResourceType>> types = ResourceTypesFromCrd(crd);
  if (!types.ok()) return;
  for (const ResourceType& t : *types) {
    types_.erase(TypeKey(t.group, t.version, t.plural));
    store_.erase(BucketKey(t));
  }
}

absl::StatusOr<Json> ApiServer::Commit(const ResourceType& type, Json object,
                                       const Json* existing, bool dry_run,
                                       std::vector<Written>& written) {
  if (!object.is_object()) {
    return absl::InvalidArgumentError("the body is not a JSON object");
  }
  Json& meta = object["metadata"];
  if (!meta.is_object()) meta = Json::object();
  std::string name = meta.value("name", "");
  std::string ns = type.namespaced ? meta.value("namespace", "") : "";
  if (name.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(type.kind,
                     " \"\" is invalid: metadata.name: Required "
                     "value: name or generateName is required"));
  }
  if (type.namespaced && ns.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(type.kind, " \"", name,
                     "\" is invalid: metadata.namespace: Required value"));
  }
  if (!type.namespaced) meta.erase("namespace");
  if (type.namespaced) {
    Bucket& namespaces = store_["/namespaces"];
    if (namespaces.find(ObjectKey("", ns)) == namespaces.end()) {
      return absl::NotFoundError(
          absl::StrCat("namespaces \"", ns, "\" not found"));
    }
  }
  object["apiVersion"] = type.ApiVersion();
  object["kind"] = type.kind;
  // Kind-specific server behaviour.
  const std::string bucket_key = BucketKey(type);
  if (bucket_key == "/secrets") {
    if (object.contains("stringData") && object["stringData"].is_object()) {
      Json& data = object["data"];
      if (!data.is_object()) data = Json::object();
      for (const auto& [k, v] : object["stringData"].items()) {
        data[k] =
            absl::Base64Escape(v.is_string() ? v.get<std::string>() : v.dump());
      }
    }
    object.erase("stringData");
    if (!object.contains("type")) object["type"] = "Opaque";
  } else if (bucket_key == "/namespaces") {
    if (!object.contains("status") || !object["status"].contains("phase")) {
      object["status"]["phase"] = "Active";
    }
    if (!object.contains("spec")) object["spec"]["finalizers"] = {"kubernetes"};
  } else if (bucket_key == "/services") {
    Json& spec = object["spec"];
    if (!spec.is_object()) spec = Json::object();
    if (!spec.contains("type")) spec["type"] = "ClusterIP";
    if (spec["type"] != "ExternalName" && !spec.contains("clusterIP")) {
      std::string ip =
          existing != nullptr ? FieldText(*existing, "spec.clusterIP") : "";
      if (ip.empty()) {
        int64_t n = cluster_ip_next_++;
        ip = absl::StrCat("10.96.", (n / 250) % 250, ".", n % 250 + 1);
      }
      spec["clusterIP"] = ip;
      spec["clusterIPs"] = {ip};
    }
  } else if (bucket_key == "apiextensions.k8s.io/customresourcedefinitions") {
    absl::StatusOr<std::vector<ResourceType>> declared =
        ResourceTypesFromCrd(object);
    if (!declared.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("CustomResourceDefinition.apiextensions.k8s.io \"", name,
                       "\" is invalid: ", declared.status().message()));
    }
    std::string expected =
        absl::StrCat((*declared)[0].plural, ".", (*declared)[0].group);
    if (name != expected) {
      return absl::InvalidArgumentError(
          absl::StrCat("CustomResourceDefinition.apiextensions.k8s.io \"", name,
                       "\" is invalid: metadata.name: Invalid value: \"", name,
                       "\": must be spec.names.plural+\".\"+spec.group"));
    }
    object["status"]["conditions"] = {
        {{"type", "Established"},
         {"status", "True"},
         {"reason", "InitialNamesAccepted"},
         {"message", "the initial names have been accepted"}}};
    object["status"]["acceptedNames"] = object["spec"]["names"];
    object["status"]["storedVersions"] = {(*declared)[0].version};
  }
  // Metadata the server owns.
  if (existing != nullptr) {
    const Json& old_meta = (*existing)["metadata"];
    meta["uid"] = old_meta["uid"];
    meta["creationTimestamp"] = old_meta["creationTimestamp"];
    int64_t generation = old_meta.value("generation", 1);
    if (existing->value("spec", Json()) != object.value("spec", Json())) {
      ++generation;
    }
    meta["generation"] = generation;
  } else {
    meta["uid"] = NewUid();
    meta["creationTimestamp"] = Rfc3339(Now());
    meta["generation"] = 1;
  }
  if (dry_run) {
    meta["resourceVersion"] = absl::StrCat(resource_version_);
    return object;
  }
  meta["resourceVersion"] = absl::StrCat(++resource_version_);
  Stored& stored = store_[bucket_key][ObjectKey(ns, name)];
  stored.object = object;
  stored.json = object.dump();
  if (bucket_key == "apiextensions.k8s.io/customresourcedefinitions") {
    RegisterCrd(object);
  }
  written.push_back(
      {existing == nullptr ? WriteVerb::kCreate : WriteVerb::kUpdate, type,
       object});
  return object;
}

absl::Status ApiServer::RemoveLocked(const ResourceType& type,
                                     const std::string& key,
                                     std::vector<Written>& written) {
  auto bucket = store_.find(BucketKey(type));
  if (bucket == store_.end()) return absl::NotFoundError("absent");
  auto it = bucket->second.find(key);
  if (it == bucket->second.end()) return absl::NotFoundError("absent");
  Json object = std::move(it->second.object);
  bucket->second.erase(it);
  ++resource_version_;
  if (BucketKey(type) == "/namespaces") {
    std::string ns = FieldText(object, "metadata.name");
    std::string prefix = absl::StrCat(ns, "/");
    for (auto& [bk, objects] : store_) {
      for (auto oi = objects.lower_bound(prefix);
           oi != objects.end() && absl::StartsWith(oi->first, prefix);) {
        oi = objects.erase(oi);
      }
    }
  }
  if (BucketKey(type) == "apiextensions.k8s.io/customresourcedefinitions") {
    UnregisterCrd(object);
  }
  written.push_back({WriteVerb::kDelete, type, std::move(object)});
  return absl::OkStatus();
}

absl::StatusOr<Json> ApiServer::ApplyLocked(const ResourceType& type,
                                            Json object, const std::string& ns,
                                            bool dry_run, bool* created,
                                            std::vector<Written>& written) {
  if (!object.is_object()) {
    return absl::InvalidArgumentError("the body is not a JSON object");
  }
  Json& meta = object["metadata"];
  if (!meta.is_object()) meta = Json::object();
  if (type.namespaced && !meta.contains("namespace") && !ns.empty()) {
    meta["namespace"] = ns;
  }
  std::string name = meta.value("name", "");
  std::string key =
      ObjectKey(type.namespaced ? meta.value("namespace", "") : "", name);
  Bucket& bucket = store_[BucketKey(type)];
  auto it = bucket.find(key);
  if (it == bucket.end()) {
    *created = true;
    return Commit(type, std::move(object), nullptr, dry_run, written);
  }
  *created = false;
  Json existing = it->second.object;
  Json merged = existing;
  Json patch = object;
  patch["metadata"].erase("resourceVersion");
  merged.merge_patch(patch);
  return Commit(type, std::move(merged), &existing, dry_run, written);
}

absl::StatusOr<Json> ApiServer::Apply(const Json& object) {
  std::vector<Written> written;
  absl::StatusOr<Json> result;
  {
    absl::MutexLock lock(&mu_);
    std::optional<ResourceType> type = FindTypeByKind(
        object.value("apiVersion", ""), object.value("kind", ""));
    if (!type.has_value()) {
      return absl::NotFoundError(absl::StrCat(
          "no matches for kind \"", object.value("kind", ""),
          "\" in version \"", object.value("apiVersion", ""), "\""));
    }
    bool created = false;
    result = ApplyLocked(*type, object, "", false, &created, written);
  }
  Notify(written);
  return result;
}

absl::Status ApiServer::Delete(absl::string_view api_version,
                               absl::string_view kind, absl::string_view ns,
                               absl::string_view name) {
  std::vector<Written> written;
  absl::Status status;
  {
    absl::MutexLock lock(&mu_);
    std::optional<ResourceType> type = FindTypeByKind(api_version, kind);
    if (!type.has_value()) {
      return absl::NotFoundError(absl::StrCat("no kind ", kind));
    }
    status = RemoveLocked(*type, ObjectKey(type->namespaced ? ns : "", name),
                          written);
    if (!status.ok())
      status = absl::NotFoundError(NotFoundMessage(*type, name));
  }
  Notify(written);
  return status;
}

std::optional<Json> ApiServer::Get(absl::string_view api_version,
                                   absl::string_view kind, absl::string_view ns,
                                   absl::string_view name) const {
  absl::ReaderMutexLock lock(&mu_);
  std::optional<ResourceType> type = FindTypeByKind(api_version, kind);
  if (!type.has_value()) return std::nullopt;
  auto bucket = store_.find(BucketKey(*type));
  if (bucket == store_.end()) return std::nullopt;
  auto it = bucket->second.find(ObjectKey(type->namespaced ? ns : "", name));
  if (it == bucket->second.end()) return std::nullopt;
  return it->second.object;
}

std::vector<Json> ApiServer::List(absl::string_view api_version,
                                  absl::string_view kind,
                                  absl::string_view ns) const {
  absl::ReaderMutexLock lock(&mu_);
  std::vector<Json> out;
  std::optional<ResourceType> type = FindTypeByKind(api_version, kind);
  if (!type.has_value()) return out;
  auto bucket = store_.find(BucketKey(*type));
  if (bucket == store_.end()) return out;
  for (const auto& [key, stored] : bucket->second) {
    if (!ns.empty() && !absl::StartsWith(key, absl::StrCat(ns, "/"))) continue;
    out.push_back(stored.object);
  }
  return out;
}

size_t ApiServer::ObjectCount() const {
  absl::ReaderMutexLock lock(&mu_);
  size_t n = 0;
  for (const auto& [k, b] : store_) n += b.size();
  return n;
}

ApiResponse ApiServer::Handle(const ApiRequest& request) {
  const std::string& path = request.path;
  if (path == "/version") {
    std::string minor = "32";
    std::vector<std::string> parts =
        absl::StrSplit(absl::StripPrefix(options_.git_version, "v"), '.');
    if (parts.size() >= 2) minor = parts[1];
    return JsonResponse(
        200, {{"major", parts.empty() ? "1" : parts[0]},
              {"minor", minor},
              {"gitVersion", options_.git_version},
              {"gitCommit", "0000000000000000000000000000000000000000"},
              {"gitTreeState", "clean"},
              {"buildDate", "2025-01-01T00:00:00Z"},
              {"goVersion", "go1.23.4"},
              {"compiler", "gc"},
              {"platform", "linux/amd64"}});
  }
  if (path == "/healthz" || path == "/readyz" || path == "/livez") {
    ApiResponse r;
    r.content_type = "text/plain";
    r.body = "ok";
    return r;
  }
  if (absl::StartsWith(path, "/openapi/")) return OpenApi(request);
  if (request.method == "GET" &&
      (path == "/api" || path == "/apis" || path == "/api/v1" ||
       (absl::StartsWith(path, "/apis/") &&
        std::count(path.begin(), path.end(), '/') <= 3))) {
    return Discovery(request);
  }
  if (absl::StartsWith(path, "/api/v1/") || absl::StartsWith(path, "/apis/")) {
    std::vector<Written> written;
    ApiResponse response = HandleResource(request, written);
    Notify(written);
    return response;
  }
  return NotFoundPath();
}

}  // namespace coldstart::lab
