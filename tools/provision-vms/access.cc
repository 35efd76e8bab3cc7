#include "tools/provision-vms/access.h"

#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "lib/base/status_macros.h"
#include "lib/secrets/secret.h"
#include "nlohmann/json.hpp"

namespace coldstart {
namespace {

using json = nlohmann::json;

class AccessConverger {
 public:
  AccessConverger(ProvisionContext& context, PveClient& admin, Keystore& store)
      : context_(context), admin_(admin), keystore_(store) {}

  absl::StatusOr<AccessResult> Run();

 private:
  const v1::ProxmoxSpec& pve() const { return context_.spec().proxmox(); }
  bool dry() const { return context_.dry_run(); }

  absl::Status EnsureRoles();
  absl::Status EnsureUsers();
  absl::Status EnsureAcls();
  absl::Status EnsureToken(const v1::ProxmoxUser& user,
                           const v1::ProxmoxToken& token,
                           const json& pve_tokens);
  absl::StatusOr<std::string> TokenAction(const v1::ProxmoxToken& token,
                                          const json& pve_tokens);
  absl::Status ReplaceToken(const v1::ProxmoxUser& user,
                            const v1::ProxmoxToken& token, bool exists);
  absl::Status CreateToken(const std::string& userid,
                           const v1::ProxmoxToken& token);

