#include "tools/talos-bootstrap/talos_secrets_store.h"

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "lib/base/status_macros.h"
#include "lib/secrets/keystore.h"
#include "tools/talos-bootstrap/run_steps.h"
#include "tools/talos-bootstrap/secrets_bundle.h"

namespace coldstart {
namespace {

absl::StatusOr<std::optional<SecretsBundle>> LoadOrCreateBundle(ToolRun& run) {
  const v1::ClusterSpec& spec = run.spec();
  const std::string item = spec.talos().secrets_bundle().key().empty()
                               ? "talos-secrets"
                               : spec.talos().secrets_bundle().key();
  const KeystoreAttributes attributes =
      ClusterSecretAttributes(spec.name(), item);
  ASSIGN_OR_RETURN(Keystore * keystore, run.keystore());
  absl::StatusOr<Secret> stored = keystore->Lookup(attributes);
  if (stored.ok()) {
    ASSIGN_OR_RETURN(SecretsBundle bundle, ParseSecretsBundle(*stored));
    run.events().Note(
        absl::StrCat("secrets bundle: reused (keystore item ", item, ")"));
    return bundle;
  }
  if (!absl::IsNotFound(stored.status())) return stored.status();
  if (run.dry_run()) {
    run.Plan(absl::StrCat("secrets bundle: would be generated (keystore item ",
                          item, ")"));
    return std::nullopt;
  }
  ASSIGN_OR_RETURN(SecretsBundle bundle,
                   GenerateSecretsBundle(run.clock().Now()));
  RETURN_IF_ERROR(keystore->Store(
      attributes, absl::StrCat("coldstart ", spec.name(), " Talos secrets"),
      SerializeSecretsBundle(bundle)));
  run.events().Note(
      absl::StrCat("secrets bundle: generated and stored (", item, ")"));
  return bundle;
}

}  // namespace

absl::StatusOr<std::optional<TalosCredentials>> ObtainTalosCredentials(
    ToolRun& run) {
  std::optional<TalosCredentials> credentials;
  RETURN_IF_ERROR(RunStep(run, "secrets", "", [&]() -> absl::Status {
    ASSIGN_OR_RETURN(std::optional<SecretsBundle> bundle,
                     LoadOrCreateBundle(run));
    if (!bundle.has_value()) return absl::OkStatus();
    ASSIGN_OR_RETURN(CertAndKey admin,
                     IssueTalosAdminCertificate(*bundle, run.clock().Now()));
    credentials = TalosCredentials{*std::move(bundle), std::move(admin)};
    return absl::OkStatus();
  }));
  return credentials;
}

}  // namespace coldstart
