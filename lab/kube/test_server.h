// Test support: the Kubernetes API simulator on 127.0.0.1 (free port) over
// HTTPS with a fresh cluster CA, plus a kubeconfig file (admin client
// certificate, embedded CA) for lib/kube and real kubectl. testonly.
#ifndef COLDSTART_LAB_KUBE_TEST_SERVER_H_
#define COLDSTART_LAB_KUBE_TEST_SERVER_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "lab/kube/api_server.h"
#include "lab/kube/kube_https.h"
#include "lab/kube/kube_pki.h"

namespace coldstart::lab {

struct TestKubeApi {
  std::unique_ptr<ApiServer> api;
  std::unique_ptr<KubeHttpsServer> https;
  KubePki pki;
  // "https://127.0.0.1:PORT"
  std::string url;
  // <dir>/kubeconfig (0600).
  std::string kubeconfig_path;
};

// Starts the simulator with `options`; files go under `dir` (must exist).
// `faults` (optional, not owned) are applied as by the lab's kube module.
absl::StatusOr<std::unique_ptr<TestKubeApi>> StartTestKubeApi(
    const std::string& dir, ApiServerOptions options = {},
    FaultInjector* faults = nullptr);

}  // namespace coldstart::lab

#endif  // COLDSTART_LAB_KUBE_TEST_SERVER_H_
