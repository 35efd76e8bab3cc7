// The cluster's Talos secrets bundle, kept in the run's keystore (item
// spec.talos.secrets_bundle, default "talos-secrets"): generated once,
// stored, reused by every later run.
#ifndef COLDSTART_TOOLS_TALOS_BOOTSTRAP_TALOS_SECRETS_STORE_H_
#define COLDSTART_TOOLS_TALOS_BOOTSTRAP_TALOS_SECRETS_STORE_H_

#include <optional>

#include "absl/status/statusor.h"
#include "lib/cli/tool_run.h"
#include "tools/talos-bootstrap/talos_access.h"

namespace coldstart {

// The stored bundle (a fresh admin certificate issued from it), or a new
// one generated and stored when there is none. In a dry run nothing is
// stored: no bundle yet is std::nullopt and a plan line. Runs as the step
// "secrets". Errors: the keystore's (e.g. Unavailable: no Secret Service),
// InvalidArgument for a stored bundle that does not parse.
absl::StatusOr<std::optional<TalosCredentials>> ObtainTalosCredentials(
    ToolRun& run);

}  // namespace coldstart

#endif  // COLDSTART_TOOLS_TALOS_BOOTSTRAP_TALOS_SECRETS_STORE_H_
