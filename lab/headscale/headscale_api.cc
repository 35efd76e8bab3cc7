#include "lab/headscale/headscale_api.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"

namespace coldstart::lab {
namespace {

using nlohmann::json;
using Method = HeadscaleRoute::Method;

// A gRPC-status error body (§1): {"code","message","details":[]}.
void Error(httplib::Response& res, int http_status, int grpc_code,
           const std::string& message) {
  res.status = http_status;
  res.set_content(json({{"code", grpc_code},
                        {"message", message},
                        {"details", json::array()}})
                      .dump(),
                  "application/json");
}

// A plain Go error: gRPC Unknown, HTTP 500 (§1).
void PlainError(httplib::Response& res, const std::string& message) {
  Error(res, 500, 2, message);
}

void Ok(httplib::Response& res, const json& body) {
  res.status = 200;
  res.set_content(body.dump(), "application/json");
}

// Input ids: string or number (§1).
std::string IdText(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_unsigned() || v.is_number_integer()) {
    return std::to_string(v.get<uint64_t>());
  }
  return "";
}

// A body field by its camelCase or snake_case name (§1).
json Field(const json& body, const char* camel, const char* snake) {
  if (body.contains(camel)) return body[camel];
  if (body.contains(snake)) return body[snake];
  return nullptr;
}

// Username rules (§3, 0.24+; 0.23 checks only the first two). Empty if ok.
std::string UsernameProblem(const HeadscaleState& state,
                            const std::string& name) {
  if (name.size() < 2) return "username must be at least 2 characters long";
  if (absl::ascii_isdigit(name[0]))
    return "username cannot start with a number";
  if (state.minor() < 24) return "";
  int ats = 0;
  for (char c : name) {
    ats += c == '@';
    if (!absl::ascii_isalnum(c) && c != '-' && c != '.' && c != '_' &&
        c != '@') {
      return absl::StrCat("username contains invalid character '",
                          std::string(1, c), "'");
    }
  }
  return ats > 1 ? "username cannot contain more than one '@'" : "";
}

// aclTags of a create request (§2): each `tag:...`, lowercase, no spaces;
// duplicates removed (and sorted from 0.28). Empty problem if ok.
std::string ParseTags(const HeadscaleState& state, const json& body,
                      std::vector<std::string>* tags) {
  json list = Field(body, "aclTags", "acl_tags");
  if (list.is_null()) return "";
  for (const json& t : list) {
    const std::string tag = t.is_string() ? t.get<std::string>() : "";
    if (!absl::StartsWith(tag, "tag:")) {
      return absl::StrCat("tag \"", tag, "\" must start with tag:");
    }
    if (absl::AsciiStrToLower(tag) != tag) {
      return absl::StrCat("tag \"", tag, "\" should be lowercase");
    }
    if (absl::StrContains(tag, " ")) {
      return absl::StrCat("tag \"", tag, "\" should not contain spaces");
    }
    if (std::find(tags->begin(), tags->end(), tag) == tags->end()) {
      tags->push_back(tag);
    }
  }
  if (state.generation() >= 28) std::sort(tags->begin(), tags->end());
  return "";
}

// GET /api/v1/user[?id=&name=&email=] (§3; filters from 0.24).
void ListUsers(HeadscaleState& state, const HeadscaleCall& call,
               httplib::Response& res) {
  const httplib::Request& req = call.request;
  auto filtered_out = [&](const char* param, const std::string& value) {
    return state.minor() >= 24 && req.has_param(param) &&
           req.get_param_value(param) != value;
  };
  json users = json::array();
  for (const HeadscaleUser& u : state.users) {
    if (filtered_out("name", u.name) ||
        filtered_out("id", std::to_string(u.id)) ||
        filtered_out("email", u.email)) {
      continue;
    }
    users.push_back(state.UserJson(u.id));
  }
  Ok(res, {{"users", users}});
}

// POST /api/v1/user {"name","displayName","email","pictureUrl"} (§3).
void CreateUser(HeadscaleState& state, const HeadscaleCall& call,
                httplib::Response& res) {
  HeadscaleUser user;
  user.name = call.body.value("name", "");
  for (const HeadscaleUser& u : state.users) {
    if (u.name == user.name) {
      return PlainError(res, "UNIQUE constraint failed: users.name");
    }
  }
  if (std::string problem = UsernameProblem(state, user.name);
      !problem.empty()) {
    return PlainError(res, problem);
  }
  if (state.minor() >= 24) {
    json display = Field(call.body, "displayName", "display_name");
    json picture = Field(call.body, "pictureUrl", "picture_url");
    user.display_name = display.is_string() ? display.get<std::string>() : "";
    user.email = call.body.value("email", "");
    user.picture_url = picture.is_string() ? picture.get<std::string>() : "";
  }
  user.id = state.next_user_id++;
  user.created = absl::Now();
  state.users.push_back(user);
  Ok(res, {{"user", state.UserJson(user.id)}});
}

// POST /api/v1/preauthkey {"user","reusable","ephemeral","expiration",
// "aclTags"} (§2).
void CreatePreAuthKey(HeadscaleState& state, const HeadscaleCall& call,
                      httplib::Response& res) {
  const json& body = call.body;
  HeadscalePreAuthKey key;
  if (std::string problem = ParseTags(state, body, &key.tags);
      !problem.empty()) {
    return Error(res, 400, 3, problem);
  }
  const std::string user = body.contains("user") ? IdText(body["user"]) : "";
  if (!user.empty()) {
    const HeadscaleUser* u = state.FindUser(user);
    if (u == nullptr) return PlainError(res, "record not found");
    key.user_id = u->id;
  } else if (state.generation() < 28) {
    return PlainError(res, "record not found");
  } else if (key.tags.empty()) {
    return PlainError(res, "auth-key must be either tagged or owned by user");
  }
  if (body.contains("expiration") && body["expiration"].is_string()) {
    std::string err;
    if (!absl::ParseTime(absl::RFC3339_full, body["expiration"],
                         &key.expiration, &err)) {
      return Error(res, 400, 3, absl::StrCat("invalid expiration: ", err));
    }
  }
  key.id = state.next_key_id++;
  key.key = state.generation() >= 28
                ? absl::StrCat("hskey-auth-", RandomHex(12), "-", RandomHex(64))
                : RandomHex(48);
  json reusable = body.value("reusable", json(false));
  json ephemeral = body.value("ephemeral", json(false));
  key.reusable = reusable.is_boolean() && reusable.get<bool>();
  key.ephemeral = ephemeral.is_boolean() && ephemeral.get<bool>();
  key.created = absl::Now();
  state.keys.push_back(key);
  Ok(res, {{"preAuthKey", state.KeyJson(key, false)}});
}

// GET /api/v1/preauthkey?user=<name (0.23) | id (0.26)>; 0.28: all keys
// (§2).
void ListPreAuthKeys(HeadscaleState& state, const HeadscaleCall& call,
                     httplib::Response& res) {
  uint64_t user_id = 0;
  if (state.generation() < 28) {
    const HeadscaleUser* u =
        state.FindUser(call.request.get_param_value("user"));
    if (u == nullptr) return PlainError(res, "record not found");
    user_id = u->id;
  }
  json keys = json::array();
  for (const HeadscalePreAuthKey& k : state.keys) {
    if (state.generation() < 28 && k.user_id != user_id) continue;
    keys.push_back(state.KeyJson(k, true));
  }
  Ok(res, {{"preAuthKeys", keys}});
}

// POST /api/v1/preauthkey/expire: {"user","key"} before 0.28 (user by name,
// then by id), {"id"} from 0.28 (§2, §7.6). An unknown key is a no-op.
void ExpirePreAuthKey(HeadscaleState& state, const HeadscaleCall& call,
                      httplib::Response& res) {
  const json& body = call.body;
  for (HeadscalePreAuthKey& k : state.keys) {
    if (state.generation() >= 28) {
      if (!body.contains("id") || IdText(body["id"]) != std::to_string(k.id)) {
        continue;
      }
    } else {
      if (body.value("key", "") != k.key) continue;
      const HeadscaleUser* u =
          state.FindUser(body.contains("user") ? IdText(body["user"]) : "");
      if (u == nullptr || u->id != k.user_id) {
        return PlainError(res, "preauth key does not belong to user");
      }
    }
    k.expiration = std::min(k.expiration, absl::Now());
    break;
  }
  Ok(res, json::object());
}

// GET /api/v1/node[?user=<user name>] (§7.1), sorted by id.
void ListNodes(HeadscaleState& state, const HeadscaleCall& call,
               httplib::Response& res) {
  const HeadscaleUser* user = nullptr;
  if (call.request.has_param("user")) {
    const std::string name = call.request.get_param_value("user");
    for (const HeadscaleUser& u : state.users) {
      if (u.name == name) user = &u;
    }
    if (user == nullptr) return PlainError(res, "record not found");
  }
  json nodes = json::array();
  for (const HeadscaleNode& n : state.nodes) {
    if (user != nullptr && n.user_id != user->id) continue;
    nodes.push_back(state.NodeJson(n));
  }
  Ok(res, {{"nodes", nodes}});
}

// An unknown node id: 500 "record not found" before 0.27, 404 from 0.27
// (§7.1).
void NodeNotFound(const HeadscaleState& state, httplib::Response& res) {
  if (state.minor() >= 27) return Error(res, 404, 5, "node not found");
  PlainError(res, "record not found");
}

// GET /api/v1/node/{id} (§7.1).
void GetNode(HeadscaleState& state, const HeadscaleCall& call,
             httplib::Response& res) {
  const HeadscaleNode* node = state.FindNode(call.request.matches[1].str());
  if (node == nullptr) return NodeNotFound(state, res);
  Ok(res, {{"node", state.NodeJson(*node)}});
}

// DELETE /api/v1/node/{id} (§7.1).
void DeleteNode(HeadscaleState& state, const HeadscaleCall& call,
                httplib::Response& res) {
  const HeadscaleNode* node = state.FindNode(call.request.matches[1].str());
  if (node == nullptr) return NodeNotFound(state, res);
  state.nodes.erase(state.nodes.begin() + (node - state.nodes.data()));
  Ok(res, json::object());
}

// POST /api/v1/node/{id}/approve_routes {"routes":[...]} (0.26+, §7.5):
// replaces the approved list; an exit route adds both 0.0.0.0/0 and ::/0;
// sorted, de-duplicated.
void ApproveRoutes(HeadscaleState& state, const HeadscaleCall& call,
                   httplib::Response& res) {
  HeadscaleNode* node = state.FindNode(call.request.matches[1].str());
  if (node == nullptr) return Error(res, 400, 3, "node not found");
  std::vector<std::string> routes;
  for (const json& r : call.body.value("routes", json::array())) {
    if (!r.is_string()) continue;
    routes.push_back(r.get<std::string>());
    if (routes.back() == "0.0.0.0/0") routes.push_back("::/0");
    if (routes.back() == "::/0") routes.push_back("0.0.0.0/0");
  }
  std::sort(routes.begin(), routes.end());
  routes.erase(std::unique(routes.begin(), routes.end()), routes.end());
  node->approved_routes = std::move(routes);
  Ok(res, {{"node", state.NodeJson(*node)}});
}

// GET /api/v1/routes (0.23–0.25, §7.5). Route id: node id * 100 + index.
void ListRoutes(HeadscaleState& state, const HeadscaleCall&,
                httplib::Response& res) {
  json routes = json::array();
  for (const HeadscaleNode& n : state.nodes) {
    for (size_t i = 0; i < n.available_routes.size(); ++i) {
      const std::string& prefix = n.available_routes[i];
      const bool enabled =
          std::find(n.approved_routes.begin(), n.approved_routes.end(),
                    prefix) != n.approved_routes.end();
      routes.push_back({{"id", std::to_string(n.id * 100 + i)},
                        {"node", state.NodeJson(n)},
                        {"prefix", prefix},
                        {"advertised", true},
                        {"enabled", enabled},
                        {"isPrimary", enabled}});
    }
  }
  Ok(res, {{"routes", routes}});
}

// POST /api/v1/routes/{id}/enable (0.23–0.25, §7.5).
void EnableRoute(HeadscaleState& state, const HeadscaleCall& call,
                 httplib::Response& res) {
  uint64_t id = 0;
  absl::SimpleAtoi(call.request.matches[1].str(), &id);
  HeadscaleNode* node = state.FindNode(std::to_string(id / 100));
  if (node == nullptr || id % 100 >= node->available_routes.size()) {
    return PlainError(res, "record not found");
  }
  const std::string& route = node->available_routes[id % 100];
  std::vector<std::string>& approved = node->approved_routes;
  if (std::find(approved.begin(), approved.end(), route) == approved.end()) {
    approved.push_back(route);
  }
  Ok(res, json::object());
}

// Lab-only POST /_lab/tailscale/login {"authkey","hostname","routes"}: a
// node's tailscaled registering with a pre-auth key. The key must exist, be
// unexpired and (single-use) unused. A node with the same hostname is logged
// in again (this simulator's rule, not Headscale's: facts §7.4).
void LabTailscaleLogin(HeadscaleState& state, const HeadscaleCall& call,
                       httplib::Response& res) {
  const std::string authkey = call.body.value("authkey", "");
  const std::string hostname = call.body.value("hostname", "");
  auto key = std::find_if(
      state.keys.begin(), state.keys.end(),
      [&](const HeadscalePreAuthKey& k) { return k.key == authkey; });
  if (key == state.keys.end()) return Error(res, 401, 16, "invalid authkey");
  const absl::Time now = absl::Now();
  if (key->expiration <= now) return Error(res, 401, 16, "authkey expired");
  if (key->used && !key->reusable) {
    return Error(res, 401, 16, "authkey already used");
  }
  key->used = true;
  auto node =
      std::find_if(state.nodes.begin(), state.nodes.end(),
                   [&](const HeadscaleNode& n) { return n.name == hostname; });
  if (node == state.nodes.end()) {
    HeadscaleNode created;
    created.id = state.next_node_id++;
    created.name = hostname;
    created.machine_key = RandomHex(64);
    created.node_key = RandomHex(64);
    created.disco_key = RandomHex(64);
    created.created = now;
    state.nodes.push_back(created);
    node = state.nodes.end() - 1;
  }
  node->user_id = key->user_id;
  node->key_id = key->id;
  node->last_seen = now;
  node->available_routes.clear();
  for (const json& r : call.body.value("routes", json::array())) {
    if (r.is_string()) node->available_routes.push_back(r.get<std::string>());
  }
  Ok(res, state.NodeJson(*node));
}

}  // namespace

