// What the lab's Headscale knows (users, pre-auth keys, nodes) and how each
// API version shows it as JSON (facts/headscale.md §1–§3, §7.2): camelCase
// names, uint64 ids as strings, RFC 3339 times, unset values emitted.
//
// Not thread-safe by itself: callers hold `mu` while they read or change the
// vectors or build JSON from them.
#ifndef COLDSTART_LAB_HEADSCALE_HEADSCALE_STATE_H_
#define COLDSTART_LAB_HEADSCALE_HEADSCALE_STATE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"

namespace coldstart::lab {

struct HeadscaleUser {
  uint64_t id = 0;
  std::string name;
  std::string display_name;
  std::string email;
  std::string picture_url;
  absl::Time created;
};

struct HeadscalePreAuthKey {
  uint64_t id = 0;
  // Full key: 48 hex chars before 0.28, hskey-auth-<12>-<64> from 0.28.
  std::string key;
  // 0: none (tag-only key, 0.28+).
  uint64_t user_id = 0;
  bool reusable = false;
  bool ephemeral = false;
  bool used = false;
  // The zero time when the request had none: born expired (§2).
  absl::Time expiration = absl::UniversalEpoch();
  absl::Time created;
  std::vector<std::string> tags;
};

struct HeadscaleNode {
  uint64_t id = 0;
  // Hostname as the client reported it; also the givenName here.
  std::string name;
  // Hex key material without the "mkey:" / "nodekey:" / "discokey:" prefix.
  std::string machine_key;
  std::string node_key;
  std::string disco_key;
  uint64_t user_id = 0;
  // The pre-auth key the node registered with.
  uint64_t key_id = 0;
  std::vector<std::string> available_routes;
  std::vector<std::string> approved_routes;
  absl::Time created;
  absl::Time last_seen;
};

// "0.26" (or "0.26.1", "v0.26.0") -> 26. InvalidArgument for anything that
// is not 0.23 or later.
absl::StatusOr<int> ParseHeadscaleMinorVersion(absl::string_view version);

// RFC 3339 UTC with a four-digit year ("0001-01-01T00:00:00Z" for the zero
// time, as Go prints it).
std::string HeadscaleTime(absl::Time t);

// `n` random lowercase hex characters from /dev/urandom.
std::string RandomHex(int n);

class HeadscaleState {
 public:
  // Behaves like Headscale 0.<minor> (23 or later).
  explicit HeadscaleState(int minor) : minor_(minor) {}

  int minor() const { return minor_; }
  // The API generation of facts/headscale.md's tables: 23 (0.23–0.25), 26
  // (0.26–0.27), 28 (0.28+).
  int generation() const {
    return minor_ >= 28 ? 28 : (minor_ >= 26 ? 26 : 23);
  }

  // The user a request names: by name before 0.26, by numeric id from 0.26
  // (§2, §3). Null if there is none.
  const HeadscaleUser* FindUser(absl::string_view name_or_id) const;
  const HeadscaleUser* FindUserById(uint64_t id) const;
  HeadscaleNode* FindNode(absl::string_view id);
  const HeadscalePreAuthKey* FindKeyById(uint64_t id) const;

  // The User object (§3); null for id 0 or an unknown id.
  nlohmann::json UserJson(uint64_t id) const;
  // The PreAuthKey object (§2); `listing` masks the key from 0.28.
  nlohmann::json KeyJson(const HeadscalePreAuthKey& key, bool listing) const;
  // The Node object (§7.2) with every field of this version.
  nlohmann::json NodeJson(const HeadscaleNode& node) const;

  absl::Mutex mu;
  std::vector<HeadscaleUser> users;
  std::vector<HeadscalePreAuthKey> keys;
  std::vector<HeadscaleNode> nodes;
  uint64_t next_user_id = 1;
  uint64_t next_key_id = 1;
  uint64_t next_node_id = 1;

 private:
  const int minor_;
};

}  // namespace coldstart::lab

#endif  // COLDSTART_LAB_HEADSCALE_HEADSCALE_STATE_H_
