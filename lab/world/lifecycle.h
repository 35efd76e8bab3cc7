// The causal chain of a node's life that no single simulator owns, wired into
// the world with the latency model's delays:
//
//   VmStarted(vm)          --boot-->    NodeBooted(vm.name, ip of that node)
//   EtcdBootstrapped       --vip-up-->  VipUp(api_vip)
//   CniRolledOut           --cni-->     NodeReady(n) for every configured node
//   ConfigApplied(n) after CniRolledOut  --cni-->  NodeReady(n)
//
// A delayed consequence is dropped when its cause no longer holds at its due
// time (the VM was stopped or restarted meanwhile, the node is off).
// Simulators publish the causes (pve: VmStarted; talos: ConfigApplied,
// EtcdBootstrapped; kube: CniRolledOut) and subscribe to the consequences.
#ifndef COLDSTART_LAB_WORLD_LIFECYCLE_H_
#define COLDSTART_LAB_WORLD_LIFECYCLE_H_

#include <map>
#include <string>

#include "lab/world/latency.h"
#include "lab/world/scheduler.h"
#include "lab/world/world.h"

namespace coldstart::lab {

struct LifecycleOptions {
  // Node name -> its static IP (from the spec).
  std::map<std::string, std::string> node_ips;
  // Address the API VIP comes up on once etcd is bootstrapped.
  std::string api_vip;
};

// Subscribes the chain above on `world`. `world`, `scheduler` and `latency`
// must outlive every callback (stop the scheduler before destroying them).
void InstallLifecycle(const LifecycleOptions& options, World& world,
                      Scheduler& scheduler, const LatencyModel& latency);

}  // namespace coldstart::lab

#endif  // COLDSTART_LAB_WORLD_LIFECYCLE_H_
