#include "lib/secrets/keystore.h"

#include <stdlib.h>

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "lib/base/status_macros.h"
#include "lib/secrets/crypto.h"
#include "lib/secrets/keystore_backends.h"

namespace coldstart {
namespace {

constexpr char kSealedSecretsService[] = "sealed-secrets";

std::string Format(const KeystoreAttributes& attributes) {
  return absl::StrCat(
      "{", absl::StrJoin(attributes, ", ", absl::PairFormatter("=")), "}");
}

}  // namespace

KeystoreAttributes ClusterSecretAttributes(absl::string_view cluster,
                                           absl::string_view key) {
  return {{"service", "coldstart"},
          {"cluster", std::string(cluster)},
          {"key", std::string(key)}};
}

KeystoreAttributes SealingKeyAttributes(SealingKeyPart part) {
  return {{"service", kSealedSecretsService},
          {"key",
           part == SealingKeyPart::kPrivateKey ? "private_key" : "public_key"}};
}

KeystoreAttributes ArchivedSealingKeyAttributes(SealingKeyPart part,
                                                absl::string_view id) {
  return {{"service", kSealedSecretsService},
          {"key", part == SealingKeyPart::kPrivateKey ? "archived_private_key"
                                                      : "archived_public_key"},
          {"id", std::string(id)}};
}

std::string ResolveKeystoreSpec(absl::string_view flag,
                                const Environment& environment,
                                absl::string_view spec_keystore) {
  if (!flag.empty()) return std::string(flag);
  if (std::optional<std::string> env =
          NonEmpty(environment, kKeystoreEnvironmentVariable)) {
    return *env;
  }
  if (!spec_keystore.empty()) return std::string(spec_keystore);
  return "secret-service";
}

std::string KeystoreSpec(absl::string_view flag_value) {
  return ResolveKeystoreSpec(flag_value, ProcessEnvironment(), "");
}

absl::StatusOr<std::unique_ptr<Keystore>> OpenKeystore(absl::string_view spec) {
  if (spec == "secret-service") {
    return keystore_internal::OpenSecretServiceKeystore();
  }
  if (absl::ConsumePrefix(&spec, "file:")) {
    if (spec.empty()) {
      return absl::InvalidArgumentError(
          "keystore \"file:\" needs a directory, e.g. file:/root/.coldstart");
    }
    return keystore_internal::OpenFileKeystore(std::string(spec));
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown keystore \"", spec,
                   "\"; want \"secret-service\" or \"file:DIR\" (flag "
                   "--keystore or $",
                   kKeystoreEnvironmentVariable, ")"));
}

// --- Sealing keys ----------------------------------------------------------

namespace {

absl::StatusOr<SealingKey> LoadPair(Keystore& keystore,
                                    const KeystoreAttributes& private_attrs,
                                    const KeystoreAttributes& cert_attrs) {
  absl::StatusOr<Secret> private_key = keystore.Lookup(private_attrs);
  absl::StatusOr<Secret> certificate = keystore.Lookup(cert_attrs);
  if (!private_key.ok() && !certificate.ok() &&
      absl::IsNotFound(private_key.status()) &&
      absl::IsNotFound(certificate.status())) {
    return absl::NotFoundError("no sealing key");
  }
  if (!private_key.ok() && !absl::IsNotFound(private_key.status())) {
    return private_key.status();
  }
  if (!certificate.ok() && !absl::IsNotFound(certificate.status())) {
    return certificate.status();
  }
  if (!private_key.ok() || !certificate.ok()) {
    return absl::FailedPreconditionError(absl::StrCat(
        keystore.Describe(), ": sealing key half missing: ",
        Format(private_key.ok() ? cert_attrs : private_attrs),
        " not found but its counterpart exists; restore it or delete the "
        "other half"));
  }
  return SealingKey{*std::move(private_key),
                    std::string(certificate->Reveal())};
}

std::string ArchiveId(absl::string_view certificate_pem) {
  return HexEncode(Sha256(certificate_pem)).substr(0, 16);
}

}  // namespace

absl::StatusOr<std::vector<SealingKey>> LoadSealingKeys(Keystore& keystore) {
  std::vector<SealingKey> keys;
  absl::StatusOr<SealingKey> newest =
      LoadPair(keystore, SealingKeyAttributes(SealingKeyPart::kPrivateKey),
               SealingKeyAttributes(SealingKeyPart::kCertificate));
  if (newest.ok()) {
    keys.push_back(*std::move(newest));
  } else if (!absl::IsNotFound(newest.status())) {
    return newest.status();
  }
  ASSIGN_OR_RETURN(std::vector<KeystoreAttributes> archived,
                   keystore.Search({{"service", kSealedSecretsService},
                                    {"key", "archived_private_key"}}));
  for (const KeystoreAttributes& attrs : archived) {
    auto id = attrs.find("id");
    if (id == attrs.end() || attrs.size() != 3) continue;
    ASSIGN_OR_RETURN(SealingKey key,
                     LoadPair(keystore,
                              ArchivedSealingKeyAttributes(
                                  SealingKeyPart::kPrivateKey, id->second),
                              ArchivedSealingKeyAttributes(
                                  SealingKeyPart::kCertificate, id->second)));
    keys.push_back(std::move(key));
  }
  return keys;
}

absl::Status AddSealingKey(Keystore& keystore, const SealingKey& key) {
  absl::StatusOr<SealingKey> current =
      LoadPair(keystore, SealingKeyAttributes(SealingKeyPart::kPrivateKey),
               SealingKeyAttributes(SealingKeyPart::kCertificate));
  if (current.ok()) {
    if (current->certificate_pem == key.certificate_pem &&
        current->private_key_pem == key.private_key_pem) {
      return absl::OkStatus();
    }
    std::string id = ArchiveId(current->certificate_pem);
    RETURN_IF_ERROR(keystore.Store(
        ArchivedSealingKeyAttributes(SealingKeyPart::kPrivateKey, id),
        absl::StrCat("sealed-secrets private key (archived ", id, ")"),
        current->private_key_pem));
    RETURN_IF_ERROR(keystore.Store(
        ArchivedSealingKeyAttributes(SealingKeyPart::kCertificate, id),
        absl::StrCat("sealed-secrets certificate (archived ", id, ")"),
        Secret::FromView(current->certificate_pem)));
  } else if (!absl::IsNotFound(current.status())) {
    return current.status();
  }
  RETURN_IF_ERROR(
      keystore.Store(SealingKeyAttributes(SealingKeyPart::kPrivateKey),
                     "sealed-secrets private key", key.private_key_pem));
  return keystore.Store(SealingKeyAttributes(SealingKeyPart::kCertificate),
                        "sealed-secrets certificate",
                        Secret::FromView(key.certificate_pem));
}

namespace keystore_internal {

bool ContainsAll(const KeystoreAttributes& attributes,
                 const KeystoreAttributes& subset) {
  for (const auto& [key, value] : subset) {
    auto it = attributes.find(key);
    if (it == attributes.end() || it->second != value) return false;
  }
  return true;
}

}  // namespace keystore_internal
}  // namespace coldstart
