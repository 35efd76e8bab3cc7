#ifndef COLDSTART_LIB_SECRETS_CRYPTO_H_
#define COLDSTART_LIB_SECRETS_CRYPTO_H_

// The project's cryptography, all of it on BoringSSL (prefixed build; see
// facts/build.md §8). This header exposes no BoringSSL type, so it may be
// included next to any other library's headers.
//
// Errors: malformed input (bad PEM, wrong key type for an operation, wrong
// lengths) is InvalidArgument; a failed authentication check (wrong label,
// wrong key, tampered ciphertext, bad signature, untrusted chain) is
// PermissionDenied with a message that names no secret; a failure inside
// BoringSSL that input cannot explain is Internal.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "lib/secrets/secret.h"

namespace coldstart {

// --- Random bytes, hashes, MACs -------------------------------------------

// `n` bytes from BoringSSL's CSPRNG.
std::string RandomBytes(size_t n);
// SHA-256 of `data`: 32 raw bytes.
std::string Sha256(absl::string_view data);
// HMAC-SHA256 of `data` under `key`: 32 raw bytes.
std::string HmacSha256(absl::string_view key, absl::string_view data);
// Lower-case hex of `bytes`.
std::string HexEncode(absl::string_view bytes);

// --- AES-256-GCM -----------------------------------------------------------

// Seals `plaintext`: returns ciphertext ‖ 16-byte tag (Go's Seal layout).
// `key` must be 32 bytes and `nonce` 12 bytes (InvalidArgument otherwise).
// A (key, nonce) pair must never be used twice.
absl::StatusOr<std::string> Aes256GcmSeal(const Secret& key,
                                          absl::string_view nonce,
                                          absl::string_view plaintext,
                                          absl::string_view aad = {});
// Opens what Aes256GcmSeal produced; PermissionDenied if the tag does not
// authenticate (wrong key, nonce, aad or tampered data).
absl::StatusOr<Secret> Aes256GcmOpen(const Secret& key, absl::string_view nonce,
                                     absl::string_view sealed,
                                     absl::string_view aad = {});

// --- Keys ------------------------------------------------------------------

enum class KeyType { kRsa, kEcdsaP256, kEd25519 };
absl::string_view KeyTypeName(KeyType type);

struct KeyHandle;  // Defined in crypto.cc; wraps BoringSSL's EVP_PKEY.

// A public key. Cheap to copy (shared, immutable).
class PublicKey {
 public:
  // Reads a "PUBLIC KEY" (SubjectPublicKeyInfo) or "RSA PUBLIC KEY" (PKCS#1)
  // PEM block.
  static absl::StatusOr<PublicKey> FromPem(absl::string_view pem);
  // The Ed25519 public key from its 32 raw bytes.
  static absl::StatusOr<PublicKey> FromEd25519Bytes(absl::string_view raw);

  KeyType type() const { return type_; }
  // "PUBLIC KEY" PEM (SubjectPublicKeyInfo).
  std::string ToPem() const;
  // DER SubjectPublicKeyInfo.
  std::string ToDer() const;
  // OpenSSH authorized_keys line "ssh-ed25519 AAAA... comment" (comment
  // omitted when empty). Ed25519 only; InvalidArgument for other types.
  absl::StatusOr<std::string> ToOpenSsh(absl::string_view comment = {}) const;
  // Raw 32-byte Ed25519 public key; InvalidArgument for other types.
  absl::StatusOr<std::string> Ed25519Bytes() const;
  // Modulus size in bytes (RSA only; 0 otherwise).
  size_t RsaModulusBytes() const;

  // Verifies `signature` over `message`: Ed25519 (pure), ECDSA P-256 with
  // SHA-256 (DER signature), RSA PKCS#1 v1.5 with SHA-256.
  absl::Status Verify(absl::string_view message,
                      absl::string_view signature) const;
  // RSA-OAEP with SHA-256 as OAEP and MGF1 hash, the given label (may be
  // empty). RSA keys only.
  absl::StatusOr<std::string> OaepEncrypt(absl::string_view plaintext,
                                          absl::string_view label) const;

