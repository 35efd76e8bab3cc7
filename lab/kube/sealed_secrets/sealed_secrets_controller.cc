#include "lab/kube/sealed_secrets/sealed_secrets_controller.h"

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "lib/base/status_macros.h"
#include "lib/secrets/crypto.h"
#include "lib/secrets/secret.h"

namespace coldstart::lab {

struct SealedSecretsController::LoadedKey {
  PrivateKey key;
};

namespace {

// `chars` (at most 32) random lowercase hex digits.
std::string RandomHex(size_t chars) {
  return HexEncode(RandomBytes(16)).substr(0, chars);
}

// An RSA private key from PEM ("RSA PRIVATE KEY" as the controller writes
// it, or PKCS#8), else nullopt.
std::optional<PrivateKey> ParseRsaKey(std::string pem) {
  absl::StatusOr<PrivateKey> key = PrivateKey::FromPem(Secret(std::move(pem)));
  if (!key.ok() || key->type() != KeyType::kRsa) return std::nullopt;
  return *std::move(key);
}

// The NotBefore of the first certificate in `pem`.
std::optional<absl::Time> CertificateNotBefore(const std::string& pem) {
  absl::StatusOr<Certificate> cert = Certificate::FromPem(pem);
  if (!cert.ok()) return std::nullopt;
  return cert->not_before();
}

struct GeneratedKey {
  PrivateKey key;
  Secret key_pem;  // PKCS#1 "RSA PRIVATE KEY", as the controller writes
  std::string certificate_pem;
};

// The controller's key: RSA, a self-signed CA certificate with key usage
// EncipherOnly, empty subject, NotBefore = now, valid 10 years, SHA-256.
absl::StatusOr<GeneratedKey> GenerateKey(int bits, absl::Time now) {
  ASSIGN_OR_RETURN(PrivateKey key, PrivateKey::GenerateRsa(bits));
  CertificateTemplate spec;
  spec.is_ca = true;
  spec.key_usage = kEncipherOnly;
  spec.not_before = now;
  spec.not_after = now + absl::Hours(87600);
  ASSIGN_OR_RETURN(Certificate cert,
                   IssueCertificate(spec, key.public_key(), key, nullptr));
  ASSIGN_OR_RETURN(Secret key_pem, key.ToPem(PrivateKeyPem::kTalos));
  return GeneratedKey{std::move(key), std::move(key_pem), cert.ToPem()};
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
    std::optional<PrivateKey> key = ParseRsaKey(std::move(key_pem));
    std::optional<absl::Time> not_before = CertificateNotBefore(cert_pem);
    if (!key.has_value() || !not_before.has_value()) continue;
    keys_.push_back(std::make_shared<const LoadedKey>(LoadedKey{*key}));
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
            {"tls.key", absl::Base64Escape(generated->key_pem.Reveal())}}}};
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
        absl::StatusOr<Secret> plain = HybridOpen(loaded->key, blob, label);
        if (plain.ok()) {
          data[key] = absl::Base64Escape(plain->Reveal());
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
