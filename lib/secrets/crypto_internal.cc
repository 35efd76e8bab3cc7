#include "lib/secrets/crypto_internal.h"

#include <openssl/aead.h>
#include <openssl/asn1.h>
#include <openssl/base64.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/bytestring.h>
#include <openssl/digest.h>
#include <openssl/ec.h>
#include <openssl/ec_key.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/mem.h>
#include <openssl/nid.h>
#include <openssl/obj.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#if !defined(BORINGSSL_PREFIX)
#error \
    "lib/crypto must be compiled against the prefixed BoringSSL (@boringssl//:crypto)"
#endif

#include <cstring>
#include <memory>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "lib/base/status_macros.h"

namespace coldstart {
namespace crypto_internal {

std::string SslError() {
  uint32_t err = ERR_get_error();
  ERR_clear_error();
  if (err == 0) return "no further detail";
  char buf[256];
  ERR_error_string_n(err, buf, sizeof(buf));
  return buf;
}

absl::StatusOr<KeyType> TypeOf(const EVP_PKEY* pkey) {
  switch (EVP_PKEY_id(pkey)) {
    case EVP_PKEY_RSA:
      return KeyType::kRsa;
    case EVP_PKEY_ED25519:
      return KeyType::kEd25519;
    case EVP_PKEY_EC: {
      const EC_KEY* ec = EVP_PKEY_get0_EC_KEY(pkey);
      if (ec != nullptr && EC_GROUP_get_curve_name(EC_KEY_get0_group(ec)) ==
                               NID_X9_62_prime256v1) {
        return KeyType::kEcdsaP256;
      }
      return absl::InvalidArgumentError(
          "unsupported elliptic curve (only P-256 is supported)");
    }
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("unsupported key type (EVP_PKEY id ", EVP_PKEY_id(pkey),
                       "); supported: RSA, ECDSA P-256, Ed25519"));
  }
}

std::string PemEncode(absl::string_view label, absl::string_view der) {
  bssl::UniquePtr<BIO> bio(BIO_new(BIO_s_mem()));
  PEM_write_bio(bio.get(), std::string(label).c_str(), "",
                reinterpret_cast<const uint8_t*>(der.data()), der.size());
  const uint8_t* contents = nullptr;
  size_t len = 0;
  BIO_mem_contents(bio.get(), &contents, &len);
  std::string pem(reinterpret_cast<const char*>(contents), len);
  WipeBytes(const_cast<uint8_t*>(contents), len);
  return pem;
}

absl::StatusOr<std::vector<PemBlock>> PemDecodeAll(absl::string_view pem) {
  bssl::UniquePtr<BIO> bio(BIO_new_mem_buf(pem.data(), pem.size()));
  std::vector<PemBlock> blocks;
  for (;;) {
    char* name = nullptr;
    char* header = nullptr;
    uint8_t* data = nullptr;
    long len = 0;  // NOLINT(runtime/int): BoringSSL's signature.
    if (!PEM_read_bio(bio.get(), &name, &header, &data, &len)) {
      uint32_t err = ERR_peek_last_error();
      ERR_clear_error();
      if (ERR_GET_LIB(err) == ERR_LIB_PEM &&
          ERR_GET_REASON(err) == PEM_R_NO_START_LINE && !blocks.empty()) {
        break;
      }
      return absl::InvalidArgumentError(blocks.empty() ? "no PEM block found"
                                                       : "malformed PEM block");
    }
    PemBlock block;
    block.label = name;
    block.der.assign(reinterpret_cast<const char*>(data), len);
    bool encrypted = header != nullptr && header[0] != '\0';
    OPENSSL_free(name);
    OPENSSL_free(header);
    OPENSSL_cleanse(data, len);
    OPENSSL_free(data);
    if (encrypted) {
      return absl::InvalidArgumentError(absl::StrCat(
          "PEM block \"", block.label, "\" is encrypted; decrypt it first"));
    }
    blocks.push_back(std::move(block));
  }
  return blocks;
}

absl::StatusOr<PemBlock> PemDecodeFirst(absl::string_view pem) {
  ASSIGN_OR_RETURN(std::vector<PemBlock> blocks, PemDecodeAll(pem));
  return std::move(blocks.front());
}

const EVP_MD* SigningDigest(KeyType type) {
  return type == KeyType::kEd25519 ? nullptr : EVP_sha256();
}

CBS CbsOf(absl::string_view bytes) {
  CBS cbs;
  CBS_init(&cbs, reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  return cbs;
}

const uint8_t* U8(absl::string_view s) {
  return reinterpret_cast<const uint8_t*>(s.data());
}

}  // namespace crypto_internal

using ::coldstart::crypto_internal::TypeOf;

absl::StatusOr<PublicKey> KeyAccess::MakePublic(
    bssl::UniquePtr<EVP_PKEY> pkey) {
  ASSIGN_OR_RETURN(KeyType type, TypeOf(pkey.get()));
  auto handle = std::make_shared<KeyHandle>();
  handle->pkey = std::move(pkey);
  return PublicKey(std::move(handle), type);
}

absl::StatusOr<PrivateKey> KeyAccess::MakePrivate(
    bssl::UniquePtr<EVP_PKEY> pkey) {
  ASSIGN_OR_RETURN(KeyType type, TypeOf(pkey.get()));
  auto handle = std::make_shared<KeyHandle>();
  handle->pkey = std::move(pkey);
  return PrivateKey(std::move(handle), type);
}

}  // namespace coldstart
