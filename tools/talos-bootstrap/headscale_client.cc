#include "tools/talos-bootstrap/headscale_client.h"

#include <set>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "lib/base/status_macros.h"
#include "lib/base/time_format.h"
#include "nlohmann/json.hpp"

namespace coldstart {
namespace {

using nlohmann::json;

std::string IdText(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number()) return std::to_string(v.get<uint64_t>());
  return "";
}

HeadscaleKey KeyFromJson(const json& j) {
  HeadscaleKey key;
  key.id = IdText(j.value("id", json()));
  key.key = Secret(j.value("key", std::string()));
  key.used = j.value("used", false);
  key.reusable = j.value("reusable", false);
  std::string err;
  if (!absl::ParseTime(absl::RFC3339_full, j.value("expiration", ""),
                       &key.expiration, &err)) {
    key.expiration = absl::UniversalEpoch();
  }
  return key;
}

std::vector<std::string> Strings(const json& j) {
  std::vector<std::string> out;
  if (j.is_array()) {
    for (const auto& s : j) {
      if (s.is_string()) out.push_back(s.get<std::string>());
    }
  }
  return out;
}

}  // namespace

absl::StatusOr<int> HeadscaleClient::Generation(
    const std::string& api_version) {
  if (api_version.empty()) return 26;
  std::vector<std::string> parts = absl::StrSplit(api_version, '.');
  int minor = 0;
  if (parts.size() < 2 || parts[0] != "0" ||
      !absl::SimpleAtoi(parts[1], &minor) || minor < 23) {
    return absl::InvalidArgumentError(absl::StrCat(
        "spec.mesh.api_version \"", api_version,
        "\" is not a Headscale version coldstart knows (0.23 or later)"));
  }
  return minor >= 28 ? 28 : (minor >= 26 ? 26 : 23);
}

HttpRequest HeadscaleClient::Request(const std::string& method,
                                     const std::string& path,
                                     const std::string& body) const {
  HttpRequest request;
  request.method = method;
  request.url = base_ + path;
  request.body = body;
  request.timeout = absl::Seconds(20);
  if (!body.empty())
    request.headers.push_back({"Content-Type", "application/json"});
  request.secret_headers.push_back(
      {"Authorization", Secret(absl::StrCat("Bearer ", api_key_.Reveal()))});
  return request;
}

absl::StatusOr<std::string> HeadscaleClient::Reply(
    const std::string& method, const std::string& path,
    const HttpResponse& response) const {
  if (response.status == 401) {
    return absl::PermissionDeniedError(absl::StrCat(
        "headscale: ", method, " ", path,
        ": 401 Unauthorized (check HEADSCALE_API_KEY or the keystore item)"));
  }
  if (response.status / 100 != 2) {
    json err = json::parse(response.body, nullptr, false);
    std::string message = response.body.substr(0, 200);
    if (err.is_object()) {
      message = err.value("message", err.value("detail", message));
    }
    return absl::FailedPreconditionError(
        absl::StrCat("headscale: ", method, " ", path, ": HTTP ",
                     response.status, " ", message));
  }
  return response.body;
}

absl::StatusOr<std::string> HeadscaleClient::Call(const std::string& method,
                                                  const std::string& path,
                                                  const std::string& body) {
  RetryPolicy policy;
  policy.deadline = absl::Seconds(30);
  ASSIGN_OR_RETURN(HttpResponse response,
                   SendWithRetry(http_, Request(method, path, body), policy));
  return Reply(method, path, response);
}

absl::Status HeadscaleClient::Probe(const std::string& user) {
  const std::string path = gen_ >= 26 ? absl::StrCat("/api/v1/user?name=", user)
                                      : std::string("/api/v1/user");
  ASSIGN_OR_RETURN(HttpResponse response, http_.Send(Request("GET", path, "")));
  return Reply("GET", path, response).status();
}

absl::StatusOr<std::string> HeadscaleClient::EnsureUser(const std::string& name,
                                                        bool create) {
  ASSIGN_OR_RETURN(std::string body,
                   Call("GET",
                        gen_ >= 26 ? absl::StrCat("/api/v1/user?name=", name)
                                   : "/api/v1/user",
                        ""));
  json j = json::parse(body, nullptr, false);
  for (const auto& u : j.value("users", json::array())) {
    if (u.value("name", "") == name &&
        (gen_ < 26 || u.value("provider", "").empty())) {
      return gen_ >= 26 ? IdText(u["id"]) : name;
    }
  }
  if (!create) {
    return absl::NotFoundError(absl::StrCat("headscale user ", name));
  }
  ASSIGN_OR_RETURN(body,
                   Call("POST", "/api/v1/user", json({{"name", name}}).dump()));
  j = json::parse(body, nullptr, false);
  if (!j.is_object() || !j.contains("user")) {
    return absl::FailedPreconditionError("headscale: bad create-user reply");
  }
  return gen_ >= 26 ? IdText(j["user"]["id"]) : name;
}

