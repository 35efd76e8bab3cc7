// The sealed-secrets controller's behaviour in the Kubernetes simulator
// (facts/sealed-secrets.md §3-§4, facts/kubernetes.md §7):
// - at start (Start, and every restart = its pod deleted) it registers the
//   SealedSecret CRD, reads the key Secrets of its namespace (label
//   sealedsecrets.bitnami.com/sealed-secrets-key=active, or the Secret named
//   sealed-secrets-key), and generates a key Secret (generateName
//   sealed-secrets-key) when none was loaded or the newest is older than the
//   renew period; keys are read only at start;
// - it runs as a Pod (label app.kubernetes.io/name=sealed-secrets) whose
//   deletion restarts it with a new Pod;
// - every SealedSecret (existing at start, created or updated later) becomes
//   a Secret of the same name when one of its loaded keys decrypts it (owner
//   reference, template labels/annotations/type), with status Synced=True;
//   otherwise status Synced=False "no key could decrypt secret".
//
// Its cryptography is //lib/secrets:crypto: RSA keys, the self-signed
// certificate, and HybridOpen for the sealed values (facts/sealed-secrets.md
// §1).
#ifndef COLDSTART_LAB_KUBE_SEALED_SECRETS_SEALED_SECRETS_CONTROLLER_H_
#define COLDSTART_LAB_KUBE_SEALED_SECRETS_SEALED_SECRETS_CONTROLLER_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "lab/kube/api_server.h"

namespace coldstart::lab {

struct SealedSecretsControllerOptions {
  std::string ns = "kube-system";
  std::string pod_name_prefix = "sealed-secrets-controller-";
  // --key-renew-period (0 disables renewal).
  absl::Duration renew_period = absl::Hours(720);
  // --key-size (the real default is 4096; tests may use 2048, the least
  // lib/crypto generates).
  int key_bits = 4096;
  std::function<absl::Time()> now;  // default absl::Now
};

class SealedSecretsController {
 public:
  SealedSecretsController(ApiServer& api,
                          SealedSecretsControllerOptions options);
  // Starts the controller (see above). Registers its observer once.
  absl::Status Start();

  // The loaded keys (tests).
  size_t LoadedKeyCount() const;
  std::string PodName() const;
  int Starts() const;

 private:
  absl::Status StartLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Reconcile(const Json& sealed) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void OnWrite(WriteVerb verb, const ResourceType& type, const Json& object);
  absl::Time Now() const;

  struct LoadedKey;  // an RSA private key

  ApiServer& api_;
  const SealedSecretsControllerOptions options_;
  mutable absl::Mutex mu_;
  std::vector<std::shared_ptr<const LoadedKey>> keys_ ABSL_GUARDED_BY(mu_);
  std::string pod_name_ ABSL_GUARDED_BY(mu_);
  int starts_ ABSL_GUARDED_BY(mu_) = 0;
  bool observing_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace coldstart::lab

#endif  // COLDSTART_LAB_KUBE_SEALED_SECRETS_SEALED_SECRETS_CONTROLLER_H_
