// API tokens and privileges: authentication, ACL inheritance, privsep.
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "lab/pve/pve_api.h"
#include "lab/pve/pve_api_internal.h"
#include "re2/re2.h"

namespace coldstart::lab {

using pve_internal::UriUnescape;

const std::set<std::string>& PveKnownPrivileges() {
  static const auto* kPrivs =
      new std::set<std::string>{"Datastore.Allocate",
                                "Datastore.AllocateSpace",
                                "Datastore.AllocateTemplate",
                                "Datastore.Audit",
                                "Group.Allocate",
                                "Mapping.Audit",
                                "Mapping.Modify",
                                "Mapping.Use",
                                "Permissions.Modify",
                                "Pool.Allocate",
                                "Pool.Audit",
                                "Realm.Allocate",
                                "Realm.AllocateUser",
                                "SDN.Allocate",
                                "SDN.Audit",
                                "SDN.Use",
                                "Sys.AccessNetwork",
                                "Sys.Audit",
                                "Sys.Console",
                                "Sys.Incoming",
                                "Sys.Modify",
                                "Sys.PowerMgmt",
                                "Sys.Syslog",
                                "User.Modify",
                                "VM.Allocate",
                                "VM.Audit",
                                "VM.Backup",
                                "VM.Clone",
                                "VM.Config.CDROM",
                                "VM.Config.CPU",
                                "VM.Config.Cloudinit",
                                "VM.Config.Disk",
                                "VM.Config.HWType",
                                "VM.Config.Memory",
                                "VM.Config.Network",
                                "VM.Config.Options",
                                "VM.Console",
                                "VM.Migrate",
                                "VM.Monitor",
                                "VM.PowerMgmt",
                                "VM.Snapshot",
                                "VM.Snapshot.Rollback"};
  return *kPrivs;
}

std::optional<PveApi::Caller> PveApi::Authenticate(
    const std::string& header) const {
  static const RE2 kHeader(R"(PVEAPIToken[= ](.+))");
  std::string value;
  if (header.empty() || !RE2::FullMatch(header, kHeader, &value)) {
    return std::nullopt;
  }
  value = UriUnescape(value);
  size_t eq = value.rfind('=');
  size_t bang = value.find('!');
  if (eq == std::string::npos || bang == std::string::npos || bang > eq) {
    return std::nullopt;
  }
  std::string userid = value.substr(0, bang);
  std::string tokenid = value.substr(bang + 1, eq - bang - 1);
  std::string secret = value.substr(eq + 1);
  auto user = users_.find(userid);
  if (user == users_.end() || !user->second.enable) return std::nullopt;
  auto token = user->second.tokens.find(tokenid);
  if (token == user->second.tokens.end() || token->second.secret != secret ||
      (token->second.expire != 0 && token->second.expire < NowSeconds())) {
    return std::nullopt;
  }
  Caller caller;
  caller.userid = userid;
  caller.tokenid = tokenid;
  caller.full = absl::StrCat(userid, "!", tokenid);
  caller.privsep = token->second.privsep;
  return caller;
}

std::set<std::string> PveApi::Privileges(const std::string& type,
                                         const std::string& ugid,
                                         const std::string& path) const {
  if (type == "user" && ugid == "root@pam") return PveKnownPrivileges();
  std::vector<std::string> prefixes = {"/"};
  std::string acc;
  for (absl::string_view part : absl::StrSplit(path, '/', absl::SkipEmpty())) {
    absl::StrAppend(&acc, "/", part);
    prefixes.push_back(acc);
  }
  std::set<std::string> result;
  for (const std::string& prefix : prefixes) {
    std::set<std::string> here;
    bool any = false;
    for (const Acl& acl : acls_) {
      if (acl.path != prefix || acl.type != type || acl.ugid != ugid) continue;
      if (prefix != path && !acl.propagate) continue;
      any = true;
      auto role = roles_.find(acl.role);
      if (role != roles_.end())
        here.insert(role->second.begin(), role->second.end());
    }
    if (any) result = here;  // more specific paths override
  }
  return result;
}

bool PveApi::Has(const Caller& c, const std::string& path,
                 const std::string& priv) const {
  bool user_has = Privileges("user", c.userid, path).count(priv) > 0;
  if (!c.privsep) return user_has;
  return user_has && Privileges("token", c.full, path).count(priv) > 0;
}

}  // namespace coldstart::lab
