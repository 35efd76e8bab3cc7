#include "lab/headscale/headscale_module.h"

#include <sys/stat.h>

#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "httplib.h"
#include "lab/listen_address.h"
#include "lab/tls/lab_tls.h"
#include "lab/tls/tls_module_server.h"
#include "lib/base/status_macros.h"
#include "nlohmann/json.hpp"

namespace coldstart::lab {

using nlohmann::json;

namespace {

std::string RandomHex(int n) {
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  FILE* f = std::fopen("/dev/urandom", "rb");
  for (int i = 0; i < n; ++i) {
    int c = f ? std::fgetc(f) : 0;
    out += kHex[c & 15];
  }
  if (f) std::fclose(f);
  return out;
}

std::string Rfc3339(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
}

}  // namespace

class HeadscaleState {
 public:
  // Generation: 23 (0.23-0.25), 26 (0.26-0.27), 28 (0.28+).
  explicit HeadscaleState(int generation) : gen_(generation) {}

  struct User {
    uint64_t id;
    std::string name;
    absl::Time created;
  };
  struct Key {
    uint64_t id;
    std::string key;
    uint64_t user_id;  // 0: none (tag-only, 0.28)
    bool reusable = false, ephemeral = false, used = false;
    absl::Time expiration = absl::UniversalEpoch();  // zero time when absent
    absl::Time created;
    std::vector<std::string> tags;
  };
  struct NodeEntry {
    uint64_t id;
    std::string name;
    uint64_t user_id;
    std::vector<std::string> available, approved;
    absl::Time created;
  };

  int gen_;
  absl::Mutex mu;
  std::vector<User> users;
  std::vector<Key> keys;
  std::vector<NodeEntry> nodes;
  uint64_t next_user = 1, next_key = 1, next_node = 1;

  json UserJson(uint64_t id) {
    for (const User& u : users) {
      if (u.id != id) continue;
      json j = {{"id", std::to_string(u.id)},
                {"name", u.name},
                {"createdAt", Rfc3339(u.created)}};
      if (gen_ >= 26) {
        j["displayName"] = "";
        j["email"] = "";
        j["providerId"] = "";
        j["provider"] = "";
        j["profilePicUrl"] = "";
      }
      return j;
    }
    return nullptr;
  }
  json KeyJson(const Key& k, bool listing) {
    json j = {{"id", std::to_string(k.id)},
              {"key", k.key},
              {"reusable", k.reusable},
              {"ephemeral", k.ephemeral},
              {"used", k.used},
              {"expiration", Rfc3339(k.expiration)},
              {"createdAt", Rfc3339(k.created)},
              {"aclTags", k.tags}};
    if (gen_ >= 28 && listing) {
      j["key"] = absl::StrCat(k.key.substr(0, 23), "-***");
    }
    if (gen_ < 26) {
      j["user"] = UserJson(k.user_id).is_null() ? json("")
                                                : UserJson(k.user_id)["name"];
    } else {
      j["user"] = UserJson(k.user_id);
    }
    return j;
  }
  json NodeJson(const NodeEntry& n) {
    json j = {{"id", std::to_string(n.id)},
              {"name", n.name},
              {"givenName", n.name},
              {"user", UserJson(n.user_id)},
              {"ipAddresses", json::array({absl::StrCat("100.64.0.", n.id)})},
              {"online", true},
              {"createdAt", Rfc3339(n.created)},
              {"registerMethod", "REGISTER_METHOD_AUTH_KEY"}};
    if (gen_ >= 26) {
      j["availableRoutes"] = n.available;
      j["approvedRoutes"] = n.approved;
      std::vector<std::string> serving;
      for (const auto& r : n.available) {
        for (const auto& a : n.approved) {
          if (a == r) serving.push_back(r);
        }
      }
      j["subnetRoutes"] = serving;
    }
    return j;
  }
  const User* FindUser(const std::string& name_or_id) {
    for (const User& u : users) {
      if (gen_ < 26 ? u.name == name_or_id
                    : std::to_string(u.id) == name_or_id) {
        return &u;
      }
    }
    return nullptr;
  }
};

namespace {

void Error(httplib::Response& res, int http, int code,
           const std::string& message) {
  res.status = http;
  res.set_content(
      json({{"code", code}, {"message", message}, {"details", json::array()}})
          .dump(),
      "application/json");
}

void Ok(httplib::Response& res, const json& body) {
  res.status = 200;
  res.set_content(body.dump(), "application/json");
}

// Input ids: string or number.
std::string IdText(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_unsigned() || v.is_number_integer()) {
    return std::to_string(v.get<uint64_t>());
  }
  return "";
}

bool ParseRfc3339(const std::string& text, absl::Time* out) {
  std::string err;
  return absl::ParseTime(absl::RFC3339_full, text, out, &err);
}

}  // namespace