  friend bool operator==(const PublicKey& a, const PublicKey& b) {
    return a.ToDer() == b.ToDer();
  }

 private:
  friend class PrivateKey;
  friend class Certificate;
  friend struct KeyAccess;
  PublicKey(std::shared_ptr<const KeyHandle> handle, KeyType type)
      : handle_(std::move(handle)), type_(type) {}
  std::shared_ptr<const KeyHandle> handle_;
  KeyType type_;
};

// How a private key is written as PEM.
enum class PrivateKeyPem {
  // "PRIVATE KEY", PKCS#8 for every type (what Talos ≥1.11 and most tools
  // accept).
  kPkcs8,
  // The labels Talos writes (facts/talos.md §3.4): "RSA PRIVATE KEY" (PKCS#1),
  // "EC PRIVATE KEY" (SEC1), "ED25519 PRIVATE KEY" (PKCS#8 body).
  kTalos,
};

// A private key. Cheap to copy (shared, immutable). Its material leaves the
// object only as a Secret.
class PrivateKey {
 public:
  static absl::StatusOr<PrivateKey> GenerateRsa(int bits = 4096);
  static PrivateKey GenerateEcdsaP256();
  static PrivateKey GenerateEd25519();
  // The Ed25519 key with the given 32-byte seed (RFC 8032 "secret key").
  static absl::StatusOr<PrivateKey> Ed25519FromSeed(const Secret& seed);
  // Reads one private key PEM block labelled "PRIVATE KEY" (PKCS#8),
  // "RSA PRIVATE KEY" (PKCS#1), "EC PRIVATE KEY" (SEC1, P-256 only) or
  // "ED25519 PRIVATE KEY" (PKCS#8 body; Talos ≤1.10). Encrypted PEM is
  // InvalidArgument.
  static absl::StatusOr<PrivateKey> FromPem(const Secret& pem);

  KeyType type() const { return type_; }
  PublicKey public_key() const;
  absl::StatusOr<Secret> ToPem(
      PrivateKeyPem format = PrivateKeyPem::kTalos) const;

  // Signs `message` (see PublicKey::Verify for the schemes).
  absl::StatusOr<std::string> Sign(absl::string_view message) const;
  // Inverse of PublicKey::OaepEncrypt. PermissionDenied when the ciphertext
  // does not decrypt under this key and label.
  absl::StatusOr<Secret> OaepDecrypt(absl::string_view ciphertext,
                                     absl::string_view label) const;

