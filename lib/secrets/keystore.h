#ifndef COLDSTART_LIB_SECRETS_KEYSTORE_H_
#define COLDSTART_LIB_SECRETS_KEYSTORE_H_

// Where secrets live (DESIGN.md "Keystore"): one interface, two backends.
//
//   secret-service  libsecret over the D-Bus session bus (GNOME Keyring,
//                   KeePassXC, ...); items are interoperable with secret-tool.
//   file:DIR        a 0700 directory of 0600 files (CI, headless hosts).
//
// An item is named by its attribute set (string -> string). Lookups match the
// attribute set exactly; Search matches a subset.
//
// Item naming:
//   - sealed-secrets sealing key, newest: exactly the playbook's attributes
//     {service=sealed-secrets, key=private_key} (PEM private key) and
//     {service=sealed-secrets, key=public_key} (PEM certificate), so that
//     `secret-tool lookup service sealed-secrets key private_key` finds ours
//     and we find a user's existing pair.
//   - older sealing keys: {service=sealed-secrets,
//     key=archived_private_key|archived_public_key, id=<16 hex>}. The extra
//     `id` attribute tells them apart; the `key` value differs from the
//     playbook's because Secret Service lookups match attribute *subsets*, so
//     an old key carrying key=private_key could be returned to the playbook's
//     `secret-tool lookup` in place of the newest.
//   - every other secret: {service=coldstart, cluster=<name>, key=<name>}.

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "lib/base/environment.h"
#include "lib/secrets/secret.h"

namespace coldstart {

using KeystoreAttributes = std::map<std::string, std::string>;

// {service=coldstart, cluster=<cluster>, key=<key>}
KeystoreAttributes ClusterSecretAttributes(absl::string_view cluster,
                                           absl::string_view key);

enum class SealingKeyPart { kPrivateKey, kCertificate };
// The playbook's attributes: {service=sealed-secrets, key=private_key} or
// {service=sealed-secrets, key=public_key}.
KeystoreAttributes SealingKeyAttributes(SealingKeyPart part);
// {service=sealed-secrets, key=archived_private_key|archived_public_key,
//  id=<id>}
KeystoreAttributes ArchivedSealingKeyAttributes(SealingKeyPart part,
                                                absl::string_view id);

class Keystore {
 public:
  virtual ~Keystore() = default;

  // "file:DIR" or "secret-service", for messages.
  virtual std::string Describe() const = 0;

  // Stores `value` under exactly `attributes`, replacing the item with the
  // same attribute set and no other (unlike `secret-tool store`, which
  // replaces any item whose attributes include the given ones). `label` is
  // the human-readable name a keyring UI shows; it must not contain the
  // secret.
  virtual absl::Status Store(const KeystoreAttributes& attributes,
                             absl::string_view label, const Secret& value) = 0;
  // The value stored under exactly `attributes`; NotFound if none.
  virtual absl::StatusOr<Secret> Lookup(
      const KeystoreAttributes& attributes) = 0;
  // Deletes the item with exactly `attributes`; NotFound if none.
  virtual absl::Status Delete(const KeystoreAttributes& attributes) = 0;
  // The attribute sets of all items whose attributes include `subset`, in
  // no particular order.
  virtual absl::StatusOr<std::vector<KeystoreAttributes>> Search(
      const KeystoreAttributes& subset) = 0;
};

// The environment variable that selects the keystore when no flag does.
inline constexpr char kKeystoreEnvironmentVariable[] = "COLDSTART_KEYSTORE";
// The keystore a run uses, by one precedence for every tool: `flag`
// (--keystore) if non-empty, else $COLDSTART_KEYSTORE if set and non-empty,
// else `spec_keystore` (spec.sealed_secrets.keystore) if non-empty, else
// "secret-service".
std::string ResolveKeystoreSpec(absl::string_view flag,
                                const Environment& environment,
                                absl::string_view spec_keystore);

// Deprecated: ResolveKeystoreSpec(flag, ProcessEnvironment(), "").
std::string KeystoreSpec(absl::string_view flag_value);

// Opens the keystore named by `spec`:
//   "file:DIR"        DIR is created 0700 if missing (its parent must exist).
//                     PermissionDenied if DIR is group/world accessible or not
//                     owned by us; FailedPrecondition if not a directory.
//   "secret-service"  connects to the Secret Service on the session bus;
//                     Unavailable if there is none (no D-Bus session, no
//                     keyring daemon).
// InvalidArgument for any other spec.
absl::StatusOr<std::unique_ptr<Keystore>> OpenKeystore(absl::string_view spec);

// --- Sealing keys ----------------------------------------------------------

struct SealingKey {
  Secret private_key_pem;
  std::string certificate_pem;
};

// Every sealing key in `keystore`: the newest (playbook attributes) first if
// present, then the archived ones. An incomplete pair (one half missing) is
// FailedPrecondition naming its attributes.
absl::StatusOr<std::vector<SealingKey>> LoadSealingKeys(Keystore& keystore);

// Makes `key` the newest sealing key. A different previous newest key is
// archived first (id = first 16 hex digits of the SHA-256 of its certificate
// PEM), so no key is ever lost. Storing the current newest again is a no-op.
absl::Status AddSealingKey(Keystore& keystore, const SealingKey& key);

}  // namespace coldstart

#endif  // COLDSTART_LIB_SECRETS_KEYSTORE_H_
