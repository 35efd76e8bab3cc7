#include "lib/secrets/crypto.h"

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
#include "lib/secrets/crypto_internal.h"

namespace coldstart {

using ::coldstart::crypto_internal::CbsOf;
using ::coldstart::crypto_internal::Marshal;
using ::coldstart::crypto_internal::PemBlock;
using ::coldstart::crypto_internal::PemDecodeFirst;
using ::coldstart::crypto_internal::PemEncode;
using ::coldstart::crypto_internal::SigningDigest;
using ::coldstart::crypto_internal::SslError;
using ::coldstart::crypto_internal::U8;

// --- Random bytes, hashes, MACs -------------------------------------------

std::string RandomBytes(size_t n) {
  std::string out(n, '\0');
  RAND_bytes(reinterpret_cast<uint8_t*>(out.data()), n);
  return out;
}

std::string Sha256(absl::string_view data) {
  std::string out(SHA256_DIGEST_LENGTH, '\0');
  SHA256(U8(data), data.size(), reinterpret_cast<uint8_t*>(out.data()));
  return out;
}

std::string HmacSha256(absl::string_view key, absl::string_view data) {
  std::string out(SHA256_DIGEST_LENGTH, '\0');
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), key.size(), U8(data), data.size(),
       reinterpret_cast<uint8_t*>(out.data()), &len);
  return out;
}

std::string HexEncode(absl::string_view bytes) {
  return absl::BytesToHexString(bytes);
}

// --- AES-256-GCM -----------------------------------------------------------

