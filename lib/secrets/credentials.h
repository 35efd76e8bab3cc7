// One resolver for every credential a coldstart tool uses (DESIGN.md "Tool
// contract"): the environment variable first (set and non-empty), then the
// keystore item. The same precedence for every secret; the caller is told
// which source was used (for a progress line), never the value.
#ifndef COLDSTART_LIB_SECRETS_CREDENTIALS_H_
#define COLDSTART_LIB_SECRETS_CREDENTIALS_H_

#include <string>

#include "absl/status/statusor.h"
#include "lib/base/environment.h"
#include "lib/secrets/keystore.h"
#include "lib/secrets/secret.h"

namespace coldstart {

struct CredentialSource {
  // What the credential is, for messages: "the Proxmox admin token".
  std::string description;
  // Environment variable consulted first, e.g. "PROXMOX_VE_API_TOKEN"; empty:
  // none.
  std::string environment_variable;
  // Keystore item ClusterSecretAttributes(cluster, keystore_key) consulted
  // next; empty keystore_key: none.
  std::string cluster;
  std::string keystore_key;
};

struct ResolvedCredential {
  Secret secret;
  // "environment variable PROXMOX_VE_API_TOKEN" or "keystore item
  // proxmox-admin-token (file:/dir)": for a progress line.
  std::string source;
};

// Errors: NotFound when neither source has it ("no <description>: set $VAR
// or store keystore item KEY"); the keystore's error when the lookup itself
// failed (e.g. Unavailable: no Secret Service). `keystore` may be null (only
// the environment is consulted).
absl::StatusOr<ResolvedCredential> ResolveCredential(
    const CredentialSource& source, const Environment& environment,
    Keystore* keystore);

}  // namespace coldstart

#endif  // COLDSTART_LIB_SECRETS_CREDENTIALS_H_
