#include "lab/kube/api_server.h"

#include <algorithm>
#include <set>

#include "absl/random/random.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "lab/kube/tables.h"
#include "lib/yaml/yaml_json.h"

namespace coldstart::lab {
namespace {

// A request body: JSON, or failing that one YAML document (what kubectl and
// the real API server accept for apply-patch+yaml).
absl::StatusOr<nlohmann::json> ParseJsonOrYaml(absl::string_view text) {
  nlohmann::json j =
      nlohmann::json::parse(text.begin(), text.end(), nullptr, false);
  if (!j.is_discarded()) return j;
  return YamlToJson(text, "body");
}

std::string TypeKey(absl::string_view group, absl::string_view version,
                    absl::string_view plural) {
  return absl::StrCat(group, "/", version, "/", plural);
}
std::string BucketKey(const ResourceType& t) {
  return absl::StrCat(t.group, "/", t.plural);
}
std::string ObjectKey(absl::string_view ns, absl::string_view name) {
  return absl::StrCat(ns, "/", name);
}

std::string NewUid() {
  static absl::Mutex mu(absl::kConstInit);
  static absl::BitGen* gen = new absl::BitGen();
  absl::MutexLock lock(&mu);
  uint64_t a = absl::Uniform<uint64_t>(*gen);
  uint64_t b = absl::Uniform<uint64_t>(*gen);
  return absl::StrFormat("%08x-%04x-4%03x-%04x-%012x", a >> 32,
                         (a >> 16) & 0xffff, a & 0xfff,
                         0x8000 | ((b >> 48) & 0x3fff), b & 0xffffffffffffULL);
}

std::string ReasonForCode(int code) {
  switch (code) {
    case 400:
      return "BadRequest";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "NotFound";
    case 405:
      return "MethodNotAllowed";
    case 406:
      return "NotAcceptable";
    case 409:
      return "Conflict";
    case 410:
      return "Expired";
    case 415:
      return "UnsupportedMediaType";
    case 422:
      return "Invalid";
    case 429:
      return "TooManyRequests";
    case 503:
      return "ServiceUnavailable";
    default:
      return "InternalError";
  }
}

ApiResponse JsonResponse(int status, const Json& body) {
  ApiResponse r;
  r.status = status;
  r.body = body.dump();
  return r;
}

ApiResponse NotFoundPath() {
  return StatusResponse(404, "NotFound",
                        "the server could not find the requested resource");
}

int HttpCodeFor(const absl::Status& s) {
  switch (s.code()) {
    case absl::StatusCode::kNotFound:
      return 404;
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kAborted:
      return 409;
    case absl::StatusCode::kInvalidArgument:
      return 422;
    case absl::StatusCode::kFailedPrecondition:
      return 400;
    default:
      return 500;
  }
}

std::string ReasonFor(const absl::Status& s) {
  switch (s.code()) {
    case absl::StatusCode::kAlreadyExists:
      return "AlreadyExists";
    case absl::StatusCode::kAborted:
      return "Conflict";
    case absl::StatusCode::kFailedPrecondition:
      return "BadRequest";
    default:
      return ReasonForCode(HttpCodeFor(s));
  }
}

std::string NotFoundMessage(const ResourceType& t, absl::string_view name) {
  return absl::StrCat(t.QualifiedPlural(), " \"", name, "\" not found");
}

const Json* Field(const Json& j, absl::string_view dotted) {
  const Json* cur = &j;
  for (absl::string_view part : absl::StrSplit(dotted, '.')) {
    if (!cur->is_object()) return nullptr;
    auto it = cur->find(std::string(part));
    if (it == cur->end()) return nullptr;
    cur = &*it;
  }
  return cur;
}

std::string FieldText(const Json& j, absl::string_view dotted) {
  const Json* v = Field(j, dotted);
  if (v == nullptr || v->is_null()) return "";
  return v->is_string() ? v->get<std::string>() : v->dump();
}

// Label selector: k=v, k==v, k!=v, k, !k, k in (a,b), k notin (a,b).
struct Requirement {
  std::string key;
  enum { kEq, kNe, kExists, kNotExists, kIn, kNotIn } op;
  std::set<std::string> values;
};

absl::StatusOr<std::vector<Requirement>> ParseSelector(absl::string_view s) {
  std::vector<Requirement> out;
  // Split on commas outside parentheses.
  std::vector<std::string> parts;
  std::string cur;
  int depth = 0;
  for (char c : s) {
    if (c == '(') ++depth;
    if (c == ')') --depth;
    if (c == ',' && depth == 0) {
      parts.push_back(cur);
      cur.clear();
    } else {
      cur.push_back(c);
    }
  }
  if (!cur.empty()) parts.push_back(cur);
  for (std::string& raw : parts) {
    absl::string_view p = absl::StripAsciiWhitespace(raw);
    if (p.empty()) continue;
    Requirement r;
    size_t pos;
    if (absl::ConsumePrefix(&p, "!")) {
      r.key = std::string(absl::StripAsciiWhitespace(p));
      r.op = Requirement::kNotExists;
    } else if ((pos = p.find("!=")) != absl::string_view::npos) {
      r.key = std::string(absl::StripAsciiWhitespace(p.substr(0, pos)));
      r.op = Requirement::kNe;
      r.values.insert(
          std::string(absl::StripAsciiWhitespace(p.substr(pos + 2))));
    } else if ((pos = p.find('=')) != absl::string_view::npos) {
      r.key = std::string(absl::StripAsciiWhitespace(p.substr(0, pos)));
      r.op = Requirement::kEq;
      absl::string_view v = p.substr(pos + 1);
      absl::ConsumePrefix(&v, "=");
      r.values.insert(std::string(absl::StripAsciiWhitespace(v)));
    } else if ((pos = p.find(" notin ")) != absl::string_view::npos ||
               (pos = p.find(" in ")) != absl::string_view::npos) {
      bool notin = p.substr(pos, 7) == " notin ";
      r.key = std::string(absl::StripAsciiWhitespace(p.substr(0, pos)));
      r.op = notin ? Requirement::kNotIn : Requirement::kIn;
      absl::string_view set =
          absl::StripAsciiWhitespace(p.substr(pos + (notin ? 7 : 4)));
      if (!absl::ConsumePrefix(&set, "(") || !absl::ConsumeSuffix(&set, ")")) {
        return absl::InvalidArgumentError(
            absl::StrCat("unable to parse requirement: ", p));
      }
      for (absl::string_view v : absl::StrSplit(set, ',')) {
        r.values.insert(std::string(absl::StripAsciiWhitespace(v)));
      }
    } else {
      r.key = std::string(p);
      r.op = Requirement::kExists;
    }
    out.push_back(std::move(r));
  }
  return out;
}

bool Matches(
    const std::vector<Requirement>& reqs,
    const std::function<std::optional<std::string>(const std::string&)>&
        lookup) {
  for (const Requirement& r : reqs) {
    std::optional<std::string> v = lookup(r.key);
    switch (r.op) {
      case Requirement::kEq:
      case Requirement::kIn:
        if (!v.has_value() || r.values.count(*v) == 0) return false;
        break;
      case Requirement::kNe:
      case Requirement::kNotIn:
        if (v.has_value() && r.values.count(*v) > 0) return false;
        break;
      case Requirement::kExists:
        if (!v.has_value()) return false;
        break;
      case Requirement::kNotExists:
        if (v.has_value()) return false;
        break;
    }
  }
  return true;
}

std::string Rfc3339(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
}

bool AcceptsTable(absl::string_view accept) {
  return absl::StrContains(accept, "as=Table");
}

}  // namespace

ApiResponse StatusResponse(int code, absl::string_view reason,
                           absl::string_view message, const Json& details) {
  Json body = {
      {"kind", "Status"},    {"apiVersion", "v1"}, {"metadata", Json::object()},
      {"status", "Failure"}, {"message", message}, {"reason", reason},
      {"code", code}};
  if (!details.empty()) body["details"] = details;
  return JsonResponse(code, body);
}

struct ApiServer::Target {
  ResourceType type;
  std::string ns;
  std::string name;
  std::string subresource;
};

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

ApiResponse ApiServer::HandleResource(const ApiRequest& request,
                                      std::vector<Written>& written) {
  // Parse /api/v1/... or /apis/G/V/...
  std::vector<std::string> segs =
      absl::StrSplit(request.path, '/', absl::SkipEmpty());
  std::string group, version;
  size_t i = 0;
  if (segs[0] == "api") {
    version = segs[1];
    i = 2;
  } else {
    if (segs.size() < 4) return NotFoundPath();
    group = segs[1];
    version = segs[2];
    i = 3;
  }
  std::vector<std::string> rest(segs.begin() + i, segs.end());
  Target target;
  std::string plural;
  if (rest.size() >= 3 && rest[0] == "namespaces" &&
      !(rest.size() == 3 && (rest[2] == "status" || rest[2] == "finalize"))) {
    target.ns = rest[1];
    plural = rest[2];
    if (rest.size() > 3) target.name = rest[3];
    if (rest.size() > 4) target.subresource = rest[4];
    if (rest.size() > 5) return NotFoundPath();
  } else {
    plural = rest[0];
    if (rest.size() > 1) target.name = rest[1];
    if (rest.size() > 2) target.subresource = rest[2];
    if (rest.size() > 3) return NotFoundPath();
  }
  auto q = [&](const char* key) -> std::string {
    auto it = request.query.find(key);
    return it == request.query.end() ? "" : it->second;
  };
  const bool dry_run = q("dryRun") == "All";
  absl::MutexLock lock(&mu_);
  std::optional<ResourceType> type = FindType(group, version, plural);
  if (!type.has_value()) return NotFoundPath();
  target.type = *type;
  if (!target.subresource.empty() &&
      !(target.subresource == "status" && type->has_status)) {
    return NotFoundPath();
  }
  if (!type->namespaced && !target.ns.empty()) return NotFoundPath();
  const std::string ns = type->namespaced ? target.ns : "";
  Bucket& bucket = store_[BucketKey(*type)];
  const Json details = {
      {"name", target.name}, {"group", type->group}, {"kind", type->plural}};
  auto error = [&](const absl::Status& s) {
    return StatusResponse(HttpCodeFor(s), ReasonFor(s), s.message(), details);
  };
  auto not_found = [&]() {
    return StatusResponse(404, "NotFound", NotFoundMessage(*type, target.name),
                          details);
  };
  auto serve_object = [&](int code, const Json& object) {
    if (AcceptsTable(request.accept)) {
      return JsonResponse(
          code, BuildTable(*type, {&object}, Now(),
                           FieldText(object, "metadata.resourceVersion"), ""));
    }
    return JsonResponse(code, object);
  };

  if (request.method == "GET" && target.name.empty()) {
    if (q("watch") == "true" || q("watch") == "1") {
      return StatusResponse(405, "MethodNotAllowed",
                            "watch is not supported by the lab simulator");
    }
    absl::StatusOr<std::vector<Requirement>> labels =
        ParseSelector(q("labelSelector"));
    absl::StatusOr<std::vector<Requirement>> fields =
        ParseSelector(q("fieldSelector"));
    if (!labels.ok() || !fields.ok()) {
      return StatusResponse(
          400, "BadRequest",
          !labels.ok() ? labels.status().message() : fields.status().message());
    }
    int64_t limit = 0;
    if (!q("limit").empty() && !absl::SimpleAtoi(q("limit"), &limit)) {
      return StatusResponse(400, "BadRequest", "invalid limit");
    }
    std::string start = ns.empty() ? "" : absl::StrCat(ns, "/");
    std::string prefix = start;
    std::string cont = q("continue");
    auto it = bucket.lower_bound(start);
    if (!cont.empty()) {
      std::string decoded;
      if (!absl::WebSafeBase64Unescape(cont, &decoded)) {
        return StatusResponse(410, "Expired",
                              "The provided continue parameter is too old");
      }
      it = bucket.upper_bound(decoded);
    }
    std::vector<const Stored*> items;
    std::string next;
    const bool any_filter = !labels->empty() || !fields->empty();
    for (; it != bucket.end() && absl::StartsWith(it->first, prefix); ++it) {
      const Json& o = it->second.object;
      if (any_filter) {
        const Json* lbls = Field(o, "metadata.labels");
        bool ok = Matches(
            *labels, [&](const std::string& k) -> std::optional<std::string> {
              if (lbls == nullptr || !lbls->is_object() || !lbls->contains(k)) {
                return std::nullopt;
              }
              const Json& v = (*lbls)[k];
              return v.is_string() ? v.get<std::string>() : v.dump();
            });
        ok = ok &&
             Matches(*fields,
                     [&](const std::string& k) -> std::optional<std::string> {
                       return FieldText(o, k);
                     });
        if (!ok) continue;
      }
      if (limit > 0 && static_cast<int64_t>(items.size()) == limit) {
        auto prev = std::prev(it);
        next = absl::WebSafeBase64Escape(prev->first);
        break;
      }
      items.push_back(&it->second);
    }
    std::string rv = absl::StrCat(resource_version_);
    if (AcceptsTable(request.accept)) {
      std::vector<const Json*> objects;
      objects.reserve(items.size());
      for (const Stored* s : items) objects.push_back(&s->object);
      return JsonResponse(200, BuildTable(*type, objects, Now(), rv, next));
    }
    // Plain list: concatenate the cached serializations.
    std::string body = absl::StrCat(
        "{\"apiVersion\":\"", type->ApiVersion(), "\",\"kind\":\"", type->kind,
        "List\",\"metadata\":{\"resourceVersion\":\"", rv, "\"",
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

  const std::string key = ObjectKey(ns, target.name);
  auto existing_it = bucket.find(key);
  const Json* existing =
      existing_it == bucket.end() ? nullptr : &existing_it->second.object;

  if (request.method == "GET") {
    if (existing == nullptr) return not_found();
    return serve_object(200, *existing);
  }

  if (request.method == "DELETE") {
    if (target.name.empty()) {
      return StatusResponse(405, "MethodNotAllowed",
                            "deletecollection is not supported by the lab "
                            "simulator");
    }
    if (existing == nullptr) return not_found();
    Json copy = *existing;
    if (!dry_run) (void)RemoveLocked(*type, key, written);
    return JsonResponse(200, copy);
  }

  absl::StatusOr<Json> body = ParseJsonOrYaml(request.body);
  if (!body.ok() && request.method != "DELETE") {
    return StatusResponse(400, "BadRequest",
                          absl::StrCat("the body of the request was in an "
                                       "unknown format: ",
                                       body.status().message()));
  }
  auto check_identity = [&](const Json& obj) -> std::optional<ApiResponse> {
    if (!obj.is_object()) {
      return StatusResponse(400, "BadRequest", "the body is not an object");
    }
    std::string api_version = obj.value("apiVersion", "");
    std::string kind = obj.value("kind", "");
    if ((!api_version.empty() && api_version != type->ApiVersion()) ||
        (!kind.empty() && kind != type->kind)) {
      return StatusResponse(
          400, "BadRequest",
          absl::StrCat("the API version in the data (", api_version,
                       ") does not match the expected API version (",
                       type->ApiVersion(), ")"));
    }
    const Json* obj_ns = Field(obj, "metadata.namespace");
    if (type->namespaced && obj_ns != nullptr && obj_ns->is_string() &&
        obj_ns->get<std::string>() != ns) {
      return StatusResponse(
          400, "BadRequest",
          "the namespace of the provided object does not match the namespace "
          "sent on the request");
    }
    return std::nullopt;
  };

  if (request.method == "POST") {
    if (!target.name.empty()) {
      return StatusResponse(405, "MethodNotAllowed",
                            "POST is only allowed on collections");
    }
    Json obj = *body;
    if (auto bad = check_identity(obj)) return *bad;
    Json& meta = obj["metadata"];
    if (!meta.is_object()) meta = Json::object();
    if (type->namespaced) meta["namespace"] = ns;
    if (meta.value("name", "").empty() && meta.contains("generateName")) {
      std::string suffix = NewUid().substr(0, 5);
      meta["name"] = absl::StrCat(meta.value("generateName", ""), suffix);
    }
    std::string name = meta.value("name", "");
    if (bucket.count(ObjectKey(ns, name)) > 0) {
      Json d = details;
      d["name"] = name;
      return StatusResponse(409, "AlreadyExists",
                            absl::StrCat(type->QualifiedPlural(), " \"", name,
                                         "\" already exists"),
                            d);
    }
    absl::StatusOr<Json> stored =
        Commit(*type, std::move(obj), nullptr, dry_run, written);
    if (!stored.ok()) return error(stored.status());
    return JsonResponse(201, *stored);
  }

  if (request.method == "PUT") {
    if (target.name.empty()) {
      return StatusResponse(405, "MethodNotAllowed",
                            "PUT is only allowed on objects");
    }
    Json obj = *body;
    if (auto bad = check_identity(obj)) return *bad;
    if (existing == nullptr) return not_found();
    if (FieldText(obj, "metadata.name") != target.name) {
      return StatusResponse(400, "BadRequest",
                            "the name of the object does not match the name "
                            "on the URL");
    }
    std::string rv = FieldText(obj, "metadata.resourceVersion");
    if (!rv.empty() && rv != FieldText(*existing, "metadata.resourceVersion")) {
      return StatusResponse(
          409, "Conflict",
          absl::StrCat("Operation cannot be fulfilled on ",
                       type->QualifiedPlural(), " \"", target.name,
                       "\": the object has been modified; please apply your "
                       "changes to the latest version and try again"),
          details);
    }
    Json next = obj;
    if (target.subresource == "status") {
      next = *existing;
      next["status"] = obj.value("status", Json::object());
    } else if (type->has_status && type->custom) {
      // Status changes only through the status subresource.
      if (existing->contains("status")) next["status"] = (*existing)["status"];
    }
    if (type->namespaced) next["metadata"]["namespace"] = ns;
    Json old = *existing;
    absl::StatusOr<Json> stored =
        Commit(*type, std::move(next), &old, dry_run, written);
    if (!stored.ok()) return error(stored.status());
    return JsonResponse(200, *stored);
  }

  if (request.method == "PATCH") {
    if (target.name.empty()) {
      return StatusResponse(405, "MethodNotAllowed",
                            "PATCH is only allowed on objects");
    }
    std::string ct(absl::StripAsciiWhitespace(std::vector<std::string>(
        absl::StrSplit(request.content_type, ';'))[0]));
    if (ct == "application/apply-patch+yaml") {
      if (q("fieldManager").empty()) {
        return StatusResponse(
            400, "BadRequest",
            "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: "
            "Required value: is required for apply patch");
      }
      Json obj = *body;
      if (auto bad = check_identity(obj)) return *bad;
      if (FieldText(obj, "metadata.name") != target.name) {
        return StatusResponse(400, "BadRequest",
                              "the name of the object does not match the "
                              "name on the URL");
      }
      if (target.subresource == "status") {
        if (existing == nullptr) return not_found();
        Json s = {{"metadata", {{"name", target.name}}},
                  {"status", obj.value("status", Json::object())}};
        obj = s;
      }
      bool created = false;
      absl::StatusOr<Json> stored =
          ApplyLocked(*type, std::move(obj), ns, dry_run, &created, written);
      if (!stored.ok()) return error(stored.status());
      return JsonResponse(created ? 201 : 200, *stored);
    }
    if (existing == nullptr) return not_found();
    Json next = *existing;
    if (ct == "application/merge-patch+json" ||
        ct == "application/strategic-merge-patch+json") {
      if (ct == "application/strategic-merge-patch+json" && type->custom) {
        return StatusResponse(
            415, "UnsupportedMediaType",
            "the body of the request was in an unknown format - accepted "
            "media types include: application/json-patch+json, "
            "application/merge-patch+json, application/apply-patch+yaml");
      }
      if (!body->is_object()) {
        return StatusResponse(400, "BadRequest", "the patch is not an object");
      }
      next.merge_patch(*body);
    } else if (ct == "application/json-patch+json") {
      try {
        next = next.patch(*body);
      } catch (const nlohmann::json::exception& e) {
        return StatusResponse(
            422, "Invalid", absl::StrCat("the JSON patch failed: ", e.what()));
      }
    } else {
      return StatusResponse(415, "UnsupportedMediaType",
                            absl::StrCat("unsupported patch type ", ct));
    }
    if (target.subresource == "status") {
      Json only = *existing;
      only["status"] = next.value("status", Json::object());
      next = only;
    }
    next["metadata"]["name"] = target.name;
    if (type->namespaced) next["metadata"]["namespace"] = ns;
    Json old = *existing;
    absl::StatusOr<Json> stored =
        Commit(*type, std::move(next), &old, dry_run, written);
    if (!stored.ok()) return error(stored.status());
    return JsonResponse(200, *stored);
  }
  return StatusResponse(
      405, "MethodNotAllowed",
      absl::StrCat("method ", request.method, " is not supported"));
}

}  // namespace coldstart::lab
