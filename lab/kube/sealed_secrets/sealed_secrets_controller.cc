#include "lab/kube/sealed_secrets/sealed_secrets_controller.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cstring>
#include <ctime>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

#if defined(BORINGSSL_PREFIX)
#error \
    "the lab's controller uses Debian's OpenSSL (labd links it next to cpp-httplib)"
#endif

namespace coldstart::lab {

struct SealedSecretsController::LoadedKey {
  std::shared_ptr<EVP_PKEY> key;
};

namespace {

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct CtxFree {
  void operator()(EVP_PKEY_CTX* c) const { EVP_PKEY_CTX_free(c); }
};
struct CipherFree {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;

std::string BioText(BIO* bio) {
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(len));
}

std::string RandomHex(size_t chars) {
  unsigned char bytes[16];
  RAND_bytes(bytes, sizeof(bytes));
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < chars && i < 2 * sizeof(bytes); ++i) {
    out.push_back(kHex[(bytes[i / 2] >> (i % 2 ? 0 : 4)) & 0xf]);
  }
  return out;
}

// An RSA private key from PEM (any form OpenSSL reads), else nullptr.
std::shared_ptr<EVP_PKEY> ParseRsaKey(const std::string& pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr);
  if (key == nullptr) return nullptr;
  std::shared_ptr<EVP_PKEY> owned(key, EVP_PKEY_free);
  if (EVP_PKEY_base_id(key) != EVP_PKEY_RSA) return nullptr;
  return owned;
}

// The NotBefore of the first certificate in `pem`.
std::optional<absl::Time> CertificateNotBefore(const std::string& pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (cert == nullptr) return std::nullopt;
  std::tm tm{};
  if (ASN1_TIME_to_tm(X509_get0_notBefore(cert.get()), &tm) != 1) {
    return std::nullopt;
  }
  return absl::FromTimeT(timegm(&tm));
}

absl::Status AddExtension(X509* cert, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext =
      X509V3_EXT_conf_nid(nullptr, &ctx, nid, const_cast<char*>(value));
  if (ext == nullptr) {
    return absl::InternalError(absl::StrCat("certificate extension ", value));
  }
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  return absl::OkStatus();
}

struct GeneratedKey {
  std::shared_ptr<EVP_PKEY> key;
  std::string key_pem;  // PKCS#1 "RSA PRIVATE KEY", as the controller writes
  std::string certificate_pem;
};

// The controller's key: RSA, a self-signed CA certificate with key usage
// EncipherOnly, empty subject, NotBefore = now, valid 10 years, SHA-256.
absl::StatusOr<GeneratedKey> GenerateKey(int bits, absl::Time now) {
  EVP_PKEY* raw = EVP_RSA_gen(static_cast<unsigned int>(bits));
  if (raw == nullptr) return absl::InternalError("RSA key generation failed");
  GeneratedKey generated;
  generated.key.reset(raw, EVP_PKEY_free);
  X509Ptr cert(X509_new());
  X509_set_version(cert.get(), 2);
  unsigned char serial_bytes[16];
  RAND_bytes(serial_bytes, sizeof(serial_bytes));
  serial_bytes[0] &= 0x7f;
  BIGNUM* serial = BN_bin2bn(serial_bytes, sizeof(serial_bytes), nullptr);
  BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(cert.get()));
  BN_free(serial);
  ASN1_TIME_set(X509_getm_notBefore(cert.get()), absl::ToTimeT(now));
  ASN1_TIME_set(X509_getm_notAfter(cert.get()),
                absl::ToTimeT(now + absl::Hours(87600)));
  X509_set_pubkey(cert.get(), raw);
  X509_set_issuer_name(cert.get(), X509_get_subject_name(cert.get()));
  absl::Status status =
      AddExtension(cert.get(), NID_basic_constraints, "critical,CA:TRUE");
  if (status.ok()) {
    status = AddExtension(cert.get(), NID_key_usage, "critical,encipherOnly");
  }
  if (!status.ok()) return status;
  if (X509_sign(cert.get(), raw, EVP_sha256()) == 0) {
    return absl::InternalError("certificate signing failed");
  }
  BioPtr cert_bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(cert_bio.get(), cert.get());
  generated.certificate_pem = BioText(cert_bio.get());
  BioPtr key_bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey_traditional(key_bio.get(), raw, nullptr, nullptr, 0,
                                       nullptr, nullptr);
  generated.key_pem = BioText(key_bio.get());
  return generated;
}

