#include "lib/secrets/credentials.h"

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace coldstart {

absl::StatusOr<ResolvedCredential> ResolveCredential(
    const CredentialSource& source, const Environment& environment,
    Keystore* keystore) {
  if (!source.environment_variable.empty()) {
    if (std::optional<std::string> value =
            NonEmpty(environment, source.environment_variable)) {
      ResolvedCredential resolved{Secret::FromView(*value), ""};
      resolved.source =
          absl::StrCat("environment variable ", source.environment_variable);
      std::fill(value->begin(), value->end(), '\0');
      return resolved;
    }
  }
  std::string lookup_failure;
  if (!source.keystore_key.empty() && keystore != nullptr) {
    absl::StatusOr<Secret> stored = keystore->Lookup(
        ClusterSecretAttributes(source.cluster, source.keystore_key));
    if (stored.ok()) {
      return ResolvedCredential{
          *std::move(stored),
          absl::StrCat("keystore item ", source.keystore_key, " (",
                       keystore->Describe(), ")")};
    }
    if (stored.status().code() != absl::StatusCode::kNotFound) {
      return absl::Status(
          stored.status().code(),
          absl::StrCat(source.description, ": keystore item ",
                       source.keystore_key, ": ", stored.status().message()));
    }
    lookup_failure = absl::StrCat(" (not in ", keystore->Describe(), ")");
  }
  std::vector<std::string> ways;
  if (!source.environment_variable.empty()) {
    ways.push_back(absl::StrCat("set $", source.environment_variable));
  }
  if (!source.keystore_key.empty()) {
    ways.push_back(absl::StrCat("store keystore item ", source.keystore_key,
                                lookup_failure));
  }
  return absl::NotFoundError(absl::StrCat(
      "no ", source.description,
      ways.empty() ? "" : absl::StrCat(": ", absl::StrJoin(ways, " or "))));
}

}  // namespace coldstart
