// Proxmox API token ids and stored token credentials, split in one place.
//
//   token id     "user@realm!tokenid"          e.g. "kubernetes-csi@pve!csi"
//   credential   "user@realm!tokenid=secret"   as provision-vms stores a
//                                              token in the keystore (the
//                                              PVEAPIToken header's value)
#ifndef COLDSTART_LIB_PROXMOX_API_TOKEN_H_
#define COLDSTART_LIB_PROXMOX_API_TOKEN_H_

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "lib/secrets/secret.h"

namespace coldstart {

struct ProxmoxTokenId {
  std::string userid;  // "user@realm"
  std::string token;   // "tokenid"

  // "user@realm!tokenid".
  std::string ToString() const;
  friend bool operator==(const ProxmoxTokenId& a, const ProxmoxTokenId& b) {
    return a.userid == b.userid && a.token == b.token;
  }
};

// Splits "user@realm!tokenid" at its one '!'. InvalidArgument (quoting the
// text, abbreviated) when there is no or more than one '!', a part is empty,
// or the user part has no '@'.
absl::StatusOr<ProxmoxTokenId> ParseProxmoxTokenId(absl::string_view text);

struct ProxmoxApiToken {
  // Absent when the stored value is the bare secret.
  std::optional<ProxmoxTokenId> id;
  Secret secret;
};

// Reads a stored token: "user@realm!tokenid=secret" (split at the first '='
// after the '!'; token ids hold no '='), or the bare secret (no '!').
// Surrounding whitespace is dropped. InvalidArgument for an empty secret, an
// id without "=secret", or an id ParseProxmoxTokenId refuses; messages never
// contain the secret.
absl::StatusOr<ProxmoxApiToken> ParseProxmoxApiToken(const Secret& stored);

}  // namespace coldstart

#endif  // COLDSTART_LIB_PROXMOX_API_TOKEN_H_
