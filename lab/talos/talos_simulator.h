// The Talos simulator behind TalosModule (talos_module.h states the
// behaviour; facts/talos.md is the reference). Internal to lab/talos.
//
// One TalosSimulator holds every node of the spec. A node's stage follows
// the world (NodeBooted, VmStopped/VmDeleted, VipUp) and its own RPCs
// (ApplyConfiguration, Reboot, Reset); its gRPC listener is started and
// stopped to match the stage (maintenance TLS or configured mTLS).
//
// Files, one concern each:
//   talos_simulator.cc  node lifecycle, world subscriptions, call frame
//   talos_listener.cc   per-node gRPC server: maintenance vs configured TLS
//   talos_node_service.cc  machine.MachineService -> the RPC bodies below
//   talos_apply.cc      ApplyConfiguration and the apply transition
//   talos_etcd.cc       Bootstrap, EtcdMemberList
//   talos_node_info.cc  Kubeconfig, Version, ServiceList
//   talos_power.cc      Reboot, Reset
//   talos_tailscale.cc  the Tailscale extension's login
#ifndef COLDSTART_LAB_TALOS_TALOS_SIMULATOR_H_
#define COLDSTART_LAB_TALOS_TALOS_SIMULATOR_H_

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "lab/module.h"
#include "lab/talos/config_validation.h"
#include "lab/talos/talos_pki.h"
#include "proto/talos/machine/machine.grpc.pb.h"

namespace coldstart::lab {

// Where a node is in its life, as the Talos API shows it.
enum class Stage { kOff, kMaintenance, kApplying, kConfigured, kRebooting };

const char* StageName(Stage stage);

// The gRPC adapter of one node: every machine.MachineService method the
// simulator implements, forwarded to `simulator` for node `node` through
// TalosSimulator::Call (faults, request log). Unavailable "shutting down"
// once the simulator is gone.
class TalosSimulator;
std::unique_ptr<grpc::Service> MakeNodeService(
    std::weak_ptr<TalosSimulator> simulator, std::string node);

class TalosSimulator : public std::enable_shared_from_this<TalosSimulator> {
 public:
  struct NodeSpec {
    std::string name;
    std::string ip;
    bool control_plane = false;
  };

  TalosSimulator(ModuleContext& context, std::vector<NodeSpec> nodes, int port,
                 std::string api_vip);

  // World subscriptions; call once, right after construction.
  void Subscribe();
  // Unsubscribes and stops every listener; later events are ignored.
  void Stop();
  // Node name -> "ip:port".
  std::map<std::string, std::string> Listeners() const;
  int bootstrap_count() const;
  bool stopped() const;

  // --- RPC bodies (called by the node's service through Call) ---
  grpc::Status Apply(const std::string& node, grpc::ServerContext* ctx,
                     const machine::ApplyConfigurationRequest& request,
                     machine::ApplyConfigurationResponse* response);
  grpc::Status Bootstrap(const std::string& node, grpc::ServerContext* ctx,
                         machine::BootstrapResponse* response);
  grpc::Status Kubeconfig(const std::string& node, grpc::ServerContext* ctx,
                          grpc::ServerWriter<common::Data>* writer);
  grpc::Status Version(const std::string& node, grpc::ServerContext* ctx,
                       machine::VersionResponse* response);
  grpc::Status EtcdMemberList(const std::string& node, grpc::ServerContext* ctx,
                              machine::EtcdMemberListResponse* response);
  grpc::Status ServiceList(const std::string& node, grpc::ServerContext* ctx,
                           machine::ServiceListResponse* response);
  grpc::Status Reboot(const std::string& node, grpc::ServerContext* ctx,
                      machine::RebootResponse* response);
  grpc::Status Reset(const std::string& node, grpc::ServerContext* ctx,
                     const machine::ResetRequest& request,
                     machine::ResetResponse* response);