// facts/sealed-secrets.md §1: uint16 length, RSA-OAEP(SHA-256, MGF1
// SHA-256, label) of the session key, AES-256-GCM with a zero nonce.
std::optional<std::string> HybridOpen(EVP_PKEY* key, const std::string& blob,
                                      const std::string& label) {
  if (blob.size() < 2) return std::nullopt;
  const size_t n = (static_cast<unsigned char>(blob[0]) << 8) |
                   static_cast<unsigned char>(blob[1]);
  if (blob.size() < 2 + n + 16) return std::nullopt;
  std::unique_ptr<EVP_PKEY_CTX, CtxFree> ctx(EVP_PKEY_CTX_new(key, nullptr));
  if (ctx == nullptr || EVP_PKEY_decrypt_init(ctx.get()) != 1 ||
      EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_OAEP_PADDING) != 1 ||
      EVP_PKEY_CTX_set_rsa_oaep_md(ctx.get(), EVP_sha256()) != 1 ||
      EVP_PKEY_CTX_set_rsa_mgf1_md(ctx.get(), EVP_sha256()) != 1) {
    return std::nullopt;
  }
  if (!label.empty()) {
    void* copy = OPENSSL_malloc(label.size());
    std::memcpy(copy, label.data(), label.size());
    if (EVP_PKEY_CTX_set0_rsa_oaep_label(ctx.get(), copy,
                                         static_cast<int>(label.size())) != 1) {
      OPENSSL_free(copy);
      return std::nullopt;
    }
  }
  const auto* rsa_ct = reinterpret_cast<const unsigned char*>(blob.data() + 2);
  size_t session_len = 0;
  if (EVP_PKEY_decrypt(ctx.get(), nullptr, &session_len, rsa_ct, n) != 1) {
    return std::nullopt;
  }
  std::string session(session_len, '\0');
  if (EVP_PKEY_decrypt(ctx.get(), reinterpret_cast<unsigned char*>(&session[0]),
                       &session_len, rsa_ct, n) != 1 ||
      session_len != 32) {
    return std::nullopt;
  }
  const std::string sealed = blob.substr(2 + n);
  const size_t text_len = sealed.size() - 16;
  std::unique_ptr<EVP_CIPHER_CTX, CipherFree> cipher(EVP_CIPHER_CTX_new());
  const unsigned char nonce[12] = {0};
  std::string plain(text_len, '\0');
  int out_len = 0;
  int final_len = 0;
  std::string tag = sealed.substr(text_len);
  const bool ok =
      EVP_DecryptInit_ex(cipher.get(), EVP_aes_256_gcm(), nullptr, nullptr,
                         nullptr) == 1 &&
      EVP_CIPHER_CTX_ctrl(cipher.get(), EVP_CTRL_GCM_SET_IVLEN, 12, nullptr) ==
          1 &&
      EVP_DecryptInit_ex(cipher.get(), nullptr, nullptr,
                         reinterpret_cast<const unsigned char*>(session.data()),
                         nonce) == 1 &&
      EVP_DecryptUpdate(cipher.get(),
                        reinterpret_cast<unsigned char*>(&plain[0]), &out_len,
                        reinterpret_cast<const unsigned char*>(sealed.data()),
                        static_cast<int>(text_len)) == 1 &&
      EVP_CIPHER_CTX_ctrl(cipher.get(), EVP_CTRL_GCM_SET_TAG, 16, &tag[0]) ==
          1 &&
      EVP_DecryptFinal_ex(cipher.get(),
                          reinterpret_cast<unsigned char*>(&plain[0]) + out_len,
                          &final_len) == 1;
  OPENSSL_cleanse(&session[0], session.size());
  if (!ok) {
    OPENSSL_cleanse(&plain[0], plain.size());
    return std::nullopt;
  }
  plain.resize(static_cast<size_t>(out_len + final_len));
  return plain;
}

constexpr char kKeyLabel[] = "sealedsecrets.bitnami.com/sealed-secrets-key";
constexpr char kApiVersion[] = "bitnami.com/v1alpha1";

// Set while the controller itself writes, so its observer ignores its own
// writes (observers run on the writing thread).
thread_local bool in_controller = false;

struct ControllerWrites {
  ControllerWrites() { in_controller = true; }
  ~ControllerWrites() { in_controller = false; }
};

