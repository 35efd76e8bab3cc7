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

namespace {

// The most recent BoringSSL error reason, for messages (never secret data).
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

struct PemBlock {
  std::string label;
  std::string der;
  ~PemBlock() { WipeBytes(der.data(), der.size()); }
};

// Reads PEM blocks from `pem` in order. Encrypted blocks (with headers) are
// InvalidArgument.
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

CBS CbsOf(absl::string_view bytes) {
  CBS cbs;
  CBS_init(&cbs, reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  return cbs;
}

const uint8_t* U8(absl::string_view s) {
  return reinterpret_cast<const uint8_t*>(s.data());
}

}  // namespace

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
    ERR_clear_error();
    return absl::InvalidArgumentError(
        absl::StrCat("malformed \"", block.label, "\" PEM block"));
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

// The digest each key type signs with (null: Ed25519 signs the message).
const EVP_MD* SigningDigest(KeyType type) {
  return type == KeyType::kEd25519 ? nullptr : EVP_sha256();
}

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
    ERR_clear_error();
    return absl::InvalidArgumentError(
        absl::StrCat("malformed \"", block.label, "\" PEM block"));
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

// --- X.509 -----------------------------------------------------------------

namespace {

bssl::UniquePtr<X509> ParseX509(absl::string_view der) {
  const uint8_t* p = U8(der);
  bssl::UniquePtr<X509> x509(d2i_X509(nullptr, &p, der.size()));
  if (x509 == nullptr || p != U8(der) + der.size()) {
    ERR_clear_error();
    return nullptr;
  }
  return x509;
}

absl::StatusOr<std::string> X509ToDer(X509* x509) {
  uint8_t* out = nullptr;
  int len = i2d_X509(x509, &out);
  if (len <= 0) {
    return absl::InternalError(
        absl::StrCat("encode certificate: ", SslError()));
  }
  std::string der(reinterpret_cast<const char*>(out), len);
  OPENSSL_free(out);
  return der;
}

absl::Time AsnTimeToAbsl(const ASN1_TIME* t) {
  bssl::UniquePtr<ASN1_TIME> epoch(ASN1_TIME_set(nullptr, 0));
  int days = 0, seconds = 0;
  if (t == nullptr || !ASN1_TIME_diff(&days, &seconds, epoch.get(), t)) {
    ERR_clear_error();
    return absl::InfinitePast();
  }
  return absl::UnixEpoch() + absl::Hours(24) * days + absl::Seconds(seconds);
}

absl::Status AddExtension(X509* cert, X509V3_CTX* ctx, int nid,
                          const std::string& value) {
  bssl::UniquePtr<X509_EXTENSION> ext(
      X509V3_EXT_nconf_nid(nullptr, ctx, nid, value.c_str()));
  if (ext == nullptr || !X509_add_ext(cert, ext.get(), -1)) {
    return absl::InvalidArgumentError(absl::StrCat("certificate extension ",
                                                   OBJ_nid2sn(nid), "=\"",
                                                   value, "\": ", SslError()));
  }
  return absl::OkStatus();
}

absl::Status SetName(X509_NAME* name, const CertificateTemplate& spec) {
  for (const std::string& org : spec.organizations) {
    if (!X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, U8(org),
                                    org.size(), -1, 0)) {
      return absl::InvalidArgumentError(
          absl::StrCat("subject O=\"", org, "\": ", SslError()));
    }
  }
  if (!spec.common_name.empty() &&
      !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                  U8(spec.common_name), spec.common_name.size(),
                                  -1, 0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("subject CN=\"", spec.common_name, "\": ", SslError()));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Certificate> Certificate::FromDer(absl::string_view der) {
  if (ParseX509(der) == nullptr) {
    return absl::InvalidArgumentError("malformed X.509 certificate (DER)");
  }
  return Certificate(std::string(der));
}

absl::StatusOr<std::vector<Certificate>> Certificate::AllFromPem(
    absl::string_view pem) {
  ASSIGN_OR_RETURN(std::vector<PemBlock> blocks, PemDecodeAll(pem));
  std::vector<Certificate> certs;
  for (const PemBlock& block : blocks) {
    if (block.label != "CERTIFICATE") continue;
    ASSIGN_OR_RETURN(Certificate cert, FromDer(block.der));
    certs.push_back(std::move(cert));
  }
  if (certs.empty()) {
    return absl::InvalidArgumentError("no \"CERTIFICATE\" PEM block found");
  }
  return certs;
}

absl::StatusOr<Certificate> Certificate::FromPem(absl::string_view pem) {
  ASSIGN_OR_RETURN(std::vector<Certificate> certs, AllFromPem(pem));
  return std::move(certs.front());
}

std::string Certificate::ToPem() const {
  return PemEncode("CERTIFICATE", der_);
}

absl::StatusOr<PublicKey> Certificate::public_key() const {
  bssl::UniquePtr<X509> x509 = ParseX509(der_);
  bssl::UniquePtr<EVP_PKEY> pkey(X509_get_pubkey(x509.get()));
  if (pkey == nullptr) {
    ERR_clear_error();
    return absl::InvalidArgumentError(
        "certificate's public key is of an unsupported type");
  }
  return KeyAccess::MakePublic(std::move(pkey));
}

absl::Time Certificate::not_before() const {
  return AsnTimeToAbsl(X509_get0_notBefore(ParseX509(der_).get()));
}

absl::Time Certificate::not_after() const {
  return AsnTimeToAbsl(X509_get0_notAfter(ParseX509(der_).get()));
}

std::string Certificate::SubjectString() const {
  bssl::UniquePtr<X509> x509 = ParseX509(der_);
  bssl::UniquePtr<BIO> bio(BIO_new(BIO_s_mem()));
  X509_NAME_print_ex(bio.get(), X509_get_subject_name(x509.get()), 0,
                     XN_FLAG_RFC2253);
  const uint8_t* contents = nullptr;
  size_t len = 0;
  BIO_mem_contents(bio.get(), &contents, &len);
  return std::string(reinterpret_cast<const char*>(contents), len);
}

std::vector<std::string> Certificate::Organizations() const {
  std::vector<std::string> orgs;
  bssl::UniquePtr<X509> x509 = ParseX509(der_);
  X509_NAME* name = X509_get_subject_name(x509.get());
  for (int i = -1;
       (i = X509_NAME_get_index_by_NID(name, NID_organizationName, i)) >= 0;) {
    uint8_t* utf8 = nullptr;
    int len = ASN1_STRING_to_UTF8(
        &utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i)));
    if (len < 0) {
      ERR_clear_error();
      continue;
    }
    orgs.emplace_back(reinterpret_cast<const char*>(utf8), len);
    OPENSSL_free(utf8);
  }
  return orgs;
}

