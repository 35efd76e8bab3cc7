// Discovery (/api, /apis, /api/v1, /apis/G[/V]) and OpenAPI v3
// (/openapi/v3[/<group-version>]) from the registered kinds.
#include <algorithm>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "lab/kube/api_server.h"
#include "lab/kube/api_server_internal.h"

namespace coldstart::lab {

using kube_api_internal::JsonResponse;
using kube_api_internal::NotFoundPath;

ApiResponse ApiServer::Discovery(const ApiRequest& request) {
  absl::ReaderMutexLock lock(&mu_);
  const std::string& path = request.path;
  if (path == "/api") {
    return JsonResponse(200,
                        {{"kind", "APIVersions"},
                         {"versions", {"v1"}},
                         {"serverAddressByClientCIDRs",
                          {{{"clientCIDR", "0.0.0.0/0"},
                            {"serverAddress", options_.server_address}}}}});
  }
  // group -> versions (in registration order of first appearance).
  std::map<std::string, std::vector<std::string>> groups;
  for (const auto& [key, t] : types_) {
    if (t.group.empty()) continue;
    auto& versions = groups[t.group];
    if (std::find(versions.begin(), versions.end(), t.version) ==
        versions.end()) {
      versions.push_back(t.version);
    }
  }
  auto group_json = [](const std::string& name,
                       const std::vector<std::string>& versions) {
    Json vs = Json::array();
    for (const std::string& v : versions) {
      vs.push_back(
          {{"groupVersion", absl::StrCat(name, "/", v)}, {"version", v}});
    }
    return Json{{"name", name}, {"versions", vs}, {"preferredVersion", vs[0]}};
  };
  if (path == "/apis") {
    Json list = Json::array();
    for (const auto& [name, versions] : groups) {
      list.push_back(group_json(name, versions));
    }
    return JsonResponse(
        200,
        {{"kind", "APIGroupList"}, {"apiVersion", "v1"}, {"groups", list}});
  }
  std::string group, version;
  if (path == "/api/v1") {
    version = "v1";
  } else {
    std::vector<std::string> parts =
        absl::StrSplit(absl::StripPrefix(path, "/apis/"), '/');
    group = parts[0];
    if (parts.size() == 1) {
      auto it = groups.find(group);
      if (it == groups.end()) return NotFoundPath();
      Json g = group_json(group, it->second);
      g["kind"] = "APIGroup";
      g["apiVersion"] = "v1";
      return JsonResponse(200, g);
    }
    version = parts[1];
  }
  Json resources = Json::array();
  for (const auto& [key, t] : types_) {
    if (t.group != group || t.version != version) continue;
    Json r = {{"name", t.plural},
              {"singularName", t.singular},
              {"namespaced", t.namespaced},
              {"kind", t.kind},
              {"verbs",
               {"create", "delete", "deletecollection", "get", "list", "patch",
                "update", "watch"}}};
    if (!t.short_names.empty()) r["shortNames"] = t.short_names;
    if (!t.categories.empty()) r["categories"] = t.categories;
    resources.push_back(r);
    if (t.has_status) {
      resources.push_back({{"name", absl::StrCat(t.plural, "/status")},
                           {"singularName", ""},
                           {"namespaced", t.namespaced},
                           {"kind", t.kind},
                           {"verbs", {"get", "patch", "update"}}});
    }
  }
  if (resources.empty()) return NotFoundPath();
  return JsonResponse(
      200, {{"kind", "APIResourceList"},
            {"apiVersion", "v1"},
            {"groupVersion",
             group.empty() ? version : absl::StrCat(group, "/", version)},
            {"resources", resources}});
}

ApiResponse ApiServer::OpenApi(const ApiRequest& request) {
  absl::ReaderMutexLock lock(&mu_);
  // group-version path ("api/v1", "apis/G/V") -> types.
  std::map<std::string, std::vector<const ResourceType*>> gvs;
  for (const auto& [key, t] : types_) {
    gvs[std::string(absl::StripPrefix(t.GroupVersionPath(), "/"))].push_back(
        &t);
  }
  auto hash = [](const std::vector<const ResourceType*>& types) {
    std::string all;
    for (const ResourceType* t : types) absl::StrAppend(&all, t->plural, ",");
    return absl::StrFormat("%016X", std::hash<std::string>()(all));
  };
  if (request.path == "/openapi/v3") {
    Json paths = Json::object();
    for (const auto& [gv, types] : gvs) {
      paths[gv] = {{"serverRelativeURL",
                    absl::StrCat("/openapi/v3/", gv, "?hash=", hash(types))}};
    }
    return JsonResponse(200, {{"paths", paths}});
  }
  std::string gv(absl::StripPrefix(request.path, "/openapi/v3/"));
  auto it = gvs.find(gv);
  if (it == gvs.end()) return NotFoundPath();
  Json paths = Json::object();
  for (const ResourceType* t : it->second) {
    Json op = {
        {"x-kubernetes-group-version-kind",
         {{"group", t->group}, {"version", t->version}, {"kind", t->kind}}},
        {"parameters",
         {{{"name", "fieldValidation"},
           {"in", "query"},
           {"schema", {{"type", "string"}}}},
          {{"name", "fieldManager"},
           {"in", "query"},
           {"schema", {{"type", "string"}}}}}},
        {"responses", {{"200", {{"description", "OK"}}}}}};
    std::string item =
        absl::StrCat("/", gv, t->namespaced ? "/namespaces/{namespace}/" : "/",
                     t->plural, "/{name}");
    paths[item] = {{"patch", op}, {"put", op}};
    std::string collection = absl::StrCat(
        "/", gv, t->namespaced ? "/namespaces/{namespace}/" : "/", t->plural);
    paths[collection] = {{"post", op}};
  }
  return JsonResponse(
      200,
      {{"openapi", "3.0.0"},
       {"info", {{"title", "Kubernetes"}, {"version", options_.git_version}}},
       {"paths", paths},
       {"components", {{"schemas", Json::object()}}}});
}

}  // namespace coldstart::lab
