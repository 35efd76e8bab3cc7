// /access: users, API tokens, roles and ACLs.
#include <algorithm>
#include <optional>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "lab/pve/pve_api.h"
#include "lab/pve/pve_api_internal.h"
#include "nlohmann/json.hpp"
#include "re2/re2.h"

namespace coldstart::lab {
namespace {

using json = nlohmann::json;
using pve_internal::CheckSchema;
using pve_internal::Data;
using pve_internal::Fail;
using pve_internal::Forbidden;
using pve_internal::Param;
using pve_internal::ParamError;
using pve_internal::UriUnescape;

// A token as Proxmox describes it, without its id.
json TokenJson(bool privsep, int64_t expire, const std::string& comment) {
  json e = {{"privsep", privsep ? 1 : 0}, {"expire", expire}};
  if (!comment.empty()) e["comment"] = comment;
  return e;
}

json UserJson(const std::string& userid, bool enable, int64_t expire,
              const std::string& comment) {
  json e = {{"userid", userid}, {"enable", enable ? 1 : 0}, {"expire", expire}};
  if (!comment.empty()) e["comment"] = comment;
  return e;
}

// The `privs` parameter of a role call; 500 naming an unknown privilege.
std::optional<PveResponse> ParsePrivileges(const PveRequest& r,
                                           std::set<std::string>* out) {
  for (absl::string_view p : absl::StrSplit(
           Param(r, "privs"), absl::ByAnyChar(", ;"), absl::SkipEmpty())) {
    if (!PveKnownPrivileges().count(std::string(p))) {
      return Fail(500, absl::StrCat("invalid privilege '", p, "'"));
    }
    out->insert(std::string(p));
  }
  return std::nullopt;
}

}  // namespace

PveResponse PveApi::ListUsers(const PveRequest& r, const Caller& c,
                              const PathArgs& args) {
  PveResponse res;
  if (!CheckSchema(r, {"full", "enabled"}, &res)) return res;
  json out = json::array();
  bool audit =
      Has(c, "/access/groups", "User.Modify") || Has(c, "/access", "Sys.Audit");
  for (const auto& [id, u] : users_) {
    if (!audit && id != c.userid) continue;
    json e = UserJson(id, u.enable, u.expire, u.comment);
    if (Param(r, "full") == "1") {
      json tokens = json::array();
      for (const auto& [tid, t] : u.tokens) {
        tokens.push_back(TokenJson(t.privsep, t.expire, t.comment));
        tokens.back()["tokenid"] = tid;
      }
      e["tokens"] = tokens;
    }
    out.push_back(e);
  }
  return Data(out);
}

PveResponse PveApi::CreateUser(const PveRequest& r, const Caller& c,
                               const PathArgs& args) {
  static const RE2 kUserid(R"([^\s:/]+@[A-Za-z][A-Za-z0-9._-]*)");
  PveResponse res;
  if (!CheckSchema(r,
                   {"userid", "comment", "enable", "expire", "email",
                    "firstname", "lastname", "groups", "password", "keys"},
                   &res)) {
    return res;
  }
  std::string userid = Param(r, "userid");
  if (!RE2::FullMatch(userid, kUserid)) {
    return ParamError(
        {{"userid",
          "invalid format - value does not look like a valid user ID"}});
  }
  std::string realm = userid.substr(userid.find('@') + 1);
  if (realm != "pve" && realm != "pam") {
    return Fail(500, absl::StrCat("create user failed: domain '", realm,
                                  "' does not exist"));
  }
  if (!Has(c, "/access/groups", "User.Modify")) {
    return Forbidden("/access/groups", "User.Modify");
  }
  if (!Has(c, "/access/realm/" + realm, "Realm.AllocateUser")) {
    return Forbidden("/access/realm/" + realm, "Realm.AllocateUser");
  }
  if (users_.count(userid)) {
    return Fail(500, absl::StrCat("create user failed: user '", userid,
                                  "' already exists"));
  }
  User u;
  u.comment = Param(r, "comment");
  u.enable = Param(r, "enable", "1") == "1";
  absl::SimpleAtoi(Param(r, "expire", "0"), &u.expire);
  users_[userid] = u;
  return Data(nullptr);
}

PveResponse PveApi::GetUser(const PveRequest& r, const Caller& c,
                            const PathArgs& args) {
  std::string userid = UriUnescape(args.userid);
  auto u = users_.find(userid);
  if (u == users_.end()) {
    return Fail(500, absl::StrCat("no such user ('", userid, "')"));
  }
  if (userid != c.userid && !Has(c, "/access/groups", "User.Modify") &&
      !Has(c, "/access", "Sys.Audit")) {
    return Forbidden("/access/groups", "User.Modify");
  }
  const User& user = u->second;
  json e = UserJson(userid, user.enable, user.expire, user.comment);
  json tokens = json::object();
  for (const auto& [tid, t] : user.tokens) {
    tokens[tid] = TokenJson(t.privsep, t.expire, t.comment);
  }
  e["tokens"] = tokens;
  return Data(e);
}

std::optional<PveResponse> PveApi::CheckTokenOwner(const Caller& c,
                                                   const PathArgs& args) {
  std::string userid = UriUnescape(args.userid);
  if (!users_.count(userid)) {
    return Fail(500, absl::StrCat("no such user ('", userid, "')"));
  }
  if (userid != c.userid && !Has(c, "/access/groups", "User.Modify")) {
    return Forbidden("/access/groups", "User.Modify");
  }
  return std::nullopt;
}

PveResponse PveApi::ListTokens(const PveRequest& r, const Caller& c,
                               const PathArgs& args) {
  if (std::optional<PveResponse> refused = CheckTokenOwner(c, args)) {
    return *refused;
  }
  json out = json::array();
  for (const auto& [tid, t] : users_[UriUnescape(args.userid)].tokens) {
    out.push_back(TokenJson(t.privsep, t.expire, t.comment));
    out.back()["tokenid"] = tid;
  }
  return Data(out);
}

PveResponse PveApi::CreateToken(const PveRequest& r, const Caller& c,
                                const PathArgs& args) {
  static const RE2 kTokenid(R"([A-Za-z][A-Za-z0-9._-]+)");
  PveResponse res;
  if (!CheckSchema(r, {"userid", "tokenid", "privsep", "expire", "comment"},
                   &res)) {
    return res;
  }
  if (!RE2::FullMatch(args.tokenid, kTokenid)) {
    return ParamError({{"tokenid", "invalid format - invalid token ID"}});
  }
  std::string userid = UriUnescape(args.userid);
  std::map<std::string, Token>& tokens = users_[userid].tokens;
  if (tokens.count(args.tokenid)) {
    return ParamError({{"tokenid", "Token already exists."}});
  }
  Token t;
  t.privsep = Param(r, "privsep", "1") == "1";
  t.comment = Param(r, "comment");
  absl::SimpleAtoi(Param(r, "expire", "0"), &t.expire);
  t.secret = NewUuid();
  tokens[args.tokenid] = t;
  json info = {{"privsep", t.privsep ? 1 : 0}};
  if (t.expire) info["expire"] = t.expire;
  if (!t.comment.empty()) info["comment"] = t.comment;
  return Data({{"full-tokenid", absl::StrCat(userid, "!", args.tokenid)},
               {"info", info},
               {"value", t.secret}});
}

PveResponse PveApi::GetToken(const PveRequest& r, const Caller& c,
                             const PathArgs& args) {
  std::string userid = UriUnescape(args.userid);
  const std::map<std::string, Token>& tokens = users_[userid].tokens;
  auto t = tokens.find(args.tokenid);
  if (t == tokens.end()) {
    return Fail(500, absl::StrCat("no such token '", args.tokenid,
                                  "' for user '", userid, "'"));
  }
  return Data(
      TokenJson(t->second.privsep, t->second.expire, t->second.comment));
}

PveResponse PveApi::DeleteToken(const PveRequest& r, const Caller& c,
                                const PathArgs& args) {
  std::string userid = UriUnescape(args.userid);
  if (!users_[userid].tokens.erase(args.tokenid)) {
    return Fail(500, absl::StrCat("no such token '", args.tokenid,
                                  "' for user '", userid, "'"));
  }
  std::string full = absl::StrCat(userid, "!", args.tokenid);
  acls_.erase(std::remove_if(acls_.begin(), acls_.end(),
                             [&](const Acl& a) {
                               return a.type == "token" && a.ugid == full;
                             }),
              acls_.end());
  return Data(nullptr);
}

PveResponse PveApi::ListRoles(const PveRequest& r, const Caller& c,
                              const PathArgs& args) {
  json out = json::array();
  for (const auto& [id, privs] : roles_) {
    out.push_back({{"roleid", id},
                   {"privs", absl::StrJoin(privs, ",")},
                   {"special", builtin_roles_.count(id) ? 1 : 0}});
  }
  return Data(out);
}

PveResponse PveApi::CreateRole(const PveRequest& r, const Caller& c,
                               const PathArgs& args) {
  PveResponse res;
  if (!CheckSchema(r, {"roleid", "privs"}, &res)) return res;
  if (!Has(c, "/access", "Sys.Modify")) {
    return Forbidden("/access", "Sys.Modify");
  }
  std::string roleid = Param(r, "roleid");
  if (roles_.count(roleid)) {
    return Fail(500, absl::StrCat("role '", roleid, "' already exists"));
  }
  std::set<std::string> privs;
  if (std::optional<PveResponse> bad = ParsePrivileges(r, &privs)) return *bad;
  roles_[roleid] = privs;
  return Data(nullptr);
}

PveResponse PveApi::UpdateRole(const PveRequest& r, const Caller& c,
                               const PathArgs& args) {
  PveResponse res;
  if (!CheckSchema(r, {"roleid", "privs", "append"}, &res)) return res;
  if (!Has(c, "/access", "Sys.Modify")) {
    return Forbidden("/access", "Sys.Modify");
  }
  const std::string& roleid = args.roleid;
  if (!roles_.count(roleid)) {
    return Fail(500, absl::StrCat("role '", roleid, "' does not exist"));
  }
  if (builtin_roles_.count(roleid)) {
    return Fail(500, absl::StrCat("cannot modify role '", roleid, "'"));
  }
  std::set<std::string> privs;
  if (std::optional<PveResponse> bad = ParsePrivileges(r, &privs)) return *bad;
  if (Param(r, "append") == "1") {
    roles_[roleid].insert(privs.begin(), privs.end());
  } else {
    roles_[roleid] = privs;
  }
  return Data(nullptr);
}

PveResponse PveApi::ListAcl(const PveRequest& r, const Caller& c,
                            const PathArgs& args) {
  json out = json::array();
  for (const Acl& a : acls_) {
    if (!Has(c, a.path, "Sys.Audit") && !Has(c, a.path, "Permissions.Modify")) {
      continue;
    }
    out.push_back({{"path", a.path},
                   {"type", a.type},
                   {"ugid", a.ugid},
                   {"roleid", a.role},
                   {"propagate", a.propagate ? 1 : 0}});
  }
  return Data(out);
}

PveResponse PveApi::UpdateAcl(const PveRequest& r, const Caller& c,
                              const PathArgs& args) {
  PveResponse res;
  if (!CheckSchema(
          r,
          {"path", "roles", "users", "groups", "tokens", "propagate", "delete"},
          &res)) {
    return res;
  }
  std::string path = Param(r, "path");
  if (path.empty() || path[0] != '/') {
    return ParamError({{"path", "invalid ACL path"}});
  }
  if (!Has(c, path, "Permissions.Modify")) {
    return Forbidden(path, "Permissions.Modify");
  }
  bool remove = Param(r, "delete") == "1";
  bool propagate = Param(r, "propagate", "1") == "1";
  std::vector<std::pair<std::string, std::string>> subjects;  // (type, ugid)
  for (absl::string_view u :
       absl::StrSplit(Param(r, "users"), ',', absl::SkipEmpty())) {
    if (!users_.count(std::string(u))) {
      return Fail(500, absl::StrCat("user '", u, "' does not exist"));
    }
    subjects.push_back({"user", std::string(u)});
  }
  for (absl::string_view t :
       absl::StrSplit(Param(r, "tokens"), ',', absl::SkipEmpty())) {
    std::string full(t);
    size_t bang = full.find('!');
    auto u = users_.find(full.substr(0, bang));
    if (bang == std::string::npos || u == users_.end() ||
        !u->second.tokens.count(full.substr(bang + 1))) {
      return Fail(500, absl::StrCat("no such token '", full, "'"));
    }
    subjects.push_back({"token", full});
  }
  for (absl::string_view role :
       absl::StrSplit(Param(r, "roles"), ',', absl::SkipEmpty())) {
    if (!roles_.count(std::string(role))) {
      return Fail(500, absl::StrCat("role '", role, "' does not exist"));
    }
    for (const auto& [type, ugid] : subjects) {
      auto same = [&](const Acl& a) {
        return a.path == path && a.type == type && a.ugid == ugid &&
               a.role == role;
      };
      acls_.erase(std::remove_if(acls_.begin(), acls_.end(), same),
                  acls_.end());
      if (!remove) {
        acls_.push_back(Acl{path, type, ugid, std::string(role), propagate});
      }
    }
  }
  return Data(nullptr);
}

}  // namespace coldstart::lab