  ProvisionContext& context_;
  PveClient& admin_;
  Keystore& keystore_;
  AccessResult result_;
};

absl::StatusOr<AccessResult> AccessConverger::Run() {
  RETURN_IF_ERROR(EnsureRoles());
  RETURN_IF_ERROR(EnsureUsers());
  RETURN_IF_ERROR(EnsureAcls());
  return std::move(result_);
}

absl::Status AccessConverger::EnsureRoles() {
  ASSIGN_OR_RETURN(json roles, admin_.Get("/access/roles"));
  for (const auto& role : pve().roles()) {
    std::set<std::string> want(role.privileges().begin(),
                               role.privileges().end());
    std::optional<std::set<std::string>> have;
    for (const auto& r : roles) {
      if (PveString(r["roleid"]) != role.name()) continue;
      have.emplace();
      for (absl::string_view p :
           absl::StrSplit(PveString(r["privs"]), absl::ByAnyChar(", "),
                          absl::SkipEmpty())) {
        have->insert(std::string(p));
      }
    }
    if (have.has_value() && *have == want) continue;
    context_.Plan(
        absl::StrCat("role ", role.name(), ": ", have ? "update" : "create"));
    if (dry()) continue;
    std::string privs = absl::StrJoin(want, ",");
    if (have.has_value()) {
      RETURN_IF_ERROR(
          admin_.Put("/access/roles/" + role.name(), {{"privs", privs}})
              .status());
    } else {
      RETURN_IF_ERROR(admin_
                          .Post("/access/roles",
                                {{"roleid", role.name()}, {"privs", privs}})
                          .status());
    }
  }
  return absl::OkStatus();
}

absl::Status AccessConverger::EnsureUsers() {
  ASSIGN_OR_RETURN(json users, admin_.Get("/access/users", {{"full", "1"}}));
  for (const auto& user : pve().users()) {
    json tokens = json::array();
    bool exists = false;
    for (const auto& u : users) {
      if (PveString(u["userid"]) != user.userid()) continue;
      exists = true;
      if (u.contains("tokens") && u["tokens"].is_array()) tokens = u["tokens"];
    }
    if (!exists) {
      context_.Plan(absl::StrCat("user ", user.userid(), ": create"));
      if (!dry()) {
        PveParams params = {{"userid", user.userid()}};
        if (!user.comment().empty()) params["comment"] = user.comment();
        absl::Status s = admin_.Post("/access/users", params).status();
        if (!s.ok() && !absl::IsAlreadyExists(s)) return s;
      }
    }
    for (const auto& token : user.tokens()) {
      RETURN_IF_ERROR(EnsureToken(user, token, tokens));
    }
  }
  return absl::OkStatus();
}

// With privilege separation a token's rights are the intersection of its own
// ACLs and its user's, so both get the entry.
absl::Status AccessConverger::EnsureAcls() {
  ASSIGN_OR_RETURN(json acls, admin_.Get("/access/acl"));
  for (const auto& user : pve().users()) {
    for (const auto& acl : user.acls()) {
      std::vector<std::pair<std::string, std::string>> subjects = {
          {"user", user.userid()}};
      for (const auto& token : user.tokens()) {
        if (acl.token_id().empty() ? token.privilege_separation()
                                   : token.token_id() == acl.token_id()) {
          subjects.push_back(
              {"token", absl::StrCat(user.userid(), "!", token.token_id())});
        }
      }
      for (const auto& [type, ugid] : subjects) {
        bool present = false;
        for (const auto& a : acls) {
          present |=
              PveString(a["path"]) == acl.path() &&
              PveString(a["type"]) == type && PveString(a["ugid"]) == ugid &&
              PveString(a["roleid"]) == acl.role() &&
              PveInt(a["propagate"]).value_or(1) == (acl.propagate() ? 1 : 0);
        }
        if (present) continue;
        context_.Plan(absl::StrCat("acl ", acl.path(), " ", acl.role(), " -> ",
                                   type, " ", ugid, ": add"));
        if (dry()) continue;
        RETURN_IF_ERROR(admin_
                            .Put("/access/acl",
                                 {{"path", acl.path()},
                                  {"roles", acl.role()},
                                  {type == "user" ? "users" : "tokens", ugid},
                                  {"propagate", acl.propagate() ? "1" : "0"}})
                            .status());
      }
    }
  }
  return absl::OkStatus();
}

// "ok", "create", or "rotate (why)".
absl::StatusOr<std::string> AccessConverger::TokenAction(
    const v1::ProxmoxToken& token, const json& pve_tokens) {
  bool exists = false;
  for (const auto& t : pve_tokens) {
    exists |= PveString(t["tokenid"]) == token.token_id();
  }
  if (!exists) return std::string("create");
  absl::StatusOr<Secret> stored =
      keystore_.Lookup(context_.Item(token.secret().key()));
  if (absl::IsNotFound(stored.status())) {
    return std::string("rotate (secret not in the keystore)");
  }
  RETURN_IF_ERROR(stored.status());
  // Still the secret Proxmox knows? (It may have been rotated elsewhere.)
  absl::Status version = context_.Client(*stored).Get("/version").status();
  if (absl::IsPermissionDenied(version) &&
      absl::StrContains(version.message(), "401")) {
    return std::string("rotate (keystore secret no longer valid)");
  }
  RETURN_IF_ERROR(version);
  return std::string("ok");
}

absl::Status AccessConverger::EnsureToken(const v1::ProxmoxUser& user,
                                          const v1::ProxmoxToken& token,
                                          const json& pve_tokens) {
  std::string full = absl::StrCat(user.userid(), "!", token.token_id());
  ASSIGN_OR_RETURN(std::string action, TokenAction(token, pve_tokens));
  result_.token_actions[token.secret().key()] = action;
  result_.tokens_ensured.push_back(full);
  if (action == "ok") return absl::OkStatus();
  if (dry()) {
    context_.Plan(absl::StrCat("token ", full, ": ", action));
    return absl::OkStatus();
  }
  Events::StepId step = context_.events().Start("token", full);
  absl::Status s = ReplaceToken(user, token, action != "create");
  context_.events().End(step, s);
  if (!s.ok()) {
    return absl::Status(s.code(),
                        absl::StrCat("token ", full, ": ", s.message()));
  }
  context_.Say(absl::StrCat("token ", full, ": ", action, ", secret stored in ",
                            keystore_.Describe(), " as ",
                            token.secret().key()));
  return absl::OkStatus();
}

absl::Status AccessConverger::ReplaceToken(const v1::ProxmoxUser& user,
                                           const v1::ProxmoxToken& token,
                                           bool exists) {
  if (exists) {
    absl::Status deleted =
        admin_
            .Delete(absl::StrCat("/access/users/", user.userid(), "/token/",
                                 token.token_id()))
            .status();
    if (!deleted.ok() && !absl::IsNotFound(deleted)) return deleted;
  }
  return CreateToken(user.userid(), token);
}

absl::Status AccessConverger::CreateToken(const std::string& userid,
                                          const v1::ProxmoxToken& token) {
  std::string path =
      absl::StrCat("/access/users/", userid, "/token/", token.token_id());
  PveParams params = {{"privsep", token.privilege_separation() ? "1" : "0"}};
  if (!token.comment().empty()) params["comment"] = token.comment();
  absl::StatusOr<json> created = admin_.Post(path, params);
  if (absl::IsAlreadyExists(created.status())) {
    // Created by a run whose answer (and secret) was lost: rotate.
    RETURN_IF_ERROR(admin_.Delete(path).status());
    created = admin_.Post(path, params);
  }
  RETURN_IF_ERROR(created.status());
  std::string value = PveString((*created)["value"]);
  if (value.empty()) {
    return absl::UnavailableError(absl::StrCat("Proxmox created token ", userid,
                                               "!", token.token_id(),
                                               " but returned no secret"));
  }
  Secret credential(absl::StrCat(userid, "!", token.token_id(), "=", value));
  WipeBytes(value.data(), value.size());
  // The secret is shown once: it goes to the keystore before anything else.
  return keystore_.Store(
      context_.Item(token.secret().key()),
      absl::StrCat("coldstart ", context_.spec().name(), ": Proxmox token ",
                   userid, "!", token.token_id()),
      credential);
}

}  // namespace

absl::StatusOr<AccessResult> EnsureAccess(ProvisionContext& context,
                                          PveClient& admin) {
  ASSIGN_OR_RETURN(Keystore * store, context.run().keystore());
  return AccessConverger(context, admin, *store).Run();
}

}  // namespace coldstart
