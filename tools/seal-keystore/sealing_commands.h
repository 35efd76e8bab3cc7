// The subcommands that seal and open (README.md): seal (Secrets from a file
// or stdin to SealedSecret YAML), seal --batch (the spec's
// sealed_secrets.items into the GitOps checkout; reads and writes the
// Cluster), unseal and check. Each runs as a step of the events file; seal
// --batch also one step per item ("seal NAMESPACE/NAME").
//
// Errors: InvalidArgument for bad arguments or input (FILE:LINE:COL for YAML;
// exit 2, nothing written); FailedPrecondition when the world is not as
// needed (no key, an expired certificate, a missing keystore item,
// SealedSecrets that do not decrypt, a Proxmox CSI config that would need
// TLS verification off without spec.proxmox.csi_insecure); the keystore's
// errors.
#ifndef COLDSTART_TOOLS_SEAL_KEYSTORE_SEALING_COMMANDS_H_
#define COLDSTART_TOOLS_SEAL_KEYSTORE_SEALING_COMMANDS_H_

#include "absl/status/status.h"
#include "tools/seal-keystore/command.h"

namespace coldstart {

// seal [FILE|-]: SealedSecret YAML on stdout (nothing in a dry run).
absl::Status RunSeal(SealKeystoreCommand& command);
// seal --batch: one file per spec item; status.seal in run().cluster().
absl::Status RunSealBatch(SealKeystoreCommand& command);
// unseal [FILE|-]: the Secrets on stdout (nothing in a dry run).
absl::Status RunUnseal(SealKeystoreCommand& command);
// check DIR: the SealedSecrets that do not decrypt on stdout.
absl::Status RunCheck(SealKeystoreCommand& command);

}  // namespace coldstart

#endif  // COLDSTART_TOOLS_SEAL_KEYSTORE_SEALING_COMMANDS_H_