bool Certificate::IsCa() const {
  bssl::UniquePtr<X509> x509 = ParseX509(der_);
  return (X509_get_extension_flags(x509.get()) & EXFLAG_CA) != 0;
}

absl::StatusOr<std::vector<std::string>> Certificate::ExtendedKeyUsageOids()
    const {
  bssl::UniquePtr<X509> x509 = ParseX509(der_);
  int critical = 0;
  std::unique_ptr<EXTENDED_KEY_USAGE, decltype(&EXTENDED_KEY_USAGE_free)> ekus(
      static_cast<EXTENDED_KEY_USAGE*>(
          X509_get_ext_d2i(x509.get(), NID_ext_key_usage, &critical, nullptr)),
      &EXTENDED_KEY_USAGE_free);
  std::vector<std::string> oids;
  if (ekus == nullptr) {
    ERR_clear_error();
    if (critical == -1) return oids;  // No such extension.
    return absl::InvalidArgumentError(
        absl::StrCat("certificate ", SubjectString(), ": ",
                     critical == -2 ? "repeated" : "malformed",
                     " extended key usage extension"));
  }
  for (size_t i = 0; i < sk_ASN1_OBJECT_num(ekus.get()); ++i) {
    char buf[128];
    int len = OBJ_obj2txt(buf, sizeof(buf), sk_ASN1_OBJECT_value(ekus.get(), i),
                          /*always_return_oid=*/1);
    if (len < 0 || static_cast<size_t>(len) >= sizeof(buf)) {
      ERR_clear_error();
      return absl::InvalidArgumentError(
          absl::StrCat("certificate ", SubjectString(),
                       ": unreadable extended key usage OID"));
    }
    oids.emplace_back(buf, len);
  }
  return oids;
}

