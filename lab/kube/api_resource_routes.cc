// The resource REST surface: /api/v1/... and /apis/G/V/... parsed into a
// ResourceCall, dispatched by verb through a route table to one handler per
// operation (list, get, delete, create, replace, patch, server-side apply).
#include <iterator>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "lab/kube/api_server.h"
#include "lab/kube/api_server_internal.h"
#include "lab/kube/selector.h"
#include "lab/kube/tables.h"

namespace coldstart::lab {

using kube_api_internal::AcceptsTable;
using kube_api_internal::BucketKey;
using kube_api_internal::Field;
using kube_api_internal::FieldText;
using kube_api_internal::HttpCodeFor;
using kube_api_internal::JsonResponse;
using kube_api_internal::NewUid;
using kube_api_internal::NotFoundMessage;
using kube_api_internal::NotFoundPath;
using kube_api_internal::ObjectKey;
using kube_api_internal::ParseJsonOrYaml;
using kube_api_internal::ReasonFor;

namespace {

// The parts of a resource path.
struct ResourcePath {
  std::string group;
  std::string version;
  std::string plural;
  std::string ns;
  std::string name;
  std::string subresource;
};

// /api/v1/[namespaces/NS/]PLURAL[/NAME[/SUB]] or the same under /apis/G/V;
// nullopt for anything else. namespaces/NS/status|finalize are the
// Namespace's own subresources.
std::optional<ResourcePath> ParseResourcePath(const std::string& path) {
  std::vector<std::string> segs = absl::StrSplit(path, '/', absl::SkipEmpty());
  ResourcePath out;
  size_t i = 0;
  if (segs[0] == "api") {
    out.version = segs[1];
    i = 2;
  } else {
    if (segs.size() < 4) return std::nullopt;
    out.group = segs[1];
    out.version = segs[2];
    i = 3;
  }
  std::vector<std::string> rest(segs.begin() + i, segs.end());
  if (rest.size() >= 3 && rest[0] == "namespaces" &&
      !(rest.size() == 3 && (rest[2] == "status" || rest[2] == "finalize"))) {
    out.ns = rest[1];
    out.plural = rest[2];
    if (rest.size() > 3) out.name = rest[3];
    if (rest.size() > 4) out.subresource = rest[4];
    if (rest.size() > 5) return std::nullopt;
  } else {
    out.plural = rest[0];
    if (rest.size() > 1) out.name = rest[1];
    if (rest.size() > 2) out.subresource = rest[2];
    if (rest.size() > 3) return std::nullopt;
  }
  return out;
}

ApiResponse MethodNotAllowed(absl::string_view message) {
  return StatusResponse(405, "MethodNotAllowed", message);
}

ApiResponse BadRequest(absl::string_view message) {
  return StatusResponse(400, "BadRequest", message);
}

// The media type of a Content-Type header, without parameters.
std::string MediaType(const std::string& content_type) {
  return std::string(absl::StripAsciiWhitespace(
      std::vector<std::string>(absl::StrSplit(content_type, ';'))[0]));
}

}  // namespace

// One request on a resource path, with what every handler needs.
struct ApiServer::ResourceCall {
  const ApiRequest& request;
  ResourceType type;
  // The object's namespace: the path's, "" for cluster-scoped kinds.
  std::string ns;
  std::string name;         // empty on a collection
  std::string subresource;  // "" or "status"
  bool dry_run = false;
  Bucket* bucket = nullptr;
  // The object at ns/name, null when absent or on a collection.
  const Json* existing = nullptr;
  Json body;  // parsed request body (POST, PUT, PATCH)
  Json details;
  std::vector<Written>* written = nullptr;