const std::vector<HeadscaleRoute>& HeadscaleRoutes() {
  constexpr bool kApiKey = true, kLabOnly = false;
  constexpr bool kJsonBody = true, kNoBody = false;
  // clang-format off
  static const auto* routes = new std::vector<HeadscaleRoute>{
      // method         pattern                                 handler            auth      body       generations
      {Method::kGet,    "/api/v1/user",                         ListUsers,         kApiKey,  kNoBody},
      {Method::kPost,   "/api/v1/user",                         CreateUser,        kApiKey,  kJsonBody},
      {Method::kPost,   "/api/v1/preauthkey",                   CreatePreAuthKey,  kApiKey,  kJsonBody},
      {Method::kGet,    "/api/v1/preauthkey",                   ListPreAuthKeys,   kApiKey,  kNoBody},
      {Method::kPost,   "/api/v1/preauthkey/expire",            ExpirePreAuthKey,  kApiKey,  kJsonBody},
      {Method::kGet,    "/api/v1/node",                         ListNodes,         kApiKey,  kNoBody},
      {Method::kGet,    R"(/api/v1/node/(\d+))",                GetNode,           kApiKey,  kNoBody},
      {Method::kDelete, R"(/api/v1/node/(\d+))",                DeleteNode,        kApiKey,  kNoBody},
      {Method::kPost,   R"(/api/v1/node/(\d+)/approve_routes)", ApproveRoutes,     kApiKey,  kJsonBody, 26, 28},
      {Method::kGet,    "/api/v1/routes",                       ListRoutes,        kApiKey,  kNoBody,   23, 23},
      {Method::kPost,   R"(/api/v1/routes/(\d+)/enable)",       EnableRoute,       kApiKey,  kNoBody,   23, 23},
      {Method::kPost,   "/_lab/tailscale/login",                LabTailscaleLogin, kLabOnly, kJsonBody},
  };
  // clang-format on
  return *routes;
}