namespace {

absl::Status CheckGcmParams(const Secret& key, absl::string_view nonce) {
  if (key.size() != 32) {
    return absl::InvalidArgumentError(
        absl::StrCat("AES-256-GCM key must be 32 bytes, got ", key.size()));
  }
  if (nonce.size() != 12) {
    return absl::InvalidArgumentError(
        absl::StrCat("AES-256-GCM nonce must be 12 bytes, got ", nonce.size()));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::string> Aes256GcmSeal(const Secret& key,
                                          absl::string_view nonce,
                                          absl::string_view plaintext,
                                          absl::string_view aad) {
  RETURN_IF_ERROR(CheckGcmParams(key, nonce));
  bssl::ScopedEVP_AEAD_CTX ctx;
  if (!EVP_AEAD_CTX_init(ctx.get(), EVP_aead_aes_256_gcm(), U8(key.Reveal()),
                         key.size(), EVP_AEAD_DEFAULT_TAG_LENGTH, nullptr)) {
    return absl::InternalError(absl::StrCat("AES-GCM init: ", SslError()));
  }
  std::string out(
      plaintext.size() + EVP_AEAD_max_overhead(EVP_aead_aes_256_gcm()), '\0');
  size_t out_len = 0;
  if (!EVP_AEAD_CTX_seal(ctx.get(), reinterpret_cast<uint8_t*>(out.data()),
                         &out_len, out.size(), U8(nonce), nonce.size(),
                         U8(plaintext), plaintext.size(), U8(aad),
                         aad.size())) {
    return absl::InternalError(absl::StrCat("AES-GCM seal: ", SslError()));
  }
  out.resize(out_len);
  return out;
}

absl::StatusOr<Secret> Aes256GcmOpen(const Secret& key, absl::string_view nonce,
                                     absl::string_view sealed,
                                     absl::string_view aad) {
  RETURN_IF_ERROR(CheckGcmParams(key, nonce));
  bssl::ScopedEVP_AEAD_CTX ctx;
  if (!EVP_AEAD_CTX_init(ctx.get(), EVP_aead_aes_256_gcm(), U8(key.Reveal()),
                         key.size(), EVP_AEAD_DEFAULT_TAG_LENGTH, nullptr)) {
    return absl::InternalError(absl::StrCat("AES-GCM init: ", SslError()));
  }
  std::string out(sealed.size(), '\0');
  size_t out_len = 0;
  if (!EVP_AEAD_CTX_open(ctx.get(), reinterpret_cast<uint8_t*>(out.data()),
                         &out_len, out.size(), U8(nonce), nonce.size(),
                         U8(sealed), sealed.size(), U8(aad), aad.size())) {
    ERR_clear_error();
    return absl::PermissionDeniedError(
        "AES-GCM authentication failed (wrong key or altered data)");
  }
  out.resize(out_len);
  return Secret(std::move(out));
}

// --- Keys ------------------------------------------------------------------

absl::string_view KeyTypeName(KeyType type) {
  switch (type) {
    case KeyType::kRsa:
      return "RSA";
    case KeyType::kEcdsaP256:
      return "ECDSA P-256";
    case KeyType::kEd25519:
      return "Ed25519";
  }
  return "unknown";
}

namespace {

// A key block whose DER is not exactly one key of its label.
absl::Status MalformedPemBlock(absl::string_view label) {
  ERR_clear_error();
  return absl::InvalidArgumentError(
      absl::StrCat("malformed \"", label, "\" PEM block"));
}

}  // namespace

absl::StatusOr<PublicKey> PublicKey::FromPem(absl::string_view pem) {
  ASSIGN_OR_RETURN(PemBlock block, PemDecodeFirst(pem));
  CBS cbs = CbsOf(block.der);
  bssl::UniquePtr<EVP_PKEY> pkey;
  if (block.label == "PUBLIC KEY") {
    pkey.reset(EVP_parse_public_key(&cbs));
  } else if (block.label == "RSA PUBLIC KEY") {
    bssl::UniquePtr<RSA> rsa(RSA_parse_public_key(&cbs));
    if (rsa != nullptr) {
      pkey.reset(EVP_PKEY_new());
      EVP_PKEY_assign_RSA(pkey.get(), rsa.release());
    }
  } else {
    return absl::InvalidArgumentError(absl::StrCat(
        "PEM block \"", block.label,
        "\" is not a public key (want \"PUBLIC KEY\" or \"RSA PUBLIC KEY\")"));
  }
  if (pkey == nullptr || CBS_len(&cbs) != 0) {
    return MalformedPemBlock(block.label);
  }
  return KeyAccess::MakePublic(std::move(pkey));
}

absl::StatusOr<PublicKey> PublicKey::FromEd25519Bytes(absl::string_view raw) {
  if (raw.size() != 32) {
    return absl::InvalidArgumentError(
        absl::StrCat("Ed25519 public key must be 32 bytes, got ", raw.size()));
  }
  bssl::UniquePtr<EVP_PKEY> pkey(EVP_PKEY_new_raw_public_key(
      EVP_PKEY_ED25519, nullptr, U8(raw), raw.size()));
  if (pkey == nullptr) {
    return absl::InternalError(absl::StrCat("Ed25519 key: ", SslError()));
  }
  return KeyAccess::MakePublic(std::move(pkey));
}

std::string PublicKey::ToDer() const {
  absl::StatusOr<std::string> der = Marshal(
      [&](CBB* cbb) {
        return EVP_marshal_public_key(cbb, handle_->pkey.get());
      },
      "public key");
  return der.ok() ? *std::move(der) : std::string();
}

std::string PublicKey::ToPem() const {
  return PemEncode("PUBLIC KEY", ToDer());
}

absl::StatusOr<std::string> PublicKey::Ed25519Bytes() const {
  if (type_ != KeyType::kEd25519) {
    return absl::InvalidArgumentError(
        absl::StrCat("want an Ed25519 key, have ", KeyTypeName(type_)));
  }
  std::string raw(32, '\0');
  size_t len = raw.size();
  if (!EVP_PKEY_get_raw_public_key(
          handle_->pkey.get(), reinterpret_cast<uint8_t*>(raw.data()), &len)) {
    return absl::InternalError(absl::StrCat("Ed25519 key: ", SslError()));
  }
  return raw;
}

absl::StatusOr<std::string> PublicKey::ToOpenSsh(
    absl::string_view comment) const {
  ASSIGN_OR_RETURN(std::string raw, Ed25519Bytes());
  constexpr absl::string_view kAlgorithm = "ssh-ed25519";
  // RFC 4253 §6.6 / RFC 8709: string "ssh-ed25519", string key.
  std::string wire;
  auto put_string = [&wire](absl::string_view s) {
    uint32_t n = s.size();
    char len[4] = {static_cast<char>(n >> 24), static_cast<char>(n >> 16),
                   static_cast<char>(n >> 8), static_cast<char>(n)};
    wire.append(len, 4);
    wire.append(s.data(), s.size());
  };
  put_string(kAlgorithm);
  put_string(raw);
  std::string line = absl::StrCat(kAlgorithm, " ", absl::Base64Escape(wire));
  if (!comment.empty()) absl::StrAppend(&line, " ", comment);
  return line;
}

size_t PublicKey::RsaModulusBytes() const {
  if (type_ != KeyType::kRsa) return 0;
  return RSA_size(EVP_PKEY_get0_RSA(handle_->pkey.get()));
}

namespace {

bssl::UniquePtr<EVP_PKEY_CTX> OaepContext(EVP_PKEY* pkey, bool encrypt,
                                          absl::string_view label) {
  bssl::UniquePtr<EVP_PKEY_CTX> ctx(EVP_PKEY_CTX_new(pkey, nullptr));
  if (ctx == nullptr) return nullptr;
  if ((encrypt ? EVP_PKEY_encrypt_init(ctx.get())
               : EVP_PKEY_decrypt_init(ctx.get())) != 1 ||
      !EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_OAEP_PADDING) ||
      !EVP_PKEY_CTX_set_rsa_oaep_md(ctx.get(), EVP_sha256()) ||
      !EVP_PKEY_CTX_set_rsa_mgf1_md(ctx.get(), EVP_sha256())) {
    return nullptr;
  }
  if (!label.empty()) {
    auto* copy = static_cast<uint8_t*>(OPENSSL_malloc(label.size()));
    if (copy == nullptr) return nullptr;
    std::memcpy(copy, label.data(), label.size());
    if (!EVP_PKEY_CTX_set0_rsa_oaep_label(ctx.get(), copy, label.size())) {
      OPENSSL_free(copy);
      return nullptr;
    }
  }
  return ctx;
}

}  // namespace

absl::Status PublicKey::Verify(absl::string_view message,
                               absl::string_view signature) const {
  bssl::ScopedEVP_MD_CTX ctx;
  if (!EVP_DigestVerifyInit(ctx.get(), nullptr, SigningDigest(type_), nullptr,
                            handle_->pkey.get())) {
    return absl::InternalError(absl::StrCat("verify init: ", SslError()));
  }
  if (!EVP_DigestVerify(ctx.get(), U8(signature), signature.size(), U8(message),
                        message.size())) {
    ERR_clear_error();
    return absl::PermissionDeniedError(
        absl::StrCat(KeyTypeName(type_), " signature does not verify"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> PublicKey::OaepEncrypt(
    absl::string_view plaintext, absl::string_view label) const {
  if (type_ != KeyType::kRsa) {
    return absl::InvalidArgumentError(
        absl::StrCat("RSA-OAEP needs an RSA key, have ", KeyTypeName(type_)));
  }
  bssl::UniquePtr<EVP_PKEY_CTX> ctx =
      OaepContext(handle_->pkey.get(), /*encrypt=*/true, label);
  if (ctx == nullptr) {
    return absl::InternalError(absl::StrCat("RSA-OAEP setup: ", SslError()));
  }
  size_t len = 0;
  if (!EVP_PKEY_encrypt(ctx.get(), nullptr, &len, U8(plaintext),
                        plaintext.size())) {
    return absl::InternalError(absl::StrCat("RSA-OAEP: ", SslError()));
  }
  std::string out(len, '\0');
  if (!EVP_PKEY_encrypt(ctx.get(), reinterpret_cast<uint8_t*>(out.data()), &len,
                        U8(plaintext), plaintext.size())) {
    ERR_clear_error();
    return absl::InvalidArgumentError(
        absl::StrCat("RSA-OAEP cannot encrypt ", plaintext.size(),
                     " bytes with this key (too long for the modulus?)"));
  }
  out.resize(len);
  return out;
}

absl::StatusOr<PrivateKey> PrivateKey::GenerateRsa(int bits) {
  if (bits < 2048 || bits > 8192 || bits % 8 != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "RSA key size must be a multiple of 8 in [2048, 8192], got ", bits));
  }
  bssl::UniquePtr<RSA> rsa(RSA_new());
  bssl::UniquePtr<BIGNUM> e(BN_new());
  if (rsa == nullptr || e == nullptr || !BN_set_word(e.get(), RSA_F4) ||
      !RSA_generate_key_ex(rsa.get(), bits, e.get(), nullptr)) {
    return absl::InternalError(absl::StrCat("RSA keygen: ", SslError()));
  }
  bssl::UniquePtr<EVP_PKEY> pkey(EVP_PKEY_new());
  EVP_PKEY_assign_RSA(pkey.get(), rsa.release());
  return KeyAccess::MakePrivate(std::move(pkey));
}

PrivateKey PrivateKey::GenerateEcdsaP256() {
  bssl::UniquePtr<EC_KEY> ec(EC_KEY_new_by_curve_name(NID_X9_62_prime256v1));
  EC_KEY_generate_key(ec.get());
  bssl::UniquePtr<EVP_PKEY> pkey(EVP_PKEY_new());
  EVP_PKEY_assign_EC_KEY(pkey.get(), ec.release());
  return *KeyAccess::MakePrivate(std::move(pkey));
}

PrivateKey PrivateKey::GenerateEd25519() {
  std::string seed = RandomBytes(32);
  return *Ed25519FromSeed(Secret(std::move(seed)));
}

absl::StatusOr<PrivateKey> PrivateKey::Ed25519FromSeed(const Secret& seed) {
  if (seed.size() != 32) {
    return absl::InvalidArgumentError(
        absl::StrCat("Ed25519 seed must be 32 bytes, got ", seed.size()));
  }
  bssl::UniquePtr<EVP_PKEY> pkey(EVP_PKEY_new_raw_private_key(
      EVP_PKEY_ED25519, nullptr, U8(seed.Reveal()), seed.size()));
  if (pkey == nullptr) {
    return absl::InternalError(absl::StrCat("Ed25519 key: ", SslError()));
  }
  return KeyAccess::MakePrivate(std::move(pkey));
}

absl::StatusOr<PrivateKey> PrivateKey::FromPem(const Secret& pem) {
  ASSIGN_OR_RETURN(PemBlock block, PemDecodeFirst(pem.Reveal()));
  CBS cbs = CbsOf(block.der);
  bssl::UniquePtr<EVP_PKEY> pkey;
  if (block.label == "PRIVATE KEY" || block.label == "ED25519 PRIVATE KEY") {
    pkey.reset(EVP_parse_private_key(&cbs));
    if (pkey != nullptr && block.label == "ED25519 PRIVATE KEY" &&
        EVP_PKEY_id(pkey.get()) != EVP_PKEY_ED25519) {
      return absl::InvalidArgumentError(
          "\"ED25519 PRIVATE KEY\" block holds a key of another type");
    }
  } else if (block.label == "RSA PRIVATE KEY") {
    bssl::UniquePtr<RSA> rsa(RSA_parse_private_key(&cbs));
    if (rsa != nullptr) {
      pkey.reset(EVP_PKEY_new());
      EVP_PKEY_assign_RSA(pkey.get(), rsa.release());
    }
  } else if (block.label == "EC PRIVATE KEY") {
    bssl::UniquePtr<EC_KEY> ec(EC_KEY_parse_private_key(&cbs, nullptr));
    if (ec != nullptr) {
      pkey.reset(EVP_PKEY_new());
      EVP_PKEY_assign_EC_KEY(pkey.get(), ec.release());
    }
  } else {
    return absl::InvalidArgumentError(absl::StrCat(
        "PEM block \"", block.label,
        "\" is not a private key (want PRIVATE KEY, RSA PRIVATE KEY, "
        "EC PRIVATE KEY or ED25519 PRIVATE KEY)"));
  }
  if (pkey == nullptr || CBS_len(&cbs) != 0) {
    return MalformedPemBlock(block.label);
  }
  return KeyAccess::MakePrivate(std::move(pkey));
}

PublicKey PrivateKey::public_key() const {
  // The EVP_PKEY holds both halves; sharing it is safe because every use is
  // read-only.
  return PublicKey(handle_, type_);
}

absl::StatusOr<Secret> PrivateKey::ToPem(PrivateKeyPem format) const {
  EVP_PKEY* pkey = handle_->pkey.get();
  std::string label = "PRIVATE KEY";
  absl::StatusOr<std::string> der;
  if (format == PrivateKeyPem::kTalos && type_ == KeyType::kRsa) {
    label = "RSA PRIVATE KEY";
    der = Marshal(
        [&](CBB* cbb) {
          return RSA_marshal_private_key(cbb, EVP_PKEY_get0_RSA(pkey));
        },
        "RSA private key");
  } else if (format == PrivateKeyPem::kTalos && type_ == KeyType::kEcdsaP256) {
    label = "EC PRIVATE KEY";
    der = Marshal(
        [&](CBB* cbb) {
          return EC_KEY_marshal_private_key(cbb, EVP_PKEY_get0_EC_KEY(pkey), 0);
        },
        "EC private key");
  } else {
    if (format == PrivateKeyPem::kTalos) label = "ED25519 PRIVATE KEY";
    der = Marshal([&](CBB* cbb) { return EVP_marshal_private_key(cbb, pkey); },
                  "private key");
  }
  if (!der.ok()) return der.status();
  Secret pem(PemEncode(label, *der));
  WipeBytes(der->data(), der->size());
  return pem;
}

absl::StatusOr<std::string> PrivateKey::Sign(absl::string_view message) const {
  bssl::ScopedEVP_MD_CTX ctx;
  if (!EVP_DigestSignInit(ctx.get(), nullptr, SigningDigest(type_), nullptr,
                          handle_->pkey.get())) {
    return absl::InternalError(absl::StrCat("sign init: ", SslError()));
  }
  size_t len = 0;
  if (!EVP_DigestSign(ctx.get(), nullptr, &len, U8(message), message.size())) {
    return absl::InternalError(absl::StrCat("sign: ", SslError()));
  }
  std::string sig(len, '\0');
  if (!EVP_DigestSign(ctx.get(), reinterpret_cast<uint8_t*>(sig.data()), &len,
                      U8(message), message.size())) {
    return absl::InternalError(absl::StrCat("sign: ", SslError()));
  }
  sig.resize(len);
  return sig;
}

absl::StatusOr<Secret> PrivateKey::OaepDecrypt(absl::string_view ciphertext,
                                               absl::string_view label) const {
  if (type_ != KeyType::kRsa) {
    return absl::InvalidArgumentError(
        absl::StrCat("RSA-OAEP needs an RSA key, have ", KeyTypeName(type_)));
  }
  bssl::UniquePtr<EVP_PKEY_CTX> ctx =
      OaepContext(handle_->pkey.get(), /*encrypt=*/false, label);
  if (ctx == nullptr) {
    return absl::InternalError(absl::StrCat("RSA-OAEP setup: ", SslError()));
  }
  std::string out(RSA_size(EVP_PKEY_get0_RSA(handle_->pkey.get())), '\0');
  size_t len = out.size();
  if (!EVP_PKEY_decrypt(ctx.get(), reinterpret_cast<uint8_t*>(out.data()), &len,
                        U8(ciphertext), ciphertext.size())) {
    ERR_clear_error();
    return absl::PermissionDeniedError(
        "RSA-OAEP decryption failed (wrong key or label, or altered data)");
  }
  out.resize(len);
  return Secret(std::move(out));
}

// --- Hybrid encryption -----------------------------------------------------

absl::StatusOr<std::string> HybridSeal(const PublicKey& rsa_key,
                                       absl::string_view plaintext,
                                       absl::string_view label) {
  Secret session_key(RandomBytes(32));
  ASSIGN_OR_RETURN(std::string rsa_ct,
                   rsa_key.OaepEncrypt(session_key.Reveal(), label));
  if (rsa_ct.size() > 0xffff) {
    return absl::InvalidArgumentError("RSA key too large for the blob format");
  }
  ASSIGN_OR_RETURN(
      std::string aes_ct,
      Aes256GcmSeal(session_key, std::string(12, '\0'), plaintext));
  std::string blob;
  blob.reserve(2 + rsa_ct.size() + aes_ct.size());
  blob.push_back(static_cast<char>(rsa_ct.size() >> 8));
  blob.push_back(static_cast<char>(rsa_ct.size() & 0xff));
  blob.append(rsa_ct);
  blob.append(aes_ct);
  return blob;
}

absl::StatusOr<Secret> HybridOpen(const PrivateKey& rsa_key,
                                  absl::string_view blob,
                                  absl::string_view label) {
  if (blob.size() < 2) {
    return absl::InvalidArgumentError("sealed blob too short (< 2 bytes)");
  }
  size_t n =
      (static_cast<uint8_t>(blob[0]) << 8) | static_cast<uint8_t>(blob[1]);
  if (blob.size() < 2 + n) {
    return absl::InvalidArgumentError(
        absl::StrCat("sealed blob too short: declares a ", n,
                     "-byte RSA part, has ", blob.size() - 2, " bytes"));
  }
  ASSIGN_OR_RETURN(Secret session_key,
                   rsa_key.OaepDecrypt(blob.substr(2, n), label));
  return Aes256GcmOpen(session_key, std::string(12, '\0'), blob.substr(2 + n));
}

}  // namespace coldstart
