// Internal to //lib/secrets:crypto: the BoringSSL handles behind the key
// classes and the PEM/CBS helpers shared by crypto.cc and crypto_x509.cc.
// Not a public header (it exposes BoringSSL types).
#ifndef COLDSTART_LIB_SECRETS_CRYPTO_INTERNAL_H_
#define COLDSTART_LIB_SECRETS_CRYPTO_INTERNAL_H_

#include <openssl/bytestring.h>
#include <openssl/evp.h>
#include <openssl/mem.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "lib/secrets/crypto.h"
#include "lib/secrets/secret.h"

namespace coldstart {

struct KeyHandle {
  bssl::UniquePtr<EVP_PKEY> pkey;
};

// Reaches the handles of the key classes from this file's free functions.
struct KeyAccess {
  static EVP_PKEY* Get(const PublicKey& key) { return key.handle_->pkey.get(); }
  static EVP_PKEY* Get(const PrivateKey& key) {
    return key.handle_->pkey.get();
  }
  static absl::StatusOr<PublicKey> MakePublic(bssl::UniquePtr<EVP_PKEY> pkey);
  static absl::StatusOr<PrivateKey> MakePrivate(bssl::UniquePtr<EVP_PKEY> pkey);
};

namespace crypto_internal {

// The most recent BoringSSL error reason, for messages (never secret data).
std::string SslError();

// The KeyType of a parsed key; InvalidArgument for other algorithms.
absl::StatusOr<KeyType> TypeOf(const EVP_PKEY* pkey);

// Runs `marshal` into a CBB and returns the bytes.
template <typename F>
absl::StatusOr<std::string> Marshal(F marshal, absl::string_view what) {
  bssl::ScopedCBB cbb;
  uint8_t* out = nullptr;
  size_t len = 0;
  if (!CBB_init(cbb.get(), 256) || !marshal(cbb.get()) ||
      !CBB_finish(cbb.get(), &out, &len)) {
    return absl::InternalError(
        absl::StrCat("cannot encode ", what, ": ", SslError()));
  }
  std::string result(reinterpret_cast<const char*>(out), len);
  OPENSSL_free(out);
  return result;
}

std::string PemEncode(absl::string_view label, absl::string_view der);

struct PemBlock {
  std::string label;
  std::string der;
  ~PemBlock() { WipeBytes(der.data(), der.size()); }
};

// Reads PEM blocks from `pem` in order. Encrypted blocks (with headers) are
// InvalidArgument.
absl::StatusOr<std::vector<PemBlock>> PemDecodeAll(absl::string_view pem);
absl::StatusOr<PemBlock> PemDecodeFirst(absl::string_view pem);

// The digest each key type signs with (null: Ed25519 signs the message).
const EVP_MD* SigningDigest(KeyType type);

CBS CbsOf(absl::string_view bytes);
const uint8_t* U8(absl::string_view s);

}  // namespace crypto_internal
}  // namespace coldstart

#endif  // COLDSTART_LIB_SECRETS_CRYPTO_INTERNAL_H_