 private:
  friend class Certificate;
  friend struct KeyAccess;
  PrivateKey(std::shared_ptr<const KeyHandle> handle, KeyType type)
      : handle_(std::move(handle)), type_(type) {}
  std::shared_ptr<const KeyHandle> handle_;
  KeyType type_;
};

// --- Hybrid encryption (sealed-secrets format, facts/sealed-secrets.md §1) --

// blob = uint16_be(len(RSA_CT)) ‖ RSA_CT ‖ AES-256-GCM(K, zero nonce,
// plaintext), where K is a fresh random 32-byte key and RSA_CT =
// RSA-OAEP-SHA256(rsa_key, K, label). `rsa_key` must be RSA.
absl::StatusOr<std::string> HybridSeal(const PublicKey& rsa_key,
                                       absl::string_view plaintext,
                                       absl::string_view label);
// Opens a HybridSeal blob. InvalidArgument when the blob is too short to
// hold its declared RSA part; PermissionDenied when the key or label does not
// match or the data was altered (these are indistinguishable by design).
absl::StatusOr<Secret> HybridOpen(const PrivateKey& rsa_key,
                                  absl::string_view blob,
                                  absl::string_view label);

// --- X.509 -----------------------------------------------------------------

// Key usage bits (RFC 5280 §4.2.1.3).
enum KeyUsage : uint32_t {
  kDigitalSignature = 1 << 0,
  kKeyEncipherment = 1 << 1,
  kKeyCertSign = 1 << 2,
  kCrlSign = 1 << 3,
  kEncipherOnly = 1 << 4,
};

// Extended key usage OIDs (RFC 5280 §4.2.1.12), dotted, as
// Certificate::ExtendedKeyUsageOids returns them.
inline constexpr absl::string_view kServerAuthOid = "1.3.6.1.5.5.7.3.1";
inline constexpr absl::string_view kClientAuthOid = "1.3.6.1.5.5.7.3.2";
inline constexpr absl::string_view kAnyExtendedKeyUsageOid = "2.5.29.37.0";

// What to put into a certificate.
struct CertificateTemplate {
  std::string common_name;                 // Empty: no CN.
  std::vector<std::string> organizations;  // Subject O values.
  bool is_ca = false;                      // Basic constraints CA:TRUE.
  uint32_t key_usage = 0;                  // KeyUsage bits; 0: no extension.
  bool server_auth = false;                // Extended key usages.
  bool client_auth = false;
  std::vector<std::string> dns_names;     // subjectAltName DNS entries.
  std::vector<std::string> ip_addresses;  // subjectAltName IP entries.
  absl::Time not_before;
  absl::Time not_after;
};

// An X.509 certificate. Cheap to copy (shared, immutable).
class Certificate {
 public:
  // Reads the first "CERTIFICATE" PEM block of `pem`.
  static absl::StatusOr<Certificate> FromPem(absl::string_view pem);
  static absl::StatusOr<Certificate> FromDer(absl::string_view der);
  // Every "CERTIFICATE" block of `pem`, in order (at least one).
  static absl::StatusOr<std::vector<Certificate>> AllFromPem(
      absl::string_view pem);

  std::string ToPem() const;
  const std::string& der() const { return der_; }
  // SHA-256 of the DER encoding (what Proxmox and browsers show as the
  // certificate fingerprint), raw 32 bytes.
  std::string Sha256Fingerprint() const { return Sha256(der_); }
  absl::StatusOr<PublicKey> public_key() const;
  absl::Time not_before() const;
  absl::Time not_after() const;
  // One line "CN=..., O=..." for messages.
  std::string SubjectString() const;
  // The subject's Organization (O) values, in order, as UTF-8.
  std::vector<std::string> Organizations() const;
  // True when basic constraints say CA:TRUE.
  bool IsCa() const;
  // Every extended key usage OID of the certificate, dotted, in certificate
  // order (also OIDs this library has no name for); empty when the
  // certificate has no extended key usage extension. InvalidArgument when the
  // extension is malformed or repeated.
  absl::StatusOr<std::vector<std::string>> ExtendedKeyUsageOids() const;

 private:
  explicit Certificate(std::string der) : der_(std::move(der)) {}
  std::string der_;
};

// Issues a certificate for `subject_key` signed by `issuer_key`. With
// `issuer` null the certificate is self-signed (issuer name = subject name;
// `issuer_key` must then match `subject_key`). The serial is a random
// positive 128-bit number; the signature is Ed25519, ECDSA-SHA256 or
// SHA256-with-RSA by the issuer key's type. Subject and authority key
// identifiers are added.
absl::StatusOr<Certificate> IssueCertificate(const CertificateTemplate& spec,
                                             const PublicKey& subject_key,
                                             const PrivateKey& issuer_key,
                                             const Certificate* issuer);

// Verifies `leaf` up to one of `roots` through `intermediates` at time `at`.
// A non-empty `host` must match a DNS or IP subjectAltName. PermissionDenied
// with BoringSSL's reason when the chain does not verify.
absl::Status VerifyCertificateChain(const Certificate& leaf,
                                    absl::Span<const Certificate> intermediates,
                                    absl::Span<const Certificate> roots,
                                    absl::Time at, absl::string_view host = {});

}  // namespace coldstart

#endif  // COLDSTART_LIB_SECRETS_CRYPTO_H_
