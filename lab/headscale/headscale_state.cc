#include "lab/headscale/headscale_state.h"

#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace coldstart::lab {

using nlohmann::json;

absl::StatusOr<int> ParseHeadscaleMinorVersion(absl::string_view version) {
  absl::string_view text = version;
  absl::ConsumePrefix(&text, "v");
  std::vector<absl::string_view> parts = absl::StrSplit(text, '.');
  int minor = 0;
  if (parts.size() < 2 || parts[0] != "0" ||
      !absl::SimpleAtoi(parts[1], &minor) || minor < 23) {
    return absl::InvalidArgumentError(
        absl::StrCat("headscale: unsupported API version \"", version,
                     "\" (0.23 or later)"));
  }
  return minor;
}

std::string HeadscaleTime(absl::Time t) {
  return absl::FormatTime("%E4Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
}

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

const HeadscaleUser* HeadscaleState::FindUser(
    absl::string_view name_or_id) const {
  for (const HeadscaleUser& u : users) {
    if (minor_ < 26 ? u.name == name_or_id
                    : std::to_string(u.id) == name_or_id) {
      return &u;
    }
  }
  return nullptr;
}

const HeadscaleUser* HeadscaleState::FindUserById(uint64_t id) const {
  for (const HeadscaleUser& u : users) {
    if (u.id == id) return &u;
  }
  return nullptr;
}

HeadscaleNode* HeadscaleState::FindNode(absl::string_view id) {
  for (HeadscaleNode& n : nodes) {
    if (std::to_string(n.id) == id) return &n;
  }
  return nullptr;
}

const HeadscalePreAuthKey* HeadscaleState::FindKeyById(uint64_t id) const {
  for (const HeadscalePreAuthKey& k : keys) {
    if (k.id == id) return &k;
  }
  return nullptr;
}

json HeadscaleState::UserJson(uint64_t id) const {
  const HeadscaleUser* u = FindUserById(id);
  if (u == nullptr) return nullptr;
  json j = {{"id", std::to_string(u->id)},
            {"name", u->name},
            {"createdAt", HeadscaleTime(u->created)}};
  if (minor_ >= 24) {
    j["displayName"] = u->display_name;
    j["email"] = u->email;
    j["providerId"] = "";
    j["provider"] = "";
    j["profilePicUrl"] = u->picture_url;
  }
  return j;
}

json HeadscaleState::KeyJson(const HeadscalePreAuthKey& k, bool listing) const {
  json j = {{"id", std::to_string(k.id)},
            {"key", k.key},
            {"reusable", k.reusable},
            {"ephemeral", k.ephemeral},
            {"used", k.used},
            {"expiration", HeadscaleTime(k.expiration)},
            {"createdAt", HeadscaleTime(k.created)},
            {"aclTags", k.tags}};
  if (generation() >= 28 && listing) {
    // hskey-auth-<12-char prefix>-***
    j["key"] = absl::StrCat(k.key.substr(0, 23), "-***");
  }
  if (generation() < 26) {
    const HeadscaleUser* u = FindUserById(k.user_id);
    j["user"] = u == nullptr ? "" : u->name;
  } else {
    j["user"] = UserJson(k.user_id);
  }
  return j;
}

namespace {

// The pseudo-user of tagged nodes, 0.28+ (§7.2).
json TaggedDevicesUser() {
  return {{"id", "2147455555"},   {"name", "tagged-devices"},
          {"createdAt", nullptr}, {"displayName", "Tagged Devices"},
          {"email", ""},          {"providerId", ""},
          {"provider", ""},       {"profilePicUrl", ""}};
}

std::vector<std::string> Intersection(const std::vector<std::string>& a,
                                      const std::vector<std::string>& b) {
  std::vector<std::string> out;
  for (const std::string& x : a) {
    for (const std::string& y : b) {
      if (x == y) out.push_back(x);
    }
  }
  return out;
}

}  // namespace

json HeadscaleState::NodeJson(const HeadscaleNode& n) const {
  const HeadscalePreAuthKey* key = FindKeyById(n.key_id);
  const std::vector<std::string> key_tags =
      key == nullptr ? std::vector<std::string>() : key->tags;
  const bool tagged = generation() >= 28 && !key_tags.empty();
  json j = {{"id", std::to_string(n.id)},
            {"machineKey", absl::StrCat("mkey:", n.machine_key)},
            {"nodeKey", absl::StrCat("nodekey:", n.node_key)},
            {"discoKey", absl::StrCat("discokey:", n.disco_key)},
            {"ipAddresses", json::array({absl::StrCat("100.64.0.", n.id)})},
            {"name", n.name},
            {"givenName", n.name},
            {"user", tagged ? TaggedDevicesUser() : UserJson(n.user_id)},
            {"lastSeen", HeadscaleTime(n.last_seen)},
            // The lab's clients send no expiry: never expires.
            {"expiry", nullptr},
            {"preAuthKey", key == nullptr ? json() : KeyJson(*key, true)},
            {"createdAt", HeadscaleTime(n.created)},
            {"registerMethod", "REGISTER_METHOD_AUTH_KEY"},
            {"online", true}};
  if (generation() >= 28) {
    j["tags"] = key_tags;
  } else {
    j["forcedTags"] = key_tags;
    j["validTags"] = key_tags;
    j["invalidTags"] = json::array();
  }
  if (generation() >= 26) {
    j["availableRoutes"] = n.available_routes;
    j["approvedRoutes"] = n.approved_routes;
    j["subnetRoutes"] = Intersection(n.available_routes, n.approved_routes);
  }
  return j;
}

}  // namespace coldstart::lab
