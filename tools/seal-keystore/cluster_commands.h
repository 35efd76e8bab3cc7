// The subcommands that talk to the cluster's Kubernetes API (README.md);
// both read and write the Cluster (ToolRun::Open).
//
// backup: reads every key Secret of the controller's namespace (label
// sealedsecrets.bitnami.com/sealed-secrets-key, any value, plus the legacy
// Secret sealed-secrets-key) into the keystore with MergeSealingKeys; keys
// already held are not written again. Writes status.seal.backed_up_keys.
// FailedPrecondition when there is no key Secret.
//
// restore: a backup first (a key the controller made is never lost), then
// one key Secret (kubernetes.io/tls, label ...=active and
// app.kubernetes.io/managed-by=coldstart, named sealed-secrets-key-<id>) per
// keystore key the namespace lacks, by server-side apply; then every running
// controller pod that started before the newest of our key Secrets (or any,
// when this run applied one) is deleted so that the controller restarts and
// loads them; then a backup again. Writes status.seal.restored_keys and
// restarted_pods as it reaches them. A re-run on a restored cluster writes
// nothing.
//
// Dry run: the kubeconfig and the API are created by an earlier layer
// (talos-bootstrap): when the kubeconfig is not written yet or the API does
// not answer, the plan says "pending" and the run succeeds. Steps in the
// events file: "connect", "backup", and for restore "namespace", "apply key
// Secrets", "restart controller".
//
// Errors: InvalidArgument for bad arguments or an unusable kubeconfig (exit
// 2); FailedPrecondition when the world is not as needed; API errors.
#ifndef COLDSTART_TOOLS_SEAL_KEYSTORE_CLUSTER_COMMANDS_H_
#define COLDSTART_TOOLS_SEAL_KEYSTORE_CLUSTER_COMMANDS_H_

#include "absl/status/status.h"
#include "tools/seal-keystore/command.h"

namespace coldstart {

absl::Status RunBackup(SealKeystoreCommand& command);
absl::Status RunRestore(SealKeystoreCommand& command);

}  // namespace coldstart

#endif  // COLDSTART_TOOLS_SEAL_KEYSTORE_CLUSTER_COMMANDS_H_