HeadscaleModule::HeadscaleModule() = default;
HeadscaleModule::~HeadscaleModule() { Stop(); }

absl::Status HeadscaleModule::Start(ModuleContext& context) {
  const auto& mesh = context.spec->spec().mesh();
  std::string version =
      mesh.api_version().empty() ? "0.26" : mesh.api_version();
  if (auto it = context.options.find("version"); it != context.options.end()) {
    version = it->second;
  }
  std::vector<std::string> parts = absl::StrSplit(version, '.');
  int minor = 0;
  if (parts.size() < 2 || !absl::SimpleAtoi(parts[1], &minor) || minor < 23) {
    return absl::InvalidArgumentError(
        absl::StrCat("headscale: unsupported API version \"", version, "\""));
  }
  const int gen = minor >= 28 ? 28 : (minor >= 26 ? 26 : 23);
  state_ = std::make_unique<HeadscaleState>(gen);

  ASSIGN_OR_RETURN(HostPort hp, ModuleListenAddress(context, "headscale",
                                                    mesh.headscale_url(), ""));
  auto files =
      IssueLabServerCertificate(context.workdir, "headscale", {hp.host});
  if (!files.ok()) return files.status();

  // The admin's API key, as `headscale apikeys create` would print it.
  const std::string api_key =
      gen >= 28 ? absl::StrCat("hskey-api-", RandomHex(12), "-", RandomHex(32))
                : absl::StrCat(RandomHex(7), ".", RandomHex(32));
  const std::string key_path =
      absl::StrCat(context.workdir, "/headscale-api-key");
  {
    FILE* f = std::fopen(key_path.c_str(), "w");
    if (f == nullptr) {
      return absl::PermissionDeniedError("headscale: cannot write the API key");
    }
    fchmod(fileno(f), 0600);
    std::fputs(api_key.c_str(), f);
    std::fclose(f);
  }

  ModuleServerOptions options;
  options.module = "headscale";
  options.host = hp.host;
  options.port = context.any_port ? 0 : hp.port;
  options.faults = context.faults;
  options.requests = context.requests;
  server_ = std::make_unique<TlsModuleServer>(options, files->cert_path,
                                              files->key_path);
  HeadscaleState* s = state_.get();
  auto authed = [api_key](const httplib::Request& req, httplib::Response& res) {
    if (req.get_header_value("Authorization") != "Bearer " + api_key) {
      res.status = 401;
      res.set_content("Unauthorized", "text/plain");
      return false;
    }
    return true;
  };
  auto body_json = [](const httplib::Request& req, json* out) {
    *out = json::parse(req.body, nullptr, false);
    return !out->is_discarded() && out->is_object();
  };

  server_->Get("/api/v1/user",
               [s, authed](const httplib::Request& req, httplib::Response& res,
                           const FaultDecision&) {
                 if (!authed(req, res)) return;
                 absl::MutexLock lock(&s->mu);
                 json users = json::array();
                 for (const auto& u : s->users) {
                   if (s->gen_ >= 26 && req.has_param("name") &&
                       req.get_param_value("name") != u.name) {
                     continue;
                   }
                   if (s->gen_ >= 26 && req.has_param("id") &&
                       req.get_param_value("id") != std::to_string(u.id)) {
                     continue;
                   }
                   users.push_back(s->UserJson(u.id));
                 }
                 Ok(res, {{"users", users}});
               });
  server_->Post(
      "/api/v1/user",
      [s, authed, body_json](const httplib::Request& req,
                             httplib::Response& res, const FaultDecision&) {
        if (!authed(req, res)) return;
        json body;
        if (!body_json(req, &body)) return Error(res, 400, 3, "invalid JSON");
        const std::string name = body.value("name", "");
        absl::MutexLock lock(&s->mu);
        for (const auto& u : s->users) {
          if (u.name == name) {
            return Error(res, 500, 2, "UNIQUE constraint failed: users.name");
          }
        }
        if (name.size() < 2 || (name[0] >= '0' && name[0] <= '9')) {
          return Error(res, 500, 2, "invalid username");
        }
        s->users.push_back({s->next_user++, name, absl::Now()});
        Ok(res, {{"user", s->UserJson(s->users.back().id)}});
      });
  server_->Post("/api/v1/preauthkey", [s, authed, body_json](
                                          const httplib::Request& req,
                                          httplib::Response& res,
                                          const FaultDecision&) {
    if (!authed(req, res)) return;
    json body;
    if (!body_json(req, &body)) return Error(res, 400, 3, "invalid JSON");
    absl::MutexLock lock(&s->mu);
    HeadscaleState::Key key;
    const std::string user = body.contains("user") ? IdText(body["user"]) : "";
    std::vector<std::string> tags;
    const json& tag_json = body.contains("aclTags")    ? body["aclTags"]
                           : body.contains("acl_tags") ? body["acl_tags"]
                                                       : json::array();
    for (const auto& t : tag_json) {
      const std::string tag = t.is_string() ? t.get<std::string>() : "";
      if (tag.rfind("tag:", 0) != 0 || tag.find(' ') != std::string::npos) {
        return Error(res, 400, 3,
                     absl::StrCat("tag \"", tag, "\" must start with tag:"));
      }
      tags.push_back(tag);
    }
    if (user.empty()) {
      if (s->gen_ < 28 || tags.empty()) {
        return Error(res, 500, 2,
                     s->gen_ >= 28
                         ? "auth-key must be either tagged or owned by user"
                         : "record not found");
      }
      key.user_id = 0;
    } else {
      const HeadscaleState::User* u = s->FindUser(user);
      if (u == nullptr) return Error(res, 500, 2, "record not found");
      key.user_id = u->id;
    }
    key.id = s->next_key++;
    key.key = s->gen_ >= 28 ? absl::StrCat("hskey-auth-", RandomHex(12), "-",
                                           RandomHex(64))
                            : RandomHex(48);
    key.reusable = body.value("reusable", false);
    key.ephemeral = body.value("ephemeral", false);
    key.created = absl::Now();
    key.tags = tags;
    if (body.contains("expiration") && body["expiration"].is_string()) {
      if (!ParseRfc3339(body["expiration"].get<std::string>(),
                        &key.expiration)) {
        return Error(res, 400, 3, "invalid expiration");
      }
    }
    s->keys.push_back(key);
    Ok(res, {{"preAuthKey", s->KeyJson(key, false)}});
  });
  server_->Get("/api/v1/preauthkey", [s, authed](const httplib::Request& req,
                                                 httplib::Response& res,
                                                 const FaultDecision&) {
    if (!authed(req, res)) return;
    absl::MutexLock lock(&s->mu);
    uint64_t user_id = 0;
    if (s->gen_ < 28) {
      const HeadscaleState::User* u = s->FindUser(req.get_param_value("user"));
      if (u == nullptr) return Error(res, 500, 2, "record not found");
      user_id = u->id;
    }
    json keys = json::array();
    for (const auto& k : s->keys) {
      if (s->gen_ < 28 && k.user_id != user_id) continue;
      keys.push_back(s->KeyJson(k, true));
    }
    Ok(res, {{"preAuthKeys", keys}});
  });
  server_->Post("/api/v1/preauthkey/expire", [s, authed, body_json](
                                                 const httplib::Request& req,
                                                 httplib::Response& res,
                                                 const FaultDecision&) {
    if (!authed(req, res)) return;
    json body;
    if (!body_json(req, &body)) return Error(res, 400, 3, "invalid JSON");
    absl::MutexLock lock(&s->mu);
    for (auto& k : s->keys) {
      bool match;
      if (s->gen_ >= 28) {
        match =
            body.contains("id") && IdText(body["id"]) == std::to_string(k.id);
      } else {
        match = body.value("key", "") == k.key;
        if (match) {
          const HeadscaleState::User* u =
              s->FindUser(body.contains("user") ? IdText(body["user"]) : "");
          if (u == nullptr || u->id != k.user_id) {
            return Error(res, 500, 2, "preauth key does not belong to user");
          }
        }
      }
      if (match) {
        k.expiration = std::min(k.expiration, absl::Now());
        return Ok(res, json::object());
      }
    }
    // ≤0.29: expiring an unknown key is a no-op reply.
    Ok(res, json::object());
  });
  server_->Get("/api/v1/node",
               [s, authed](const httplib::Request& req, httplib::Response& res,
                           const FaultDecision&) {
                 if (!authed(req, res)) return;
                 absl::MutexLock lock(&s->mu);
                 json nodes = json::array();
                 for (const auto& n : s->nodes) nodes.push_back(s->NodeJson(n));
                 Ok(res, {{"nodes", nodes}});
               });
  server_->Post(
      R"(/api/v1/node/(\d+)/approve_routes)",
      [s, authed, body_json](const httplib::Request& req,
                             httplib::Response& res, const FaultDecision&) {
        if (!authed(req, res)) return;
        if (s->gen_ < 26) return Error(res, 404, 5, "Not Found");
        json body;
        if (!body_json(req, &body)) {
          return Error(res, 400, 3, "invalid JSON");
        }
        absl::MutexLock lock(&s->mu);
        for (auto& n : s->nodes) {
          if (std::to_string(n.id) != req.matches[1]) continue;
          n.approved.clear();
          for (const auto& r : body.value("routes", json::array())) {
            n.approved.push_back(r.get<std::string>());
          }
          return Ok(res, {{"node", s->NodeJson(n)}});
        }
        Error(res, 500, 2, "record not found");
      });
  server_->Get("/api/v1/routes",
               [s, authed](const httplib::Request& req, httplib::Response& res,
                           const FaultDecision&) {
                 if (!authed(req, res)) return;
                 if (s->gen_ >= 26) return Error(res, 404, 5, "Not Found");
                 absl::MutexLock lock(&s->mu);
                 json routes = json::array();
                 for (const auto& n : s->nodes) {
                   for (size_t i = 0; i < n.available.size(); ++i) {
                     bool enabled = false;
                     for (const auto& a : n.approved)
                       enabled |= a == n.available[i];
                     routes.push_back({{"id", std::to_string(n.id * 100 + i)},
                                       {"node", s->NodeJson(n)},
                                       {"prefix", n.available[i]},
                                       {"advertised", true},
                                       {"enabled", enabled},
                                       {"isPrimary", enabled}});
                   }
                 }
                 Ok(res, {{"routes", routes}});
               });
  server_->Post(R"(/api/v1/routes/(\d+)/enable)",
                [s, authed](const httplib::Request& req, httplib::Response& res,
                            const FaultDecision&) {
                  if (!authed(req, res)) return;
                  if (s->gen_ >= 26) return Error(res, 404, 5, "Not Found");
                  uint64_t id = 0;
                  absl::SimpleAtoi(req.matches[1].str(), &id);
                  absl::MutexLock lock(&s->mu);
                  for (auto& n : s->nodes) {
                    if (n.id == id / 100 && id % 100 < n.available.size()) {
                      const std::string& route = n.available[id % 100];
                      bool have = false;
                      for (const auto& a : n.approved) have |= a == route;
                      if (!have) n.approved.push_back(route);
                      return Ok(res, json::object());
                    }
                  }
                  Error(res, 500, 2, "record not found");
                });
  // Lab-only: a node's tailscaled logging in with a pre-auth key.
  server_->Post(
      "/_lab/tailscale/login",
      [s, body_json](const httplib::Request& req, httplib::Response& res,
                     const FaultDecision&) {
        json body;
        if (!body_json(req, &body)) return Error(res, 400, 3, "invalid JSON");
        const std::string authkey = body.value("authkey", "");
        const std::string hostname = body.value("hostname", "");
        absl::MutexLock lock(&s->mu);
        for (auto& k : s->keys) {
          if (k.key != authkey) continue;
          if (k.expiration <= absl::Now()) {
            return Error(res, 401, 16, "authkey expired");
          }
          if (k.used && !k.reusable) {
            return Error(res, 401, 16, "authkey already used");
          }
          k.used = true;
          HeadscaleState::NodeEntry* node = nullptr;
          for (auto& n : s->nodes) {
            if (n.name == hostname) node = &n;
          }
          if (node == nullptr) {
            s->nodes.push_back(
                {s->next_node++, hostname, k.user_id, {}, {}, absl::Now()});
            node = &s->nodes.back();
          }
          node->user_id = k.user_id;
          node->available.clear();
          for (const auto& r : body.value("routes", json::array())) {
            node->available.push_back(r.get<std::string>());
          }
          return Ok(res, s->NodeJson(*node));
        }
        Error(res, 401, 16, "invalid authkey");
      });
  return server_->Start();
}

std::map<std::string, std::string> HeadscaleModule::Listeners() const {
  if (!server_) return {};
  return {{"https", server_->address()}};
}

void HeadscaleModule::Stop() {
  if (server_) server_->Stop();
}

}  // namespace coldstart::lab