absl::StatusOr<Certificate> IssueCertificate(const CertificateTemplate& spec,
                                             const PublicKey& subject_key,
                                             const PrivateKey& issuer_key,
                                             const Certificate* issuer) {
  if (spec.not_after <= spec.not_before) {
    return absl::InvalidArgumentError("certificate not_after <= not_before");
  }
  bssl::UniquePtr<X509> issuer_x509;
  if (issuer != nullptr) {
    issuer_x509 = ParseX509(issuer->der());
    ASSIGN_OR_RETURN(PublicKey issuer_pub, issuer->public_key());
    if (!(issuer_pub == issuer_key.public_key())) {
      return absl::InvalidArgumentError(
          "issuer key does not match the issuer certificate");
    }
  } else if (!(subject_key == issuer_key.public_key())) {
    return absl::InvalidArgumentError(
        "self-signed certificate: issuer key does not match the subject key");
  }

  bssl::UniquePtr<X509> cert(X509_new());
  bssl::UniquePtr<BIGNUM> serial(BN_new());
  bssl::UniquePtr<ASN1_TIME> not_before(
      ASN1_TIME_set(nullptr, absl::ToTimeT(spec.not_before)));
  bssl::UniquePtr<ASN1_TIME> not_after(
      ASN1_TIME_set(nullptr, absl::ToTimeT(spec.not_after)));
  if (!X509_set_version(cert.get(), X509_VERSION_3) ||
      !BN_rand(serial.get(), 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) ||
      !BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get())) ||
      not_before == nullptr || not_after == nullptr ||
      !X509_set1_notBefore(cert.get(), not_before.get()) ||
      !X509_set1_notAfter(cert.get(), not_after.get()) ||
      !X509_set_pubkey(cert.get(), KeyAccess::Get(subject_key))) {
    return absl::InternalError(absl::StrCat("certificate: ", SslError()));
  }
  RETURN_IF_ERROR(SetName(X509_get_subject_name(cert.get()), spec));
  if (!X509_set_issuer_name(
          cert.get(), issuer_x509 ? X509_get_subject_name(issuer_x509.get())
                                  : X509_get_subject_name(cert.get()))) {
    return absl::InternalError(absl::StrCat("certificate: ", SslError()));
  }

  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer_x509 ? issuer_x509.get() : cert.get(), cert.get(),
                 nullptr, nullptr, 0);
  RETURN_IF_ERROR(
      AddExtension(cert.get(), &ctx, NID_basic_constraints,
                   spec.is_ca ? "critical,CA:TRUE" : "critical,CA:FALSE"));
  if (spec.key_usage != 0) {
    std::vector<std::string> usages;
    if (spec.key_usage & kDigitalSignature)
      usages.push_back("digitalSignature");
    if (spec.key_usage & kKeyEncipherment) usages.push_back("keyEncipherment");
    if (spec.key_usage & kKeyCertSign) usages.push_back("keyCertSign");
    if (spec.key_usage & kCrlSign) usages.push_back("cRLSign");
    if (spec.key_usage & kEncipherOnly) {
      usages.push_back("keyAgreement");  // encipherOnly requires it (RFC 5280).
      usages.push_back("encipherOnly");
    }
    RETURN_IF_ERROR(AddExtension(cert.get(), &ctx, NID_key_usage,
                                 "critical," + absl::StrJoin(usages, ",")));
  }
  std::vector<std::string> ekus;
  if (spec.server_auth) ekus.push_back("serverAuth");
  if (spec.client_auth) ekus.push_back("clientAuth");
  if (!ekus.empty()) {
    RETURN_IF_ERROR(AddExtension(cert.get(), &ctx, NID_ext_key_usage,
                                 absl::StrJoin(ekus, ",")));
  }
  std::vector<std::string> sans;
  for (const std::string& dns : spec.dns_names) sans.push_back("DNS:" + dns);
  for (const std::string& ip : spec.ip_addresses) sans.push_back("IP:" + ip);
  if (!sans.empty()) {
    RETURN_IF_ERROR(AddExtension(cert.get(), &ctx, NID_subject_alt_name,
                                 absl::StrJoin(sans, ",")));
  }
  RETURN_IF_ERROR(
      AddExtension(cert.get(), &ctx, NID_subject_key_identifier, "hash"));
  if (issuer_x509 != nullptr) {
    RETURN_IF_ERROR(AddExtension(cert.get(), &ctx, NID_authority_key_identifier,
                                 "keyid:always"));
  }
  if (!X509_sign(cert.get(), KeyAccess::Get(issuer_key),
                 SigningDigest(issuer_key.type()))) {
    return absl::InternalError(absl::StrCat("sign certificate: ", SslError()));
  }
  ASSIGN_OR_RETURN(std::string der, X509ToDer(cert.get()));
  return Certificate::FromDer(der);
}

