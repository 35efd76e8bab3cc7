// The sealed-secrets keypairs in the keystore (lib/secrets/keystore.h): the
// newest sealing key under the playbook's attributes, older ones archived.
// "Newest" is the controller's notion: the latest certificate NotBefore. Keys
// are never deleted or replaced; a key is identified by its public key, so
// the same key with a renewed certificate is one key.
#ifndef COLDSTART_TOOLS_SEAL_KEYSTORE_SEALING_KEYS_H_
#define COLDSTART_TOOLS_SEAL_KEYSTORE_SEALING_KEYS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "lib/secrets/crypto.h"
#include "lib/secrets/keystore.h"

namespace coldstart {

// A sealing key as stored, parsed and checked.
struct SealingKeyPair {
  PrivateKey key;
  Certificate certificate;
  SealingKey stored;  // The PEM texts.
  // First 16 hex digits of the SHA-256 of the public key (DER): stable
  // across certificate renewals; names the key in messages and Secrets.
  std::string id;
};

// Parses and checks a stored pair: an RSA private key and a certificate of
// the same public key. InvalidArgument naming `what` otherwise.
absl::StatusOr<SealingKeyPair> CheckSealingKey(SealingKey stored,
                                               absl::string_view what);

// Every sealing key in `keystore`, the newest (playbook attributes) first.
absl::StatusOr<std::vector<SealingKeyPair>> LoadSealingKeyPairs(
    Keystore& keystore);

// Adds the keys of `incoming` the keystore lacks (by public key); the one
// with the latest NotBefore of all becomes the newest (the previous newest is
// archived), the others are archived. Returns the ids added. With `dry_run`
// only computes them.
absl::StatusOr<std::vector<std::string>> MergeSealingKeys(
    Keystore& keystore, const std::vector<SealingKeyPair>& incoming,
    bool dry_run);

// "key <id> (CN=..., not before ..., not after ...)", for messages.
std::string DescribeKey(const SealingKeyPair& pair);

// The hex SHA-256 of the certificate (DER), as kubeseal --fetch-cert users
// compare it.
std::string CertificateSha256Hex(const Certificate& certificate);

// The private keys of `keys`, in order: what opens sealed values.
std::vector<PrivateKey> PrivateKeysOf(const std::vector<SealingKeyPair>& keys);

}  // namespace coldstart

#endif  // COLDSTART_TOOLS_SEAL_KEYSTORE_SEALING_KEYS_H_
