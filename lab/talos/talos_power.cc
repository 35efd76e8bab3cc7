// Reboot and Reset (facts/talos.md §2.2): reply first, then the API goes
// down; the node boots again after the boot latency (Reset with
// reboot=false powers off). Reset wiping STATE (or the whole disk) forgets
// the config, so the node comes back in maintenance mode.
#include <algorithm>
#include <string>

#include "lab/talos/talos_simulator.h"

namespace coldstart::lab {

grpc::Status TalosSimulator::Reboot(const std::string& name,
                                    grpc::ServerContext* ctx,
                                    machine::RebootResponse* response) {
  grpc::Status auth = Authorize(ctx, {"os:operator"});
  if (!auth.ok()) return auth;
  response->add_messages()->set_actor_id("lab");
  uint64_t boot;
  {
    absl::MutexLock lock(&mu_);
    Node& node = nodes_.at(name);
    node.stage = Stage::kRebooting;
    boot = ++node.boot;
  }
  GoDown(name, boot, /*boot_again=*/true);
  return grpc::Status::OK;
}

grpc::Status TalosSimulator::Reset(const std::string& name,
                                   grpc::ServerContext* ctx,
                                   const machine::ResetRequest& request,
                                   machine::ResetResponse* response) {
  grpc::Status auth = Authorize(ctx, {});
  if (!auth.ok()) return auth;
  // Empty list: the whole system disk (§2.2 Reset). etcd's data directory
  // lives on EPHEMERAL.
  const bool whole_disk = request.system_partitions_to_wipe_size() == 0;
  bool wipe_state = whole_disk, wipe_ephemeral = whole_disk;
  for (const auto& p : request.system_partitions_to_wipe()) {
    wipe_state |= p.label() == "STATE" && p.wipe();
    wipe_ephemeral |= p.label() == "EPHEMERAL" && p.wipe();
  }
  response->add_messages()->set_actor_id("lab");
  uint64_t boot;
  {
    absl::MutexLock lock(&mu_);
    Node& node = nodes_.at(name);
    if (wipe_state) {
      node.config_yaml.clear();
      node.config = TalosMachineConfig();
      node.tailscale_logged_in = false;
    }
    if (wipe_ephemeral) node.bootstrapped_etcd = false;
    node.stage = Stage::kRebooting;
    boot = ++node.boot;
  }
  GoDown(name, boot, /*boot_again=*/request.reboot());
  return grpc::Status::OK;
}

void TalosSimulator::GoDown(const std::string& name, uint64_t boot,
                            bool boot_again) {
  After(absl::Milliseconds(20),
        [name](TalosSimulator& self) { self.StopServer(name); });
  if (!boot_again) return;
  After(std::max(absl::Milliseconds(40), context_.latency->Delay(Step::kBoot)),
        [name, boot](TalosSimulator& self) {
          {
            absl::MutexLock lock(&self.mu_);
            // A later reboot or reset superseded this one.
            if (self.nodes_.at(name).boot != boot) return;
          }
          self.OnBooted(name);
        });
}

}  // namespace coldstart::lab