Json SealedSecretCrd() {
  return Json::parse(R"({
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "sealedsecrets.bitnami.com"},
    "spec": {"group": "bitnami.com", "scope": "Namespaced",
      "names": {"kind": "SealedSecret", "plural": "sealedsecrets",
                "singular": "sealedsecret", "listKind": "SealedSecretList"},
      "versions": [{"name": "v1alpha1", "served": true, "storage": true,
        "subresources": {"status": {}},
        "schema": {"openAPIV3Schema": {"type": "object",
          "x-kubernetes-preserve-unknown-fields": true}}}]}})");
}

std::string Annotation(const Json& meta, const char* name) {
  if (!meta.contains("annotations") || !meta["annotations"].is_object()) {
    return "";
  }
  return meta["annotations"].value(name, "");
}

std::string LabelFor(const Json& meta) {
  const std::string ns = meta.value("namespace", "");
  if (Annotation(meta, "sealedsecrets.bitnami.com/cluster-wide") == "true") {
    return "";
  }
  if (Annotation(meta, "sealedsecrets.bitnami.com/namespace-wide") == "true") {
    return ns;
  }
  return absl::StrCat(ns, "/", meta.value("name", ""));
}

std::string FormatRfc3339(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
}

}  // namespace

SealedSecretsController::SealedSecretsController(
    ApiServer& api, SealedSecretsControllerOptions options)
    : api_(api), options_(std::move(options)) {}

absl::Time SealedSecretsController::Now() const {
  return options_.now ? options_.now() : absl::Now();
}

size_t SealedSecretsController::LoadedKeyCount() const {
  absl::MutexLock lock(&mu_);
  return keys_.size();
}
std::string SealedSecretsController::PodName() const {
  absl::MutexLock lock(&mu_);
  return pod_name_;
}
int SealedSecretsController::Starts() const {
  absl::MutexLock lock(&mu_);
  return starts_;
}

absl::Status SealedSecretsController::Start() {
  absl::MutexLock lock(&mu_);
  if (!observing_) {
    observing_ = true;
    api_.AddWriteObserver(
        [this](WriteVerb verb, const ResourceType& type, const Json& object) {
          OnWrite(verb, type, object);
        });
  }
  return StartLocked();
}

absl::Status SealedSecretsController::StartLocked() {
  ControllerWrites guard;
  ++starts_;
  keys_.clear();
  absl::Status status = api_.Apply(SealedSecretCrd()).status();
  if (status.ok()) {
    status = api_.Apply(Json{{"apiVersion", "v1"},
                             {"kind", "Namespace"},
                             {"metadata", {{"name", options_.ns}}}})
                 .status();
  }
  absl::Time newest = absl::InfinitePast();
  for (const Json& secret : api_.List("v1", "Secret", options_.ns)) {
    const Json meta = secret.value("metadata", Json::object());
    const bool labelled = meta.contains("labels") &&
                          meta["labels"].is_object() &&
                          meta["labels"].value(kKeyLabel, "") == "active";
    if (!labelled && meta.value("name", "") != "sealed-secrets-key") continue;
    const Json data = secret.value("data", Json::object());
    if (!data.is_object()) continue;
    std::string key_pem, cert_pem;
    if (!absl::Base64Unescape(data.value("tls.key", ""), &key_pem) ||
        !absl::Base64Unescape(data.value("tls.crt", ""), &cert_pem)) {
      continue;
    }
    std::shared_ptr<EVP_PKEY> key = ParseRsaKey(key_pem);
    OPENSSL_cleanse(&key_pem[0], key_pem.size());
    std::optional<absl::Time> not_before = CertificateNotBefore(cert_pem);
    if (key == nullptr || !not_before.has_value()) continue;
    keys_.push_back(std::make_shared<const LoadedKey>(LoadedKey{key}));
    newest = std::max(newest, *not_before);
  }
  const bool renew_due = options_.renew_period > absl::ZeroDuration() &&
                         Now() - newest >= options_.renew_period;
  if (status.ok() && (keys_.empty() || renew_due)) {
    absl::StatusOr<GeneratedKey> generated =
        GenerateKey(options_.key_bits, Now());
    if (generated.ok()) {
      Json secret = {
          {"apiVersion", "v1"},
          {"kind", "Secret"},
          {"type", "kubernetes.io/tls"},
          {"metadata",
           {{"name", absl::StrCat("sealed-secrets-key", RandomHex(5))},
            {"namespace", options_.ns},
            {"labels", {{kKeyLabel, "active"}}}}},
          {"data",
           {{"tls.crt", absl::Base64Escape(generated->certificate_pem)},
            {"tls.key", absl::Base64Escape(generated->key_pem)}}}};
      OPENSSL_cleanse(&generated->key_pem[0], generated->key_pem.size());
      status = api_.Apply(secret).status();
      keys_.push_back(
          std::make_shared<const LoadedKey>(LoadedKey{generated->key}));
    } else {
      status = generated.status();
    }
  }
  pod_name_ = absl::StrCat(options_.pod_name_prefix, RandomHex(5));
  if (status.ok()) {
    status =
        api_
            .Apply(Json{
                {"apiVersion", "v1"},
                {"kind", "Pod"},
                {"metadata",
                 {{"name", pod_name_},
                  {"namespace", options_.ns},
                  {"labels", {{"app.kubernetes.io/name", "sealed-secrets"}}}}},
                {"status",
                 {{"phase", "Running"}, {"startTime", FormatRfc3339(Now())}}}})
            .status();
  }
  for (const Json& sealed : api_.List(kApiVersion, "SealedSecret")) {
    Reconcile(sealed);
  }
  return status;
}