absl::StatusOr<HeadscaleKey> HeadscaleClient::CreateKey(
    const std::string& user, absl::Time expiration, bool reusable,
    bool ephemeral, const std::vector<std::string>& tags) {
  json body = {{"user", user},
               {"reusable", reusable},
               {"ephemeral", ephemeral},
               {"expiration", Rfc3339(expiration)},
               {"aclTags", tags}};
  ASSIGN_OR_RETURN(std::string reply,
                   Call("POST", "/api/v1/preauthkey", body.dump()));
  json j = json::parse(reply, nullptr, false);
  if (!j.is_object() || !j.contains("preAuthKey")) {
    return absl::FailedPreconditionError("headscale: bad create-key reply");
  }
  return KeyFromJson(j["preAuthKey"]);
}

absl::StatusOr<std::vector<HeadscaleKey>> HeadscaleClient::ListKeys(
    const std::string& user) {
  ASSIGN_OR_RETURN(
      std::string reply,
      Call("GET",
           gen_ >= 28 ? "/api/v1/preauthkey"
                      : absl::StrCat("/api/v1/preauthkey?user=", user),
           ""));
  json j = json::parse(reply, nullptr, false);
  std::vector<HeadscaleKey> out;
  for (const auto& k : j.value("preAuthKeys", json::array())) {
    out.push_back(KeyFromJson(k));
  }
  return out;
}

absl::Status HeadscaleClient::ExpireKey(const std::string& user,
                                        const HeadscaleKey& key) {
  json body =
      gen_ >= 28
          ? json({{"id", key.id}})
          : json({{"user", user}, {"key", std::string(key.key.Reveal())}});
  return Call("POST", "/api/v1/preauthkey/expire", body.dump()).status();
}

absl::StatusOr<std::vector<HeadscaleNode>> HeadscaleClient::ListNodes() {
  ASSIGN_OR_RETURN(std::string reply, Call("GET", "/api/v1/node", ""));
  json j = json::parse(reply, nullptr, false);
  std::vector<HeadscaleNode> out;
  for (const auto& n : j.value("nodes", json::array())) {
    HeadscaleNode node;
    node.id = IdText(n.value("id", json()));
    node.name = n.value("givenName", n.value("name", ""));
    node.available_routes = Strings(n.value("availableRoutes", json()));
    node.approved_routes = Strings(n.value("approvedRoutes", json()));
    out.push_back(node);
  }
  if (gen_ < 26) {
    // 0.23: routes live in their own API.
    ASSIGN_OR_RETURN(std::string routes, Call("GET", "/api/v1/routes", ""));
    json r = json::parse(routes, nullptr, false);
    for (const auto& route : r.value("routes", json::array())) {
      const std::string node_id = IdText(route["node"].value("id", json()));
      for (HeadscaleNode& node : out) {
        if (node.id != node_id) continue;
        node.available_routes.push_back(absl::StrCat(
            route.value("prefix", ""), "#", IdText(route.value("id", json()))));
        if (route.value("enabled", false)) {
          node.approved_routes.push_back(route.value("prefix", ""));
        }
      }
    }
  }
  return out;
}

absl::Status HeadscaleClient::ApproveRoutes(
    const HeadscaleNode& node, const std::vector<std::string>& routes) {
  if (gen_ >= 26) {
    std::set<std::string> all(node.approved_routes.begin(),
                              node.approved_routes.end());
    all.insert(routes.begin(), routes.end());
    return Call("POST",
                absl::StrCat("/api/v1/node/", node.id, "/approve_routes"),
                json({{"routes",
                       std::vector<std::string>(all.begin(), all.end())}})
                    .dump())
        .status();
  }
  for (const std::string& entry : node.available_routes) {
    std::pair<std::string, std::string> prefix_id =
        absl::StrSplit(entry, absl::MaxSplits('#', 1));
    for (const std::string& route : routes) {
      if (route != prefix_id.first) continue;
      RETURN_IF_ERROR(
          Call("POST",
               absl::StrCat("/api/v1/routes/", prefix_id.second, "/enable"), "")
              .status());
    }
  }
  return absl::OkStatus();
}

}  // namespace coldstart
