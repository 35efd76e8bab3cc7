// machine.MachineService of one node: each method goes through
// TalosSimulator::Call (faults, request log) to the simulator's RPC body.
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "lab/talos/talos_simulator.h"

namespace coldstart::lab {

namespace {

class NodeService final : public machine::MachineService::Service {
 public:
  NodeService(std::weak_ptr<TalosSimulator> simulator, std::string node)
      : simulator_(std::move(simulator)), node_(std::move(node)) {}

  grpc::Status ApplyConfiguration(
      grpc::ServerContext* ctx, const machine::ApplyConfigurationRequest* req,
      machine::ApplyConfigurationResponse* resp) override {
    return Serve("ApplyConfiguration", req->dry_run() ? "#dry-run" : "",
                 [&](TalosSimulator& sim, const std::string& node) {
                   return sim.Apply(node, ctx, *req, resp);
                 });
  }
  grpc::Status Bootstrap(grpc::ServerContext* ctx,
                         const machine::BootstrapRequest*,
                         machine::BootstrapResponse* resp) override {
    return Serve("Bootstrap", "",
                 [&](TalosSimulator& sim, const std::string& node) {
                   return sim.Bootstrap(node, ctx, resp);
                 });
  }
  grpc::Status Kubeconfig(grpc::ServerContext* ctx,
                          const google::protobuf::Empty*,
                          grpc::ServerWriter<common::Data>* writer) override {
    return Serve("Kubeconfig", "",
                 [&](TalosSimulator& sim, const std::string& node) {
                   return sim.Kubeconfig(node, ctx, writer);
                 });
  }
  grpc::Status Version(grpc::ServerContext* ctx, const google::protobuf::Empty*,
                       machine::VersionResponse* resp) override {
    return Serve("Version", "",
                 [&](TalosSimulator& sim, const std::string& node) {
                   return sim.Version(node, ctx, resp);
                 });
  }
  grpc::Status EtcdMemberList(grpc::ServerContext* ctx,
                              const machine::EtcdMemberListRequest*,
                              machine::EtcdMemberListResponse* resp) override {
    return Serve("EtcdMemberList", "",
                 [&](TalosSimulator& sim, const std::string& node) {
                   return sim.EtcdMemberList(node, ctx, resp);
                 });
  }
  grpc::Status ServiceList(grpc::ServerContext* ctx,
                           const google::protobuf::Empty*,
                           machine::ServiceListResponse* resp) override {
    return Serve("ServiceList", "",
                 [&](TalosSimulator& sim, const std::string& node) {
                   return sim.ServiceList(node, ctx, resp);
                 });
  }
  grpc::Status Reboot(grpc::ServerContext* ctx, const machine::RebootRequest*,
                      machine::RebootResponse* resp) override {
    return Serve("Reboot", "",
                 [&](TalosSimulator& sim, const std::string& node) {
                   return sim.Reboot(node, ctx, resp);
                 });
  }
  grpc::Status Reset(grpc::ServerContext* ctx, const machine::ResetRequest* req,
                     machine::ResetResponse* resp) override {
    return Serve("Reset", "",
                 [&](TalosSimulator& sim, const std::string& node) {
                   return sim.Reset(node, ctx, *req, resp);
                 });
  }

 private:
  template <typename Body>
  grpc::Status Serve(const std::string& method, const std::string& log_suffix,
                     Body body) {
    std::shared_ptr<TalosSimulator> sim = simulator_.lock();
    if (!sim) return grpc::Status(grpc::UNAVAILABLE, "shutting down");
    return sim->Call(method, log_suffix, [&] {
      if (std::optional<grpc::Status> refusal =
              sim->RefusedInMaintenance(node_, method)) {
        return *refusal;
      }
      return body(*sim, node_);
    });
  }

  std::weak_ptr<TalosSimulator> simulator_;
  std::string node_;
};

}  // namespace

std::unique_ptr<grpc::Service> MakeNodeService(
    std::weak_ptr<TalosSimulator> simulator, std::string node) {
  return std::make_unique<NodeService>(std::move(simulator), std::move(node));
}

}  // namespace coldstart::lab
