// seal-keystore: owns the sealed-secrets keypair for its whole life (see
// README.md): init, import, cert, renew-cert (key_commands.h), seal (single
// and --batch), unseal, check (sealing_commands.h), backup and restore
// through the Kubernetes API (cluster_commands.h).
#ifndef COLDSTART_TOOLS_SEAL_KEYSTORE_SEAL_KEYSTORE_H_
#define COLDSTART_TOOLS_SEAL_KEYSTORE_SEAL_KEYSTORE_H_

#include "absl/status/status.h"
#include "lib/cli/tool_run.h"
#include "tools/seal-keystore/seal_keystore_options.h"

namespace coldstart {

// Runs one subcommand in the tool frame (lib/cli/tool_run.h): seal --batch,
// backup and restore read the Cluster (--in/--state/stdin; the spec is
// validated, the keystore resolved flag → $COLDSTART_KEYSTORE → spec →
// secret-service) and write it back by ToolRun's output rule; the others
// read none (--in/--state are refused) and resolve the keystore from the
// flag and the environment. Errors follow DESIGN.md: InvalidArgument for bad
// input or usage (exit 2, nothing changed), FailedPrecondition when the world
// is not as needed (no key yet, expired certificate, SealedSecrets that do
// not decrypt), Unavailable when the keystore cannot be reached, other codes
// from the keystore and the Kubernetes API.
absl::Status RealMain(const SealKeystoreOptions& options, ToolIo& io);

}  // namespace coldstart

#endif  // COLDSTART_TOOLS_SEAL_KEYSTORE_SEAL_KEYSTORE_H_