void SealedSecretsController::Reconcile(const Json& sealed) {
  const Json meta = sealed.value("metadata", Json::object());
  const std::string name = meta.value("name", "");
  const std::string ns = meta.value("namespace", "");
  const std::string label = LabelFor(meta);
  Json data = Json::object();
  std::string failure;
  const Json spec = sealed.value("spec", Json::object());
  const Json encrypted = spec.value("encryptedData", Json::object());
  for (const auto& [key, value] : encrypted.items()) {
    std::string blob;
    bool opened = false;
    if (value.is_string() &&
        absl::Base64Unescape(value.get<std::string>(), &blob)) {
      for (const std::shared_ptr<const LoadedKey>& loaded : keys_) {
        std::optional<std::string> plain =
            HybridOpen(loaded->key.get(), blob, label);
        if (plain.has_value()) {
          data[key] = absl::Base64Escape(*plain);
          OPENSSL_cleanse(&(*plain)[0], plain->size());
          opened = true;
          break;
        }
      }
    }
    if (!opened) failure = "no key could decrypt secret";
  }
  Json condition = {{"type", "Synced"},
                    {"lastUpdateTime", FormatRfc3339(Now())},
                    {"lastTransitionTime", FormatRfc3339(Now())}};
  if (failure.empty()) {
    const Json tmpl = spec.value("template", Json::object());
    Json secret_meta = tmpl.value("metadata", Json::object());
    secret_meta.erase("creationTimestamp");
    secret_meta["name"] = name;
    secret_meta["namespace"] = ns;
    secret_meta["ownerReferences"] =
        Json::array({{{"apiVersion", kApiVersion},
                      {"kind", "SealedSecret"},
                      {"name", name},
                      {"uid", meta.value("uid", "")},
                      {"controller", true}}});
    Json secret = {{"apiVersion", "v1"},
                   {"kind", "Secret"},
                   {"metadata", secret_meta},
                   {"type", tmpl.value("type", "Opaque")},
                   {"data", data}};
    if (api_.Apply(secret).ok()) {
      condition["status"] = "True";
    } else {
      condition["status"] = "False";
      condition["message"] = "could not write the Secret";
    }
  } else {
    condition["status"] = "False";
    condition["reason"] = "ErrUnsealFailed";
    condition["message"] = absl::StrCat("Failed to unseal: ", failure);
  }
  Json status_patch = {{"apiVersion", kApiVersion},
                       {"kind", "SealedSecret"},
                       {"metadata", {{"name", name}, {"namespace", ns}}},
                       {"status",
                        {{"observedGeneration", meta.value("generation", 1)},
                         {"conditions", Json::array({condition})}}}};
  (void)api_.Apply(status_patch);
}

void SealedSecretsController::OnWrite(WriteVerb verb, const ResourceType& type,
                                      const Json& object) {
  if (in_controller) return;  // our own writes
  absl::MutexLock lock(&mu_);
  const Json meta = object.value("metadata", Json::object());
  if (type.kind == "Pod" && verb == WriteVerb::kDelete &&
      meta.value("name", "") == pod_name_ &&
      meta.value("namespace", "") == options_.ns) {
    (void)StartLocked();  // restart: keys are read again
    return;
  }
  if (type.kind == "SealedSecret" && verb != WriteVerb::kDelete) {
    ControllerWrites guard;
    Reconcile(object);
  }
}

}  // namespace coldstart::lab