absl::Status VerifyCertificateChain(const Certificate& leaf,
                                    absl::Span<const Certificate> intermediates,
                                    absl::Span<const Certificate> roots,
                                    absl::Time at, absl::string_view host) {
  bssl::UniquePtr<X509_STORE> store(X509_STORE_new());
  for (const Certificate& root : roots) {
    bssl::UniquePtr<X509> x509 = ParseX509(root.der());
    if (x509 == nullptr || !X509_STORE_add_cert(store.get(), x509.get())) {
      return absl::InternalError(absl::StrCat("trust store: ", SslError()));
    }
  }
  bssl::UniquePtr<STACK_OF(X509)> chain(sk_X509_new_null());
  for (const Certificate& intermediate : intermediates) {
    bssl::UniquePtr<X509> x509 = ParseX509(intermediate.der());
    if (x509 == nullptr || !sk_X509_push(chain.get(), x509.get())) {
      return absl::InternalError(absl::StrCat("chain: ", SslError()));
    }
    x509.release();
  }
  bssl::UniquePtr<X509> leaf_x509 = ParseX509(leaf.der());
  bssl::UniquePtr<X509_STORE_CTX> ctx(X509_STORE_CTX_new());
  if (leaf_x509 == nullptr ||
      !X509_STORE_CTX_init(ctx.get(), store.get(), leaf_x509.get(),
                           chain.get())) {
    return absl::InternalError(absl::StrCat("verify setup: ", SslError()));
  }
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());
  X509_VERIFY_PARAM_set_time(param, absl::ToTimeT(at));
  if (!host.empty()) {
    bssl::UniquePtr<ASN1_OCTET_STRING> ip(
        a2i_IPADDRESS(std::string(host).c_str()));
    ERR_clear_error();
    int ok = ip != nullptr
                 ? X509_VERIFY_PARAM_set1_ip(param, ip->data, ip->length)
                 : X509_VERIFY_PARAM_set1_host(param, host.data(), host.size());
    if (!ok) {
      return absl::InvalidArgumentError(
          absl::StrCat("bad host name \"", host, "\""));
    }
  }
  if (X509_verify_cert(ctx.get()) != 1) {
    int err = X509_STORE_CTX_get_error(ctx.get());
    ERR_clear_error();
    return absl::PermissionDeniedError(absl::StrCat(
        "certificate ", leaf.SubjectString(),
        " does not verify: ", X509_verify_cert_error_string(err), " (at depth ",
        X509_STORE_CTX_get_error_depth(ctx.get()), ")"));
  }
  return absl::OkStatus();
}

}  // namespace coldstart
