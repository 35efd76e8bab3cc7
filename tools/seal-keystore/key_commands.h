// The subcommands that make and keep the sealing keys (README.md): init,
// import, cert, renew-cert. None reads a Cluster; each runs as one step of
// the events file. Errors: InvalidArgument for bad arguments or input files
// (exit 2, nothing changed); FailedPrecondition when the keystore has no key
// yet; the keystore's errors.
#ifndef COLDSTART_TOOLS_SEAL_KEYSTORE_KEY_COMMANDS_H_
#define COLDSTART_TOOLS_SEAL_KEYSTORE_KEY_COMMANDS_H_

#include "absl/status/status.h"
#include "tools/seal-keystore/command.h"

namespace coldstart {

// An RSA key and self-signed certificate, unless the keystore has a key.
absl::Status RunInit(SealKeystoreCommand& command);
// Keys from PEM files or key Secrets (YAML/JSON), merged (MergeSealingKeys).
absl::Status RunImport(SealKeystoreCommand& command);
// The newest key's certificate on stdout.
absl::Status RunCert(SealKeystoreCommand& command);
// Re-issues the newest key's certificate when it is due (or --force).
absl::Status RunRenewCert(SealKeystoreCommand& command);

}  // namespace coldstart

#endif  // COLDSTART_TOOLS_SEAL_KEYSTORE_KEY_COMMANDS_H_
