// The sealed-secrets controller inside the lab's Kubernetes simulator, for
// a spec that has `sealed_secrets`: the one call the kube module makes.
//
// As in a real cluster, the controller starts when it is deployed: when a
// Deployment or a HelmRelease named spec.sealed_secrets.controller_name (or
// "sealed-secrets", the Helm chart's name) is created in
// spec.sealed_secrets.controller_namespace (default kube-system). So
// `seal-keystore restore` run before the deployment puts the keys where the
// controller finds them at its first start, and a restore after it restarts
// the controller by deleting its pod (lab/kube/sealed_secrets/
// sealed_secrets_controller.h).
//
// Module options (--module_opt kube.NAME=VALUE):
//   sealed_secrets=on_deploy (default) | at_start (start with the API
//     server, as if deployed already) | off
//   sealed_secrets_key_bits=4096 (a multiple of 8 in [2048, 8192]; smaller
//     keys make tests faster)
//   sealed_secrets_renew_period=720h (0 disables renewal)
#ifndef COLDSTART_LAB_KUBE_SEALED_SECRETS_SEALED_SECRETS_IN_LAB_H_
#define COLDSTART_LAB_KUBE_SEALED_SECRETS_SEALED_SECRETS_IN_LAB_H_

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "lab/kube/api_server.h"
#include "lab/kube/sealed_secrets/sealed_secrets_controller.h"
#include "proto/coldstart/v1/cluster.pb.h"

namespace coldstart::lab {

class SealedSecretsInLab {
 public:
  // nullptr when the spec has no sealed_secrets or the option says off.
  // InvalidArgument for a bad option value. `log` (optional) gets one line
  // when the controller starts. `api` must outlive the result.
  static absl::StatusOr<std::unique_ptr<SealedSecretsInLab>> ForSpec(
      ApiServer& api, const v1::ClusterSpec& spec,
      const std::map<std::string, std::string>& module_options,
      std::function<void(const std::string&)> log = nullptr,
      std::function<absl::Time()> now = nullptr);

  // The controller once started, else nullptr.
  SealedSecretsController* controller();

 private:
  SealedSecretsInLab(ApiServer& api, SealedSecretsControllerOptions options,
                     std::string deployment_name,
                     std::function<void(const std::string&)> log);
  void StartController(const std::string& why);
  void OnWrite(WriteVerb verb, const ResourceType& type, const Json& object);

  ApiServer& api_;
  const SealedSecretsControllerOptions options_;
  const std::string deployment_name_;
  std::function<void(const std::string&)> log_;
  absl::Mutex mu_;
  std::unique_ptr<SealedSecretsController> controller_ ABSL_GUARDED_BY(mu_);
};

}  // namespace coldstart::lab

#endif  // COLDSTART_LAB_KUBE_SEALED_SECRETS_SEALED_SECRETS_IN_LAB_H_
