#include "tools/provision-vms/vm_plan.h"

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "lib/base/status_macros.h"
#include "nlohmann/json.hpp"
#include "tools/provision-vms/vm_config.h"

namespace coldstart {
namespace {

using json = nlohmann::json;

ObservedVm ParseObservedVm(const json& e) {
  ObservedVm vm;
  vm.vmid = static_cast<int>(PveInt(e["vmid"]).value_or(0));
  vm.node = PveString(e["node"]);
  vm.name = e.contains("name") ? PveString(e["name"]) : "";
  vm.status = PveString(e["status"]);
  vm.lock = e.contains("lock") ? PveString(e["lock"]) : "";
  for (absl::string_view t :
       absl::StrSplit(e.contains("tags") ? PveString(e["tags"]) : "",
                      absl::ByAnyChar(",; "), absl::SkipEmpty())) {
    vm.tags.insert(absl::AsciiStrToLower(t));
  }
  vm.maxcpu = PveInt(e["maxcpu"]).value_or(0);
  vm.maxmem = PveInt(e["maxmem"]).value_or(0);
  vm.maxdisk = PveInt(e["maxdisk"]).value_or(0);
  return vm;
}

// A VMID that is not ours.
VmPlan ForeignPlan(const v1::ClusterSpec& spec, const v1::Node& node,
                   const ObservedVm& vm, bool adopt) {
  VmPlan plan;
  plan.node = &node;
  plan.observed = vm;
  if (adopt && vm.name == node.name() && vm.lock.empty()) {
    plan.action = VmAction::kAdopt;
    plan.details.push_back("take over: add tags " + ClusterTags(spec.name()) +
                           " and the marker line");
    return plan;
  }
  plan.action = VmAction::kConflict;
  std::string owner = vm.tags.count("coldstart")
                          ? "carries another cluster's coldstart tags"
                          : "has no coldstart marker";
  plan.details.push_back(absl::StrCat(
      "VMID ", node.vmid(), " is held by VM \"", vm.name, "\" on node ",
      vm.node, " which ", owner,
      "; not touching it. Free the VMID, change the node's vmid in the spec",
      vm.name == node.name() && vm.lock.empty()
          ? ", or re-run with --adopt to take it over"
          : absl::StrCat(", or (if it is this node) rename it to \"",
                         node.name(), "\" and re-run with --adopt")));
  return plan;
}

// One of ours: what differs in the bulk-visible fields.
VmPlan OwnPlan(const v1::Node& node, const ObservedVm& vm) {
  VmPlan plan;
  plan.node = &node;
  plan.observed = vm;
  if (vm.node != node.proxmox_node()) {
    plan.action = VmAction::kConflict;
    plan.details.push_back(absl::StrCat(
        "VMID ", node.vmid(), " is ours but runs on node ", vm.node,
        ", the spec says ", node.proxmox_node(),
        "; migrate it or fix the spec (provision-vms does not migrate)"));
    return plan;
  }
  if (vm.name != node.name()) {
    plan.details.push_back("name " + vm.name + " -> " + node.name());
  }
  if (vm.maxcpu != node.cores()) {
    plan.details.push_back(
        absl::StrCat("cores ", vm.maxcpu, " -> ", node.cores()));
  }
  if (vm.maxmem != int64_t{node.memory_mib()} << 20) {
    plan.details.push_back(absl::StrCat("memory ", vm.maxmem >> 20, " MiB -> ",
                                        node.memory_mib(), " MiB"));
  }
  if (vm.maxdisk < int64_t{node.disk_gib()} << 30) {
    plan.details.push_back(absl::StrCat("disk ", vm.maxdisk >> 20, " MiB -> ",
                                        node.disk_gib(), " GiB"));
  }
  if (vm.status != "running") plan.details.push_back("start");
  plan.action = plan.details.empty() ? VmAction::kUnchanged : VmAction::kChange;
  return plan;
}

}  // namespace

const char* ActionName(VmAction action) {
  switch (action) {
    case VmAction::kCreate:
      return "create";
    case VmAction::kAdopt:
      return "adopt";
    case VmAction::kUnchanged:
      return "unchanged";
    case VmAction::kChange:
      return "change";
    case VmAction::kConflict:
      return "conflict";
  }
  return "?";
}

absl::StatusOr<std::map<int, ObservedVm>> ObserveVms(ProvisionContext& context,
                                                     PveClient& pve) {
  std::set<int> spec_vmids;
  for (const auto& n : context.spec().nodes()) spec_vmids.insert(n.vmid());
  std::map<int, ObservedVm> observed;
  PollOptions options =
      context.PollFor("a create or clone of a spec VMID to end",
                      context.options().task_deadline);
  options.backoff = {absl::Milliseconds(20), absl::Seconds(2), 2.0, 0.0};
  // Only a locked spec VMID is waited out; a failed call ends the wait.
  bool locked = false;
  options.retryable = [&locked](const absl::Status&) { return locked; };
  RETURN_IF_ERROR(Poll(options, [&](PollAttempt&) -> absl::Status {
    locked = false;
    observed.clear();
    ASSIGN_OR_RETURN(json list,
                     pve.Get("/cluster/resources", {{"type", "vm"}}));
    std::vector<std::string> busy;
    for (const auto& e : list) {
      if (PveString(e["type"]) != "qemu") continue;
      ObservedVm vm = ParseObservedVm(e);
      // A create or clone still running holds an empty, locked config:
      // whose it is shows only when it ends.
      if (spec_vmids.count(vm.vmid) &&
          (vm.lock == "create" || vm.lock == "clone")) {
        busy.push_back(absl::StrCat("VMID ", vm.vmid, " (lock ", vm.lock, ")"));
      }
      observed[vm.vmid] = std::move(vm);
    }
    if (busy.empty()) return absl::OkStatus();
    locked = true;
    return absl::UnavailableError(absl::StrJoin(busy, ", "));
  }));
  return observed;
}

std::vector<VmPlan> PlanVms(const v1::ClusterSpec& spec,
                            const std::map<int, ObservedVm>& observed,
                            bool adopt) {
  std::vector<VmPlan> plans;
  std::string tag = ClusterTag(spec.name());
  for (const auto& node : spec.nodes()) {
    auto it = observed.find(node.vmid());
    if (it == observed.end()) {
      VmPlan plan;
      plan.node = &node;
      plan.action = VmAction::kCreate;
      plans.push_back(std::move(plan));
    } else if (it->second.tags.count(tag) == 0) {
      plans.push_back(ForeignPlan(spec, node, it->second, adopt));
    } else {
      plans.push_back(OwnPlan(node, it->second));
    }
  }
  return plans;
}

}  // namespace coldstart
