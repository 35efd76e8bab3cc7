#ifndef COLDSTART_LIB_SECRETS_KEYSTORE_BACKENDS_H_
#define COLDSTART_LIB_SECRETS_KEYSTORE_BACKENDS_H_

// Internal to lib/keystore: the two backends behind OpenKeystore.

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "lib/secrets/keystore.h"

namespace coldstart {
namespace keystore_internal {

absl::StatusOr<std::unique_ptr<Keystore>> OpenFileKeystore(
    const std::string& dir);
absl::StatusOr<std::unique_ptr<Keystore>> OpenSecretServiceKeystore();

// The file name of an item: its attributes sorted, "k=v" joined by ",",
// with every byte outside [A-Za-z0-9._@-] percent-encoded.
std::string FileNameForAttributes(const KeystoreAttributes& attributes);
// Inverse; false for names that are not item files.
bool AttributesFromFileName(absl::string_view name,
                            KeystoreAttributes* attributes);

// True if `attributes` contains every entry of `subset`.
bool ContainsAll(const KeystoreAttributes& attributes,
                 const KeystoreAttributes& subset);

}  // namespace keystore_internal
}  // namespace coldstart

#endif  // COLDSTART_LIB_SECRETS_KEYSTORE_BACKENDS_H_