  // Fault decision ("talos:GRPC /machine.MachineService/<method>") and
  // request log (path + `log_suffix`) around an RPC body.
  grpc::Status Call(const std::string& method, const std::string& log_suffix,
                    const std::function<grpc::Status()>& body);
  // What `node` answers for `method` while in maintenance mode when 1.9.1's
  // maintenance server does not serve it (facts/talos.md §0, §2.2, §8.2,
  // §8.3); nullopt when the method is served (or the node is configured).
  std::optional<grpc::Status> RefusedInMaintenance(const std::string& node,
                                                   const std::string& method);

 private:
  struct Node {
    NodeSpec spec;
    Stage stage = Stage::kOff;
    uint64_t boot = 0;  // incremented per boot; stale callbacks compare it
    std::string config_yaml;
    TalosMachineConfig config;
    PemKeyPair apid_cert;
    std::unique_ptr<grpc::Server> server;
    std::unique_ptr<grpc::Service> service;
    bool listening = false;
    bool tailscale_logged_in = false;
    // /var/lib/etcd has data: this node bootstrapped etcd (joined members
    // are derived, see HasEtcdData).
    bool bootstrapped_etcd = false;
  };

  void OnBooted(const std::string& name);
  void OnStopped(const std::string& name);
  void OnVipUp();
  // Starts the node's listener for its current stage; must not hold mu_.
  void StartServer(const std::string& name);
  void StopServer(const std::string& name);
  // Server credentials for the node's stage (null: no listener now, logged
  // when it is an error). Sets the request size limit on `builder` and the
  // apid certificate in `apid`.
  std::shared_ptr<grpc::ServerCredentials> MaintenanceCredentials(
      const NodeSpec& spec, grpc::ServerBuilder& builder);
  std::shared_ptr<grpc::ServerCredentials> ConfiguredCredentials(
      const NodeSpec& spec, const TalosMachineConfig& config,
      grpc::ServerBuilder& builder, PemKeyPair* apid);
  // The apid certificate of a configured node: from its own OS CA on a
  // control plane; on a worker from a configured control plane of the same
  // OS CA (trustd).
  absl::StatusOr<PemKeyPair> ApidCertificate(const NodeSpec& spec,
                                             const TalosMachineConfig& config);
  // Stops the node's API shortly (the reply to Reboot/Reset goes out first)
  // and, with `boot_again`, boots it after the boot latency unless a later
  // reboot (another `boot` number) came in between.
  void GoDown(const std::string& name, uint64_t boot, bool boot_again);
  void FinishApply(const std::string& name, uint64_t boot);
  void TailscaleLogin(const std::string& name, int attempt);
  // Runs `fn` on the lab's scheduler after `delay` unless the simulator is
  // gone by then.
  void After(absl::Duration delay, std::function<void(TalosSimulator&)> fn);
  void Log(const std::string& line);
  bool VipIsUp() const;
  bool EtcdUp() const;
  // facts §8.3 step 5: the node's etcd data directory is not empty — it
  // bootstrapped etcd, or it is a configured control plane that has joined
  // the running cluster.
  bool HasEtcdData(const Node& node, bool etcd_up) const;
  // os:admin (or any of `roles`) in the client cert; PermissionDenied.
  grpc::Status Authorize(grpc::ServerContext* ctx,
                         const std::vector<std::string>& roles);

  ModuleContext& context_;
  const int port_;
  const std::string api_vip_;
  std::vector<World::SubscriptionId> subscriptions_;
  mutable absl::Mutex mu_;
  std::map<std::string, Node> nodes_ ABSL_GUARDED_BY(mu_);
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  // The node of the first Bootstrap (the cluster the world knows about).
  std::string etcd_bootstrap_node_ ABSL_GUARDED_BY(mu_);
  int bootstrap_count_ ABSL_GUARDED_BY(mu_) = 0;
  bool cas_shared_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace coldstart::lab

#endif  // COLDSTART_LAB_TALOS_TALOS_SIMULATOR_H_
