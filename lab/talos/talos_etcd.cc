// Bootstrap and EtcdMemberList (facts/talos.md §2.2, §8.2, §8.3 as of
// 1.9.1).
#include <string>

#include "absl/strings/str_cat.h"
#include "lab/talos/talos_simulator.h"

namespace coldstart::lab {

grpc::Status TalosSimulator::Bootstrap(const std::string& name,
                                       grpc::ServerContext* ctx,
                                       machine::BootstrapResponse* response) {
  grpc::Status auth = Authorize(ctx, {});
  if (!auth.ok()) return auth;
  const bool etcd_up = EtcdUp();
  uint64_t boot;
  bool first;
  {
    absl::MutexLock lock(&mu_);
    Node& node = nodes_.at(name);
    if (!node.config.control_plane) {
      return grpc::Status(grpc::FAILED_PRECONDITION,
                          "bootstrap can only be performed on a control plane "
                          "node");
    }
    if (node.config.etcd_ca_cert_pem.empty()) {
      return grpc::Status(grpc::INVALID_ARGUMENT,
                          "etcd is not configured (no cluster.etcd.ca)");
    }
    // §8.3 step 5: the only "already bootstrapped" check, and it is local.
    if (HasEtcdData(node, etcd_up)) {
      return grpc::Status(grpc::ALREADY_EXISTS,
                          "etcd data directory is not empty");
    }
    first = etcd_bootstrap_node_.empty();
    if (first) {
      etcd_bootstrap_node_ = name;
    } else {
      Log(absl::StrCat(name,
                       ": Bootstrap before it joined the etcd cluster "
                       "bootstrapped on ",
                       etcd_bootstrap_node_,
                       ": a second, independent etcd cluster (split brain)"));
    }
    node.bootstrapped_etcd = true;
    ++bootstrap_count_;
    boot = node.boot;
  }
  response->add_messages();
  // The world models one cluster: the first bootstrap's.
  if (!first) return grpc::Status::OK;
  After(context_.latency->Delay(Step::kEtcdBootstrap),
        [name, boot](TalosSimulator& self) {
          {
            absl::MutexLock lock(&self.mu_);
            if (self.stopped_ || self.nodes_.at(name).boot != boot) return;
          }
          self.context_.world->Publish(EtcdBootstrapped{name});
        });
  return grpc::Status::OK;
}

grpc::Status TalosSimulator::EtcdMemberList(
    const std::string& name, grpc::ServerContext* ctx,
    machine::EtcdMemberListResponse* response) {
  grpc::Status auth =
      Authorize(ctx, {"os:operator", "os:reader", "os:etcd:backup"});
  if (!auth.ok()) return auth;
  const bool up = EtcdUp();
  absl::MutexLock lock(&mu_);
  if (!nodes_.at(name).config.control_plane) {
    return grpc::Status(grpc::UNIMPLEMENTED,
                        "etcd is only available on control plane nodes");
  }
  if (!up) {
    return grpc::Status(grpc::UNAVAILABLE,
                        "etcd is not running: context deadline exceeded");
  }
  machine::EtcdMembers* members = response->add_messages();
  uint64_t id = 0x8e9e05c52164694dULL;
  for (const auto& [other_name, node] : nodes_) {
    if (node.stage != Stage::kConfigured || !node.config.control_plane)
      continue;
    machine::EtcdMember* m = members->add_members();
    m->set_id(id += 0x1111);
    m->set_hostname(other_name);
    m->add_peer_urls(absl::StrCat("https://", node.spec.ip, ":2380"));
    m->add_client_urls(absl::StrCat("https://", node.spec.ip, ":2379"));
    members->add_legacy_members(other_name);
  }
  return grpc::Status::OK;
}

}  // namespace coldstart::lab
