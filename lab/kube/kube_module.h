// The lab's Kubernetes API module (lab/kube/README.md): the API simulator on
// the API VIP once the world says etcd is up, with the cluster CA from the
// world model (ClusterCasShared; a fresh CA when none was shared).
//
// World behaviour:
//   ConfigApplied(n)   -> Node n registers NotReady (+ CSINode, static pods
//                         on control planes, pending CoreDNS)
//   VipUp(api_vip)     -> HTTPS listener on api_vip:api_port
//   the Cilium DaemonSet (kube-system/cilium unless kube.cilium_daemonset=
//   NS/NAME) is written -> CniRolledOut (lab/world/lifecycle.h turns that
//                         into NodeReady after the CNI latency)
//   NodeReady(n)       -> Node n Ready; its cilium pod and CoreDNS Running;
//                         the Cilium DaemonSet's status counts the Ready
//                         nodes as updated/available (its rollout)
//   the scenario trigger object is created (kube.scenario=FILE) -> the
//                         scenario plays, scaled by the lab's time scale
//
// Options (--module_opt): kube.scenario=FILE, kube.cilium_daemonset=NS/NAME,
// kube.port=N (listen on N even with --any-port: tests that must know the
// API port before the VIP is up, e.g. to put it into machine configs),
// kube.sealed_secrets* (lab/kube/sealed_secrets/sealed_secrets_in_lab.h: the
// sealed-secrets controller starts when it is deployed).
#ifndef COLDSTART_LAB_KUBE_KUBE_MODULE_H_
#define COLDSTART_LAB_KUBE_KUBE_MODULE_H_

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "lab/kube/api_server.h"
#include "lab/kube/kube_https.h"
#include "lab/kube/kube_pki.h"
#include "lab/kube/scenario.h"
#include "lab/kube/sealed_secrets/sealed_secrets_in_lab.h"
#include "lab/module.h"

namespace coldstart::lab {

class KubeModule : public Module {
 public:
  KubeModule() = default;
  ~KubeModule() override { Stop(); }

  absl::Status Start(ModuleContext& context) override;
  std::map<std::string, std::string> Listeners() const override;
  void Stop() override;

  // The simulator (valid after Start), for in-process tests and tools.
  ApiServer* api() { return api_.get(); }
  // <workdir>/kube/admin.kubeconfig once the listener is up.
  std::string kubeconfig_path() const;

 private:
  void OnConfigApplied(const ConfigApplied& e);
  void OnNodeReady(const NodeReady& e);
  void OnVipUp(const VipUp& e);
  void OnWrite(WriteVerb verb, const ResourceType& type, const Json& object);
  void UpdateCiliumDaemonSetStatus();
  absl::Status StartListener();
  void Log(const std::string& line);

  ModuleContext* context_ = nullptr;
  // The sealed-secrets controller (spec.sealed_secrets; options
  // kube.sealed_secrets*). Declared before api_ so that it outlives it.
  std::unique_ptr<SealedSecretsInLab> sealed_secrets_;
  std::unique_ptr<ApiServer> api_;
  std::string cilium_ns_ = "kube-system";
  std::string cilium_name_ = "cilium";
  int port_ = 0;  // kube.port; 0: the spec's (or any with --any-port)
  std::optional<LoadedScenario> scenario_;
  std::map<std::string, const v1::Node*> spec_nodes_;
  std::vector<World::SubscriptionId> subscriptions_;

  mutable absl::Mutex mu_;
  std::unique_ptr<KubeHttpsServer> https_ ABSL_GUARDED_BY(mu_);
  std::optional<std::string> ca_cert_pem_ ABSL_GUARDED_BY(mu_);
  std::optional<std::string> ca_key_pem_ ABSL_GUARDED_BY(mu_);
  std::string kubeconfig_path_ ABSL_GUARDED_BY(mu_);
  bool cni_published_ ABSL_GUARDED_BY(mu_) = false;
  bool scenario_started_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace coldstart::lab

#endif  // COLDSTART_LAB_KUBE_KUBE_MODULE_H_
