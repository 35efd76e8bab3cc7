#include "tools/seal-keystore/sealing_keys.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "lib/base/status_macros.h"
#include "lib/base/time_format.h"

namespace coldstart {

std::string CertificateSha256Hex(const Certificate& certificate) {
  return HexEncode(certificate.Sha256Fingerprint());
}

std::string DescribeKey(const SealingKeyPair& pair) {
  return absl::StrCat("key ", pair.id, " (", pair.certificate.SubjectString(),
                      ", not before ", Rfc3339(pair.certificate.not_before()),
                      ", not after ", Rfc3339(pair.certificate.not_after()),
                      ")");
}

std::vector<PrivateKey> PrivateKeysOf(const std::vector<SealingKeyPair>& keys) {
  std::vector<PrivateKey> result;
  for (const SealingKeyPair& pair : keys) result.push_back(pair.key);
  return result;
}

absl::StatusOr<SealingKeyPair> CheckSealingKey(SealingKey stored,
                                               absl::string_view what) {
  absl::StatusOr<PrivateKey> key = PrivateKey::FromPem(stored.private_key_pem);
  if (!key.ok() || key->type() != KeyType::kRsa) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": the private key is not a readable RSA PEM key"));
  }
  absl::StatusOr<Certificate> certificate =
      Certificate::FromPem(stored.certificate_pem);
  if (!certificate.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(what,
                     ": the certificate is not a readable PEM "
                     "CERTIFICATE: ",
                     certificate.status().message()));
  }
  ASSIGN_OR_RETURN(PublicKey certified, certificate->public_key());
  if (!(certified == key->public_key())) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": the certificate (", certificate->SubjectString(),
                     ") is not for this private key"));
  }
  SealingKeyPair pair{*key, *certificate, std::move(stored), ""};
  pair.id = HexEncode(Sha256(certified.ToDer())).substr(0, 16);
  return pair;
}

absl::StatusOr<std::vector<SealingKeyPair>> LoadSealingKeyPairs(
    Keystore& keystore) {
  ASSIGN_OR_RETURN(std::vector<SealingKey> stored, LoadSealingKeys(keystore));
  std::vector<SealingKeyPair> pairs;
  for (size_t i = 0; i < stored.size(); ++i) {
    ASSIGN_OR_RETURN(
        SealingKeyPair pair,
        CheckSealingKey(
            std::move(stored[i]),
            absl::StrCat(keystore.Describe(), ": sealing key ",
                         i == 0 ? "private_key/public_key" : "(archived)")));
    pairs.push_back(std::move(pair));
  }
  return pairs;
}

namespace {

absl::Status ArchiveSealingKey(Keystore& keystore, const SealingKeyPair& pair) {
  const std::string id =
      HexEncode(Sha256(pair.stored.certificate_pem)).substr(0, 16);
  RETURN_IF_ERROR(keystore.Store(
      ArchivedSealingKeyAttributes(SealingKeyPart::kPrivateKey, id),
      absl::StrCat("sealed-secrets private key (archived ", id, ")"),
      pair.stored.private_key_pem));
  return keystore.Store(
      ArchivedSealingKeyAttributes(SealingKeyPart::kCertificate, id),
      absl::StrCat("sealed-secrets certificate (archived ", id, ")"),
      Secret::FromView(pair.stored.certificate_pem));
}

}  // namespace

absl::StatusOr<std::vector<std::string>> MergeSealingKeys(
    Keystore& keystore, const std::vector<SealingKeyPair>& incoming,
    bool dry_run) {
  ASSIGN_OR_RETURN(std::vector<SealingKeyPair> existing,
                   LoadSealingKeyPairs(keystore));
  std::vector<const SealingKeyPair*> added;
  auto known = [&](const std::string& id) {
    for (const SealingKeyPair& pair : existing) {
      if (pair.id == id) return true;
    }
    for (const SealingKeyPair* pair : added) {
      if (pair->id == id) return true;
    }
    return false;
  };
  for (const SealingKeyPair& pair : incoming) {
    if (!known(pair.id)) added.push_back(&pair);
  }
  std::vector<std::string> ids;
  for (const SealingKeyPair* pair : added) ids.push_back(pair->id);
  if (dry_run || added.empty()) return ids;

  const SealingKeyPair* newest = existing.empty() ? nullptr : &existing[0];
  for (const SealingKeyPair* pair : added) {
    if (newest == nullptr ||
        pair->certificate.not_before() > newest->certificate.not_before()) {
      newest = pair;
    }
  }
  for (const SealingKeyPair* pair : added) {
    if (pair != newest) RETURN_IF_ERROR(ArchiveSealingKey(keystore, *pair));
  }
  if (existing.empty() || newest != &existing[0]) {
    RETURN_IF_ERROR(AddSealingKey(keystore, newest->stored));
  }
  return ids;
}

}  // namespace coldstart
