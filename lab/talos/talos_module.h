// The lab's Talos simulator (lab/talos/README.md): the Talos machine API
// (proto/talos) over gRPC+TLS on every node's address, behaving as Talos
// 1.9.1 does (facts/talos.md):
//
//   VM started -> (boot) -> NodeBooted: maintenance mode on <ip>:<port>
//     (per-boot Ed25519 cert CN maintenance-service.talos.dev, no client
//     cert requested, 4 MiB requests, Version Unimplemented,
//     ApplyConfiguration AUTO/REBOOT/TRY with 1.9.1's validation)
//   apply -> listener closes -> (config-apply) -> ConfigApplied, configured
//     mode: apid cert from the config's OS CA, mTLS with client certs
//     verified against it, EKU exactly clientAuth, role os:admin; workers
//     open their listener only once the API VIP is up (trustd).
//   Bootstrap on a control plane -> (etcd-bootstrap) -> EtcdBootstrapped
//     (the lifecycle then brings the VIP up); on a node whose etcd data
//     directory is not empty (it bootstrapped, or joined) -> AlreadyExists;
//     on a worker -> FailedPrecondition; in maintenance mode ->
//     FailedPrecondition "bootstrap is not available yet".
//   Kubeconfig (gzip'd unterminated tar), EtcdMemberList, ServiceList,
//   Version, Reboot, Reset.
//   Tailscale extension: a configured node logs in to the login server its
//   ExtensionServiceConfig names (POST /_lab/tailscale/login on the lab's
//   Headscale) with its TS_AUTHKEY, hostname and TS_ROUTES.
//
// Options: talos.boot=all publishes NodeBooted for every spec node at start
// (running without the pve module); with talos.boot_when_exists=PATH the
// boots wait until PATH exists (a test decides when nodes finish booting:
// until then their addresses refuse connections); talos.boot_skip=NAME
// leaves one node off for good. Listeners: one per node, named after it.
// Every call is checked against fault rules ("talos:GRPC /machine.Machine
// Service/<Method>") and logged (dry-run applies with path suffix
// "#dry-run"; status = HTTP mapping of the gRPC code).
#ifndef COLDSTART_LAB_TALOS_TALOS_MODULE_H_
#define COLDSTART_LAB_TALOS_TALOS_MODULE_H_

#include <map>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "lab/module.h"

namespace coldstart::lab {

class TalosSimulator;

class TalosModule : public Module {
 public:
  TalosModule();
  ~TalosModule() override;
  absl::Status Start(ModuleContext& context) override;
  std::map<std::string, std::string> Listeners() const override;
  void Stop() override;

  // Successful Bootstrap calls so far (tests).
  int BootstrapCount() const;

 private:
  std::shared_ptr<TalosSimulator> simulator_;
};

}  // namespace coldstart::lab

#endif  // COLDSTART_LAB_TALOS_TALOS_MODULE_H_
