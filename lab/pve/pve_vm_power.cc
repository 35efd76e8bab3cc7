// A VM's run state: status, start/stop/shutdown tasks, the guest agent.
#include <map>
#include <string>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "lab/pve/pve_api.h"
#include "lab/pve/pve_api_internal.h"
#include "nlohmann/json.hpp"

namespace coldstart::lab {
namespace {

using json = nlohmann::json;
using pve_internal::AgentConfigured;
using pve_internal::CheckSchema;
using pve_internal::Data;
using pve_internal::Fail;
using pve_internal::Forbidden;
using pve_internal::Param;
using pve_internal::VmName;

const absl::Duration kStartTask = absl::Seconds(2);
const absl::Duration kStopTask = absl::Seconds(1);

// network-get-interfaces for a VM with MAC `mac` and ipconfig0 `ip`
// (CIDR): lo and eth0.
json AgentInterfaces(const std::string& mac, const std::string& ip) {
  std::pair<std::string, std::string> cidr =
      absl::StrSplit(ip, absl::MaxSplits('/', 1));
  int prefix = 24;
  absl::SimpleAtoi(cidr.second, &prefix);
  json lo = {{"name", "lo"},
             {"hardware-address", "00:00:00:00:00:00"},
             {"ip-addresses",
              {{{"ip-address-type", "ipv4"},
                {"ip-address", "127.0.0.1"},
                {"prefix", 8}}}}};
  json eth0 = {{"name", "eth0"},
               {"hardware-address", absl::AsciiStrToLower(mac)},
               {"ip-addresses",
                {{{"ip-address-type", "ipv4"},
                  {"ip-address", cidr.first},
                  {"prefix", prefix}},
                 {{"ip-address-type", "ipv6"},
                  {"ip-address", "fe80::be24:11ff:fe00:1"},
                  {"prefix", 64}}}}};
  return {{"result", {lo, eth0}}};
}

}  // namespace

PveResponse PveApi::GetVmStatus(const PveRequest& r, const Caller& c,
                                const PathArgs& args) {
  std::string vm_path = absl::StrCat("/vms/", args.vmid);
  if (!Has(c, vm_path, "VM.Audit")) return Forbidden(vm_path, "VM.Audit");
  const Vm& vm = vms_[args.vmid];
  json data = {{"vmid", args.vmid},
               {"status", vm.running ? "running" : "stopped"},
               {"qmpstatus", vm.running ? "running" : "stopped"},
               {"name", VmName(args.vmid, vm.config)}};
  if (vm.config.count("lock")) data["lock"] = vm.config.at("lock");
  if (vm.config.count("agent")) data["agent"] = 1;
  return Data(data);
}

PveResponse PveApi::StartVm(const PveRequest& r, const Caller& c,
                            const PathArgs& args) {
  return Power(r, c, args, "start");
}

PveResponse PveApi::StopVm(const PveRequest& r, const Caller& c,
                           const PathArgs& args) {
  return Power(r, c, args, "stop");
}

PveResponse PveApi::ShutdownVm(const PveRequest& r, const Caller& c,
                               const PathArgs& args) {
  return Power(r, c, args, "shutdown");
}

PveResponse PveApi::Power(const PveRequest& r, const Caller& c,
                          const PathArgs& args, const std::string& action) {
  const int vmid = args.vmid;
  PveResponse res;
  if (!CheckSchema(r,
                   {"node", "vmid", "timeout", "skiplock", "forceStop",
                    "overrule-shutdown", "keepActive"},
                   &res)) {
    return res;
  }
  std::string vm_path = absl::StrCat("/vms/", vmid);
  if (!Has(c, vm_path, "VM.PowerMgmt"))
    return Forbidden(vm_path, "VM.PowerMgmt");
  Vm& vm = vms_[vmid];
  if (Param(r, "skiplock") == "1")
    return Fail(403, "Only root may use this option.");
  if (std::optional<PveResponse> locked = VmLockFailure(vmid, vm)) {
    return *locked;
  }
  std::string type = action == "start"  ? "qmstart"
                     : action == "stop" ? "qmstop"
                                        : "qmshutdown";
  vm.file_locked = true;
  return Data(StartTask(
      args.node, type, absl::StrCat(vmid), c,
      action == "start" ? kStartTask : kStopTask, r.task_error,
      [this, vmid, action](bool failed) -> TaskEnd {
        absl::MutexLock lock(&mu_);
        auto it = vms_.find(vmid);
        if (it == vms_.end()) return {"VM disappeared", {}};
        Vm& vm = it->second;
        vm.file_locked = false;
        if (failed) return {"failed", {}};
        std::string name = VmName(vmid, vm.config);
        if (action == "start") {
          if (vm.running)
            return {absl::StrCat("VM ", vmid, " already running"), {}};
          vm.running = true;
          vm.agent_up = false;
          return {"OK", {VmStarted{vmid, name}}};
        }
        if (!vm.running) return {"OK", {}};
        vm.running = false;
        vm.agent_up = false;
        return {"OK", {VmStopped{vmid, name}}};
      }));
}

PveResponse PveApi::GetAgentInterfaces(const PveRequest& r, const Caller& c,
                                       const PathArgs& args) {
  std::string vm_path = absl::StrCat("/vms/", args.vmid);
  if (!Has(c, vm_path, "VM.Monitor")) return Forbidden(vm_path, "VM.Monitor");
  Vm& vm = vms_[args.vmid];
  if (!AgentConfigured(vm.config)) {
    return Fail(500, "No QEMU guest agent configured");
  }
  if (!vm.running) {
    return Fail(500, absl::StrCat("VM ", args.vmid, " is not running"));
  }
  if (!vm.agent_up) return Fail(500, "QEMU guest agent is not running");
  // operator[] stores an empty net0/ipconfig0 in a config without them.
  std::map<std::string, std::string> net =
      ParsePveProperties(vm.config["net0"], "model");
  std::string mac;
  for (const auto& [k, v] : net) {
    if (k == "virtio" || k == "e1000") mac = v;
  }
  std::string ip = ParsePveProperties(vm.config["ipconfig0"], "")["ip"];
  return Data(AgentInterfaces(mac, ip));
}

}  // namespace coldstart::lab