  std::string Query(const char* key) const {
    auto it = request.query.find(key);
    return it == request.query.end() ? "" : it->second;
  }
  ApiResponse Error(const absl::Status& s) const {
    return StatusResponse(HttpCodeFor(s), ReasonFor(s), s.message(), details);
  }
  ApiResponse NotFound() const {
    return StatusResponse(404, "NotFound", NotFoundMessage(type, name),
                          details);
  }
  // The body's apiVersion/kind and namespace agree with the path.
  std::optional<ApiResponse> CheckIdentity(const Json& obj) const {
    if (!obj.is_object()) return BadRequest("the body is not an object");
    std::string api_version = obj.value("apiVersion", "");
    std::string kind = obj.value("kind", "");
    if ((!api_version.empty() && api_version != type.ApiVersion()) ||
        (!kind.empty() && kind != type.kind)) {
      return BadRequest(
          absl::StrCat("the API version in the data (", api_version,
                       ") does not match the expected API version (",
                       type.ApiVersion(), ")"));
    }
    const Json* obj_ns = Field(obj, "metadata.namespace");
    if (type.namespaced && obj_ns != nullptr && obj_ns->is_string() &&
        obj_ns->get<std::string>() != ns) {
      return BadRequest(
          "the namespace of the provided object does not match the namespace "
          "sent on the request");
    }
    return std::nullopt;
  }
  // The body's metadata.name is the path's.
  std::optional<ApiResponse> CheckName(const Json& obj) const {
    if (FieldText(obj, "metadata.name") == name) return std::nullopt;
    return BadRequest(
        "the name of the object does not match the name on the URL");
  }
};

ApiResponse ApiServer::HandleResource(const ApiRequest& request,
                                      std::vector<Written>& written) {
  // What runs for a verb, and on which scope (collection or object). A verb
  // on the other scope is answered 405 with `wrong_scope`.
  struct Route {
    const char* method;
    bool on_collection;
    bool needs_body;
    ApiResponse (ApiServer::*handler)(ResourceCall&);
    const char* wrong_scope;
  };
  static constexpr Route kRoutes[] = {
      {"GET", true, false, &ApiServer::ListObjects, nullptr},
      {"GET", false, false, &ApiServer::GetObject, nullptr},
      {"DELETE", false, false, &ApiServer::DeleteObject,
       "deletecollection is not supported by the lab simulator"},
      {"POST", true, true, &ApiServer::CreateObject,
       "POST is only allowed on collections"},
      {"PUT", false, true, &ApiServer::ReplaceObject,
       "PUT is only allowed on objects"},
      {"PATCH", false, true, &ApiServer::PatchObject,
       "PATCH is only allowed on objects"},
  };
  std::optional<ResourcePath> path = ParseResourcePath(request.path);
  if (!path.has_value()) return NotFoundPath();
  absl::MutexLock lock(&mu_);
  std::optional<ResourceType> type =
      FindType(path->group, path->version, path->plural);
  if (!type.has_value()) return NotFoundPath();
  if (!path->subresource.empty() &&
      !(path->subresource == "status" && type->has_status)) {
    return NotFoundPath();
  }
  if (!type->namespaced && !path->ns.empty()) return NotFoundPath();
  ResourceCall call{request, *type};
  call.ns = type->namespaced ? path->ns : "";
  call.name = path->name;
  call.subresource = path->subresource;
  call.dry_run = call.Query("dryRun") == "All";
  call.bucket = &store_[BucketKey(*type)];
  call.details = {
      {"name", call.name}, {"group", type->group}, {"kind", type->plural}};
  call.written = &written;
  const bool on_collection = call.name.empty();
  if (!on_collection) {
    auto it = call.bucket->find(ObjectKey(call.ns, call.name));
    if (it != call.bucket->end()) call.existing = &it->second.object;
  }
  const Route* matched = nullptr;
  for (const Route& route : kRoutes) {
    if (request.method != route.method) continue;
    if (matched == nullptr || route.on_collection == on_collection) {
      matched = &route;
    }
  }
  if (matched == nullptr) {
    return MethodNotAllowed(
        absl::StrCat("method ", request.method, " is not supported"));
  }
  if (matched->needs_body) {
    absl::StatusOr<Json> body = ParseJsonOrYaml(request.body);
    if (!body.ok()) {
      return BadRequest(
          absl::StrCat("the body of the request was in an unknown format: ",
                       body.status().message()));
    }
    call.body = *std::move(body);
  }
  if (matched->on_collection != on_collection) {
    return MethodNotAllowed(matched->wrong_scope);
  }
  return (this->*matched->handler)(call);
}

ApiResponse ApiServer::ListObjects(ResourceCall& call) {
  if (call.Query("watch") == "true" || call.Query("watch") == "1") {
    return MethodNotAllowed("watch is not supported by the lab simulator");
  }
  absl::StatusOr<std::vector<Requirement>> labels =
      ParseSelector(call.Query("labelSelector"));
  absl::StatusOr<std::vector<Requirement>> fields =
      ParseSelector(call.Query("fieldSelector"));
  if (!labels.ok() || !fields.ok()) {
    return BadRequest(!labels.ok() ? labels.status().message()
                                   : fields.status().message());
  }
  int64_t limit = 0;
  if (!call.Query("limit").empty() &&
      !absl::SimpleAtoi(call.Query("limit"), &limit)) {
    return BadRequest("invalid limit");
  }
  const Bucket& bucket = *call.bucket;
  const std::string prefix = call.ns.empty() ? "" : absl::StrCat(call.ns, "/");
  auto it = bucket.lower_bound(prefix);
  if (const std::string cont = call.Query("continue"); !cont.empty()) {
    std::string decoded;
    if (!absl::WebSafeBase64Unescape(cont, &decoded)) {
      return StatusResponse(410, "Expired",
                            "The provided continue parameter is too old");
    }
    it = bucket.upper_bound(decoded);
  }
  const bool any_filter = !labels->empty() || !fields->empty();
  auto selected = [&](const Json& o) {
    if (!any_filter) return true;
    const Json* lbls = Field(o, "metadata.labels");
    return Matches(*labels,
                   [&](const std::string& k) -> std::optional<std::string> {
                     if (lbls == nullptr || !lbls->is_object() ||
                         !lbls->contains(k)) {
                       return std::nullopt;
                     }
                     const Json& v = (*lbls)[k];
                     return v.is_string() ? v.get<std::string>() : v.dump();
                   }) &&
           Matches(*fields,
                   [&](const std::string& k) -> std::optional<std::string> {
                     return FieldText(o, k);
                   });
  };
  std::vector<const Stored*> items;
  std::string next;
  for (; it != bucket.end() && absl::StartsWith(it->first, prefix); ++it) {
    if (!selected(it->second.object)) continue;
    if (limit > 0 && static_cast<int64_t>(items.size()) == limit) {
      next = absl::WebSafeBase64Escape(std::prev(it)->first);
      break;
    }
    items.push_back(&it->second);
  }
  return ListResponse(call, items, next);
}

ApiResponse ApiServer::ListResponse(const ResourceCall& call,
                                    const std::vector<const Stored*>& items,
                                    const std::string& next) {
  const std::string rv = absl::StrCat(resource_version_);
  if (AcceptsTable(call.request.accept)) {
    std::vector<const Json*> objects;
    objects.reserve(items.size());
    for (const Stored* s : items) objects.push_back(&s->object);
    return JsonResponse(200, BuildTable(call.type, objects, Now(), rv, next));
  }
  // Plain list: concatenate the cached serializations.
  std::string body = absl::StrCat(
      "{\"apiVersion\":\"", call.type.ApiVersion(), "\",\"kind\":\"",
      call.type.kind, "List\",\"metadata\":{\"resourceVersion\":\"", rv, "\"",
      next.empty() ? "" : absl::StrCat(",\"continue\":\"", next, "\""),
      "},\"items\":[");
  size_t total = body.size() + 2;
  for (const Stored* s : items) total += 1 + s->json.size();
  body.reserve(total);
  bool first = true;
  for (const Stored* s : items) {
    if (!first) body.push_back(',');
    first = false;
    body.append(s->json);
  }
  body.append("]}");
  ApiResponse r;
  r.body = std::move(body);
  return r;
}

ApiResponse ApiServer::GetObject(ResourceCall& call) {
  if (call.existing == nullptr) return call.NotFound();
  const Json& object = *call.existing;
  if (AcceptsTable(call.request.accept)) {
    return JsonResponse(
        200, BuildTable(call.type, {&object}, Now(),
                        FieldText(object, "metadata.resourceVersion"), ""));
  }
  return JsonResponse(200, object);
}

ApiResponse ApiServer::DeleteObject(ResourceCall& call) {
  if (call.existing == nullptr) return call.NotFound();
  Json copy = *call.existing;
  if (!call.dry_run) {
    (void)RemoveLocked(call.type, ObjectKey(call.ns, call.name), *call.written);
  }
  return JsonResponse(200, copy);
}

ApiResponse ApiServer::CreateObject(ResourceCall& call) {
  Json obj = call.body;
  if (auto bad = call.CheckIdentity(obj)) return *bad;
  Json& meta = obj["metadata"];
  if (!meta.is_object()) meta = Json::object();
  if (call.type.namespaced) meta["namespace"] = call.ns;
  if (meta.value("name", "").empty() && meta.contains("generateName")) {
    std::string suffix = NewUid().substr(0, 5);
    meta["name"] = absl::StrCat(meta.value("generateName", ""), suffix);
  }
  std::string name = meta.value("name", "");
  if (call.bucket->count(ObjectKey(call.ns, name)) > 0) {
    Json d = call.details;
    d["name"] = name;
    return StatusResponse(409, "AlreadyExists",
                          absl::StrCat(call.type.QualifiedPlural(), " \"", name,
                                       "\" already exists"),
                          d);
  }
  absl::StatusOr<Json> stored =
      Commit(call.type, std::move(obj), nullptr, call.dry_run, *call.written);
  if (!stored.ok()) return call.Error(stored.status());
  return JsonResponse(201, *stored);
}

ApiResponse ApiServer::ReplaceObject(ResourceCall& call) {
  const Json& obj = call.body;
  if (auto bad = call.CheckIdentity(obj)) return *bad;
  if (call.existing == nullptr) return call.NotFound();
  if (auto bad = call.CheckName(obj)) return *bad;
  const Json& existing = *call.existing;
  std::string rv = FieldText(obj, "metadata.resourceVersion");
  if (!rv.empty() && rv != FieldText(existing, "metadata.resourceVersion")) {
    return StatusResponse(
        409, "Conflict",
        absl::StrCat("Operation cannot be fulfilled on ",
                     call.type.QualifiedPlural(), " \"", call.name,
                     "\": the object has been modified; please apply your "
                     "changes to the latest version and try again"),
        call.details);
  }
  Json next = obj;
  if (call.subresource == "status") {
    next = existing;
    next["status"] = obj.value("status", Json::object());
  } else if (call.type.has_status && call.type.custom) {
    // Status changes only through the status subresource.
    if (existing.contains("status")) next["status"] = existing["status"];
  }
  return Update(call, std::move(next));
}

ApiResponse ApiServer::PatchObject(ResourceCall& call) {
  const std::string media_type = MediaType(call.request.content_type);
  if (media_type == "application/apply-patch+yaml") return ApplyPatch(call);
  if (call.existing == nullptr) return call.NotFound();
  Json next = *call.existing;
  if (media_type == "application/merge-patch+json" ||
      media_type == "application/strategic-merge-patch+json") {
    if (media_type == "application/strategic-merge-patch+json" &&
        call.type.custom) {
      return StatusResponse(
          415, "UnsupportedMediaType",
          "the body of the request was in an unknown format - accepted "
          "media types include: application/json-patch+json, "
          "application/merge-patch+json, application/apply-patch+yaml");
    }
    if (!call.body.is_object()) return BadRequest("the patch is not an object");
    next.merge_patch(call.body);
  } else if (media_type == "application/json-patch+json") {
    try {
      next = next.patch(call.body);
    } catch (const nlohmann::json::exception& e) {
      return StatusResponse(422, "Invalid",
                            absl::StrCat("the JSON patch failed: ", e.what()));
    }
  } else {
    return StatusResponse(415, "UnsupportedMediaType",
                          absl::StrCat("unsupported patch type ", media_type));
  }
  if (call.subresource == "status") {
    Json only = *call.existing;
    only["status"] = next.value("status", Json::object());
    next = only;
  }
  next["metadata"]["name"] = call.name;
  return Update(call, std::move(next));
}

ApiResponse ApiServer::ApplyPatch(ResourceCall& call) {
  if (call.Query("fieldManager").empty()) {
    return BadRequest(
        "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: "
        "Required value: is required for apply patch");
  }
  Json obj = call.body;
  if (auto bad = call.CheckIdentity(obj)) return *bad;
  if (auto bad = call.CheckName(obj)) return *bad;
  if (call.subresource == "status") {
    if (call.existing == nullptr) return call.NotFound();
    obj = {{"metadata", {{"name", call.name}}},
           {"status", obj.value("status", Json::object())}};
  }
  bool created = false;
  absl::StatusOr<Json> stored =
      ApplyLocked(call.type, std::move(obj), call.ns, call.dry_run, &created,
                  *call.written);
  if (!stored.ok()) return call.Error(stored.status());
  return JsonResponse(created ? 201 : 200, *stored);
}

ApiResponse ApiServer::Update(ResourceCall& call, Json next) {
  if (call.type.namespaced) next["metadata"]["namespace"] = call.ns;
  Json old = *call.existing;
  absl::StatusOr<Json> stored =
      Commit(call.type, std::move(next), &old, call.dry_run, *call.written);
  if (!stored.ok()) return call.Error(stored.status());
  return JsonResponse(200, *stored);
}

}  // namespace coldstart::lab
