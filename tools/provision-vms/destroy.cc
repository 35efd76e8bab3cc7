#include "tools/provision-vms/destroy.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tools/provision-vms/vm_config.h"
#include "tools/provision-vms/vm_task.h"

namespace coldstart {
namespace {

// Stops (when running) and deletes one VM with its disks.
absl::Status DestroyVm(ProvisionContext& context, PveClient& pve,
                       const ObservedVm& vm) {
  v1::Node node;
  node.set_vmid(vm.vmid);
  node.set_name(vm.name);
  node.set_proxmox_node(vm.node);
  v1::VmStatus scratch;
  std::string path = absl::StrCat("/nodes/", vm.node, "/qemu/", vm.vmid);
  absl::Status s = absl::OkStatus();
  if (vm.status == "running") {
    s = RunVmTask(
            context, pve, node, "stop",
            [&] { return pve.Post(path + "/status/stop"); }, &scratch)
            .status();
  }
  if (s.ok()) {
    s = RunVmTask(
            context, pve, node, "destroy",
            [&] {
              return pve.Delete(
                  path, {{"purge", "1"}, {"destroy-unreferenced-disks", "1"}});
            },
            &scratch)
            .status();
    if (absl::IsNotFound(s)) s = absl::OkStatus();
  }
  return s.ok() ? s : VmError(node, "destroy", s, "re-run --destroy to resume");
}

}  // namespace

absl::Status DestroyVms(ProvisionContext& context, PveClient& pve,
                        const std::map<int, ObservedVm>& observed,
                        v1::ProvisionStatus* provision) {
  std::vector<ObservedVm> ours;
  const std::string tag = ClusterTag(context.spec().name());
  for (const auto& [vmid, vm] : observed) {
    if (vm.tags.count(tag)) ours.push_back(vm);
  }
  for (const auto& vm : ours) {
    context.Plan(absl::StrCat("VM ", vm.vmid, " (", vm.name, ") on node ",
                              vm.node, ": destroy"));
  }
  if (context.dry_run()) return absl::OkStatus();
  absl::Status result = context.ForEachParallel(ours.size(), [&](size_t i) {
    Events::StepId step = context.events().Start("destroy", ours[i].name);
    absl::Status s = DestroyVm(context, pve, ours[i]);
    context.events().End(step, s);
    return s;
  });
  provision->clear_vms();
  for (const auto& node : context.spec().nodes()) {
    v1::VmStatus* vm = provision->add_vms();
    vm->set_name(node.name());
    vm->set_vmid(node.vmid());
    vm->set_proxmox_node(node.proxmox_node());
    auto it = observed.find(node.vmid());
    bool kept = it != observed.end() && it->second.tags.count(tag) == 0;
    vm->set_power_state(kept ? v1::POWER_STATE_UNSPECIFIED
                             : v1::POWER_STATE_ABSENT);
    *vm->mutable_observed_at() = context.Now();
  }
  *provision->mutable_updated_at() = context.Now();
  return result;
}

}  // namespace coldstart
