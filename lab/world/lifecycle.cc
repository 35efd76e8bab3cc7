#include "lab/world/lifecycle.h"

namespace coldstart::lab {
namespace {

void ScheduleReady(const std::string& node, World& world, Scheduler& scheduler,
                   const LatencyModel& latency) {
  scheduler.ScheduleAfter(latency.Delay(Step::kCniRollout), [&world, node] {
    WorldState state = world.State();
    auto it = state.nodes.find(node);
    if (it == state.nodes.end() || it->second.stage != NodeStage::kConfigured) {
      return;
    }
    world.Publish(NodeReady{node});
  });
}

}  // namespace

void InstallLifecycle(const LifecycleOptions& options, World& world,
                      Scheduler& scheduler, const LatencyModel& latency) {
  // SubscribeAll for the event's sequence number: it identifies this run of
  // the VM, so a boot scheduled for an earlier run never fires.
  world.SubscribeAll([&world, &scheduler, &latency,
                      ips = options.node_ips](const Event& event) {
    const auto* started = std::get_if<VmStarted>(&event.payload);
    if (started == nullptr) return;
    auto ip = ips.find(started->name);
    std::string address = ip == ips.end() ? "" : ip->second;
    scheduler.ScheduleAfter(
        latency.Delay(Step::kBoot),
        [&world, vm_started = *started, seq = event.seq, address] {
          WorldState state = world.State();
          auto vm = state.vms.find(vm_started.vmid);
          if (vm == state.vms.end() || !vm->second.running ||
              vm->second.started_seq != seq) {
            return;
          }
          world.Publish(NodeBooted{vm_started.name, address});
        });
  });
  world.Subscribe<EtcdBootstrapped>(
      [&world, &scheduler, &latency,
       vip = options.api_vip](const EtcdBootstrapped&) {
        scheduler.ScheduleAfter(latency.Delay(Step::kVipUp),
                                [&world, vip] { world.Publish(VipUp{vip}); });
      });
  world.Subscribe<CniRolledOut>(
      [&world, &scheduler, &latency](const CniRolledOut&) {
        for (const auto& [name, node] : world.State().nodes) {
          if (node.stage == NodeStage::kConfigured) {
            ScheduleReady(name, world, scheduler, latency);
          }
        }
      });
  world.Subscribe<ConfigApplied>(
      [&world, &scheduler, &latency](const ConfigApplied& e) {
        if (world.State().cni_rolled_out) {
          ScheduleReady(e.node, world, scheduler, latency);
        }
      });
}

}  // namespace coldstart::lab