void ServeHeadscaleApi(ModuleServer& server, HeadscaleState& state,
                       const std::string& api_key) {
  for (const HeadscaleRoute& route : HeadscaleRoutes()) {
    ModuleServer::Handler handler =
        [&state, route, bearer = absl::StrCat("Bearer ", api_key)](
            const httplib::Request& req, httplib::Response& res,
            const FaultDecision&) {
          if (route.needs_api_key &&
              req.get_header_value("Authorization") != bearer) {
            res.status = 401;
            res.set_content("Unauthorized", "text/plain");
            return;
          }
          if (state.generation() < route.min_generation ||
              state.generation() > route.max_generation) {
            return Error(res, 404, 5, "Not Found");
          }
          HeadscaleCall call{req, nullptr};
          if (route.json_body) {
            call.body = json::parse(req.body, nullptr, false);
            if (call.body.is_discarded() || !call.body.is_object()) {
              return Error(res, 400, 3, "invalid JSON");
            }
          }
          absl::MutexLock lock(&state.mu);
          route.handler(state, call, res);
        };
    switch (route.method) {
      case Method::kGet:
        server.Get(route.pattern, std::move(handler));
        break;
      case Method::kPost:
        server.Post(route.pattern, std::move(handler));
        break;
      case Method::kDelete:
        server.Delete(route.pattern, std::move(handler));
        break;
    }
  }
}

}  // namespace coldstart::lab
