#include "tools/seal-keystore/command.h"

#include <iostream>
#include <iterator>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "lib/base/file.h"
#include "lib/base/status_macros.h"

namespace coldstart {

absl::Status SealKeystoreCommand::Step(
    absl::string_view name, const std::function<absl::Status()>& body) {
  const Events::StepId id = run_.events().Start(name);
  absl::Status status = body();
  run_.events().End(id, status);
  return status;
}

absl::Status SealKeystoreCommand::RequireArgs(size_t min, size_t max,
                                              absl::string_view usage) const {
  if (options_.args.size() < min || options_.args.size() > max) {
    return absl::InvalidArgumentError(
        absl::StrCat("usage: seal-keystore ", options_.command, " ", usage));
  }
  return absl::OkStatus();
}

absl::Status SealKeystoreCommand::RequireNoCluster() const {
  if (!options_.common.in.empty() || !options_.common.state.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "seal-keystore ", options_.command,
        " reads no Cluster; --in/--state are for seal --batch, backup and "
        "restore"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> SealKeystoreCommand::ReadInput(
    const std::string& path) {
  if (path != "-") return ReadInputFile(path);
  std::string text(std::istreambuf_iterator<char>(std::cin), {});
  if (std::cin.bad()) {
    return absl::InvalidArgumentError("<stdin>: read failed");
  }
  return text;
}

absl::StatusOr<Keystore*> SealKeystoreCommand::keystore() {
  absl::StatusOr<Keystore*> keystore = run_.keystore();
  if (keystore.ok()) return keystore;
  return run_.CheckEndpoint("the keystore", run_.keystore_spec(),
                            EndpointExistence::kMustExist, keystore.status());
}

absl::StatusOr<std::vector<SealingKeyPair>> SealKeystoreCommand::RequireKeys() {
  ASSIGN_OR_RETURN(Keystore * store, keystore());
  ASSIGN_OR_RETURN(std::vector<SealingKeyPair> keys,
                   LoadSealingKeyPairs(*store));
  if (keys.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "keystore ", store->Describe(),
        " holds no sealed-secrets key; run `seal-keystore init` or "
        "`seal-keystore import`"));
  }
  return keys;
}

absl::StatusOr<Certificate> SealKeystoreCommand::IssueSealingCertificate(
    const PrivateKey& key) {
  CertificateTemplate spec;
  spec.common_name = options_.common_name;
  spec.is_ca = true;
  spec.key_usage = kEncipherOnly;
  spec.not_before = Now();
  spec.not_after = spec.not_before + options_.validity;
  return IssueCertificate(spec, key.public_key(), key, nullptr);
}

}  // namespace coldstart
