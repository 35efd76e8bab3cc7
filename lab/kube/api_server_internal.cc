#include "lab/kube/api_server_internal.h"

#include "absl/random/random.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "lib/yaml/yaml_json.h"

namespace coldstart::lab {
namespace kube_api_internal {
namespace {

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

}  // namespace

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

bool AcceptsTable(absl::string_view accept) {
  return absl::StrContains(accept, "as=Table");
}

}  // namespace kube_api_internal

ApiResponse StatusResponse(int code, absl::string_view reason,
                           absl::string_view message, const Json& details) {
  Json body = {
      {"kind", "Status"},    {"apiVersion", "v1"}, {"metadata", Json::object()},
      {"status", "Failure"}, {"message", message}, {"reason", reason},
      {"code", code}};
  if (!details.empty()) body["details"] = details;
  return kube_api_internal::JsonResponse(code, body);
}

}  // namespace coldstart::lab
