// QEMU VMs: list, create (qmcreate task), config, resize, delete.
#include <optional>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "lab/pve/pve_api.h"
#include "lab/pve/pve_api_internal.h"
#include "nlohmann/json.hpp"
#include "re2/re2.h"

namespace coldstart::lab {
namespace {

using json = nlohmann::json;
using pve_internal::CheckSchema;
using pve_internal::ConfigDigest;
using pve_internal::Data;
using pve_internal::DiskStorage;
using pve_internal::Fail;
using pve_internal::Forbidden;
using pve_internal::FormatSize;
using pve_internal::IsDiskKey;
using pve_internal::kGiB;
using pve_internal::kMiB;
using pve_internal::Param;
using pve_internal::ParamError;
using pve_internal::ParseSize;
using pve_internal::VmName;

const absl::Duration kResizeTask = absl::Seconds(1);
const absl::Duration kDestroyTask = absl::Seconds(2);
const absl::Duration kConfigTask = absl::Seconds(1);
// lock_config waits 10 s for the file lock.
const absl::Duration kFileLockWait = absl::Seconds(10);

// A config value as GET config answers it: some keys are numbers.
json ConfigValue(const std::string& key, const std::string& value) {
  static const std::set<std::string>* kNumbers =
      new std::set<std::string>{"cores", "sockets",  "onboot",    "balloon",
                                "vcpus", "template", "protection"};
  int64_t n = 0;
  if (kNumbers->count(key) && absl::SimpleAtoi(value, &n)) return n;
  return value;
}

// The ",opt=..." options of a disk value without `import-from` and `size`.
std::string OptionsWithoutImport(const std::string& options) {
  std::string kept;
  for (absl::string_view o : absl::StrSplit(options, ',', absl::SkipEmpty())) {
    if (!absl::StartsWith(o, "import-from=") && !absl::StartsWith(o, "size=")) {
      absl::StrAppend(&kept, ",", o);
    }
  }
  return kept;
}

// A disk value with its size= option set to `bytes`.
std::string WithSize(const std::string& value, int64_t bytes) {
  std::string kept;
  for (absl::string_view o : absl::StrSplit(value, ',')) {
    if (!absl::StartsWith(o, "size=")) {
      absl::StrAppend(&kept, kept.empty() ? "" : ",", o);
    }
  }
  return absl::StrCat(kept, ",size=", FormatSize(bytes));
}

}  // namespace

std::optional<PveResponse> PveApi::CheckVm(const Caller& c,
                                           const PathArgs& args) {
  auto it = vms_.find(args.vmid);
  if (it == vms_.end() || it->second.node != args.node) {
    return Fail(
        500, absl::StrCat("Configuration file 'nodes/", args.node,
                          "/qemu-server/", args.vmid, ".conf' does not exist"));
  }
  return std::nullopt;
}

PveResponse PveApi::ListVms(const PveRequest& r, const Caller& c,
                            const PathArgs& args) {
  json out = json::array();
  for (const auto& [id, vm] : vms_) {
    if (vm.node != args.node ||
        !Has(c, absl::StrCat("/vms/", id), "VM.Audit")) {
      continue;
    }
    json e = {{"vmid", id},
              {"status", vm.running ? "running" : "stopped"},
              {"name", VmName(id, vm.config)}};
    if (vm.config.count("tags")) e["tags"] = vm.config.at("tags");
    if (vm.config.count("lock")) e["lock"] = vm.config.at("lock");
    out.push_back(e);
  }
  return Data(out);
}

PveResponse PveApi::CreateVm(const PveRequest& r, const Caller& c,
                             const PathArgs& args) {
  PveResponse res;
  int vmid = 0;
  if (!absl::SimpleAtoi(Param(r, "vmid"), &vmid) || vmid < 100 ||
      vmid > 999999999) {
    return ParamError(
        {{"vmid", Param(r, "vmid").empty()
                      ? "property is missing and it is not optional"
                      : "invalid format - value must be 100..999999999"}});
  }
  std::map<std::string, std::string> config;
  if (!CheckConfigParams(r, c, vmid, true, &config, &res)) return res;
  auto existing = vms_.find(vmid);
  if (existing != vms_.end()) {
    return Fail(500, absl::StrCat("unable to create VM ", vmid, " - VM ", vmid,
                                  " already exists on node '",
                                  existing->second.node, "'"));
  }
  // create_and_lock_config: an empty config with lock: create, at once.
  Vm placeholder;
  placeholder.node = args.node;
  placeholder.config["lock"] = "create";
  placeholder.file_locked = true;
  vms_[vmid] = placeholder;
  return Data(StartTask(args.node, "qmcreate", absl::StrCat(vmid), c,
                        latency_.Base(Step::kVmCreate), r.task_error,
                        [this, vmid, node = args.node, config](bool failed) {
                          return FinishCreateVm(vmid, node, config, failed);
                        }));
}

PveApi::TaskEnd PveApi::FinishCreateVm(
    int vmid, const std::string& node,
    const std::map<std::string, std::string>& config, bool failed) {
  absl::MutexLock lock(&mu_);
  if (failed) {
    vms_.erase(vmid);
    return {"failed", {}};
  }
  Vm vm;
  vm.node = node;
  for (const auto& [k, v] : config) {
    if (k == "node" || k == "vmid" || k == "start" || k == "storage" ||
        k == "pool") {
      continue;
    }
    vm.config[k] = v;
  }
  for (auto& [k, v] : vm.config) {
    if (absl::StartsWith(k, "net")) {
      std::map<std::string, std::string> p = ParsePveProperties(v, "model");
      if (p.count("model")) {  // "virtio,bridge=..." without a MAC
        v = absl::StrCat(p["model"], "=", NewMac(),
                         v.substr(p["model"].size()));
      }
    }
    if (!IsDiskKey(k)) continue;
    if (std::optional<std::string> error = AllocateDisk(vmid, node, v)) {
      vms_.erase(vmid);
      return {*error, {}};
    }
  }
  if (!vm.config.count("boot")) vm.config["boot"] = "order=scsi0;ide2;net0";
  vm.config["smbios1"] = "uuid=" + NewUuid();
  vm.config["vmgenid"] = NewUuid();
  vm.config["meta"] = absl::StrCat("creation-qemu=8.1.5,ctime=", NowSeconds());
  std::string name = VmName(vmid, vm.config);
  vms_[vmid] = vm;
  return {"OK", {VmCreated{vmid, name}}};
}

std::optional<std::string> PveApi::AllocateDisk(int vmid,
                                                const std::string& node,
                                                std::string& value) {
  std::string store = DiskStorage(value);
  std::string first = value.substr(0, value.find(','));
  std::string options =
      value.find(',') == std::string::npos ? "" : value.substr(value.find(','));
  if (absl::EndsWith(first, ":cloudinit")) {
    std::string volid = absl::StrCat(store, ":vm-", vmid, "-cloudinit");
    volumes_[{node, store}][volid] =
        Volume{"images", "raw", 4 * kMiB, 0, vmid, NowSeconds()};
    value = volid + ",media=cdrom";
    return std::nullopt;
  }
  int64_t size = 0;
  if (absl::StrContains(value, "import-from=")) {
    std::string src = ParsePveProperties(value, "file")["import-from"];
    std::string src_store = src.substr(0, src.find(':'));
    const Volume* source = nullptr;
    for (const auto& [location, vols] : volumes_) {
      if (location.first != node || location.second != src_store) continue;
      auto vol = vols.find(src);
      if (vol != vols.end()) source = &vol->second;
    }
    if (source == nullptr) {
      return absl::StrCat("cannot import from '", src, "' - volume '", src,
                          "' does not exist");
    }
    size = source->virtual_size > 0 ? source->virtual_size : source->size;
    options = OptionsWithoutImport(options);
  } else {
    size = ParseSize(first.substr(first.find(':') + 1)).value_or(0) * kGiB;
  }
  std::string volid = absl::StrCat(store, ":vm-", vmid, "-disk-0");
  volumes_[{node, store}][volid] =
      Volume{"images", "raw", size, 0, vmid, NowSeconds()};
  value = absl::StrCat(volid, options, ",size=", FormatSize(size));
  return std::nullopt;
}

PveResponse PveApi::GetVmConfig(const PveRequest& r, const Caller& c,
                                const PathArgs& args) {
  std::string vm_path = absl::StrCat("/vms/", args.vmid);
  if (!Has(c, vm_path, "VM.Audit")) return Forbidden(vm_path, "VM.Audit");
  const Vm& vm = vms_[args.vmid];
  json data = json::object();
  for (const auto& [k, v] : vm.config) data[k] = ConfigValue(k, v);
  data["digest"] = ConfigDigest(vm.config);
  return Data(data);
}

PveResponse PveApi::SetVmConfig(const PveRequest& r, const Caller& c,
                                const PathArgs& args) {
  return UpdateConfig(r, c, args.node, args.vmid, /*async=*/false);
}

PveResponse PveApi::PostVmConfig(const PveRequest& r, const Caller& c,
                                 const PathArgs& args) {
  return UpdateConfig(r, c, args.node, args.vmid, /*async=*/true);
}

PveResponse PveApi::UpdateConfig(const PveRequest& r, const Caller& c,
                                 const std::string& node, int vmid,
                                 bool async) {
  PveResponse res;
  Vm& vm = vms_[vmid];
  std::map<std::string, std::string> changes;
  if (!CheckConfigParams(r, c, vmid, false, &changes, &res)) return res;
  if (Param(r, "skiplock") == "1") {
    return Fail(403, "Only root may use this option.");
  }
  if (std::optional<PveResponse> locked = VmLockFailure(vmid, vm)) {
    return *locked;
  }
  if (!Param(r, "digest").empty() &&
      ConfigDigest(vm.config) != Param(r, "digest")) {
    return Fail(500, "checksum mismatch (file change by other user?)");
  }
  for (const auto& [k, v] : changes) {
    if (IsDiskKey(k) && absl::StrContains(v, "import-from=")) {
      return Fail(500, "the lab's pve does not import disks on config updates");
    }
    vm.config[k] = v;
  }
  for (absl::string_view key :
       absl::StrSplit(Param(r, "delete"), ',', absl::SkipEmpty())) {
    vm.config.erase(std::string(key));
  }
  if (!async) return Data(nullptr);
  return Data(StartTask(node, "qmconfig", absl::StrCat(vmid), c, kConfigTask,
                        r.task_error, [](bool) -> TaskEnd {
                          return {"OK", {}};
                        }));
}

std::optional<PveResponse> PveApi::VmLockFailure(int vmid, Vm& vm) {
  if (vm.file_locked) {
    PveResponse res =
        Fail(500, absl::StrCat("can't lock file '/var/lock/qemu-server/lock-",
                               vmid, ".conf' - got timeout"));
    res.delay = latency_.Scale(kFileLockWait);
    return res;
  }
  if (vm.config.count("lock")) {
    return Fail(500, absl::StrCat("VM is locked (", vm.config["lock"], ")"));
  }
  return std::nullopt;
}

PveResponse PveApi::Resize(const PveRequest& r, const Caller& c,
                           const PathArgs& args) {
  const int vmid = args.vmid;
  PveResponse res;
  if (!CheckSchema(r, {"node", "vmid", "disk", "size", "digest", "skiplock"},
                   &res)) {
    return res;
  }
  std::string vm_path = absl::StrCat("/vms/", vmid);
  if (!Has(c, vm_path, "VM.Config.Disk")) {
    return Forbidden(vm_path, "VM.Config.Disk");
  }
  Vm& vm = vms_[vmid];
  std::string disk = Param(r, "disk");
  std::string size_text = Param(r, "size");
  static const RE2 kSize(R"(\+?\d+(\.\d+)?[KMGT]?)");
  if (!RE2::FullMatch(size_text, kSize)) {
    return ParamError({{"size", "value does not match the regex pattern"}});
  }
  if (std::optional<PveResponse> locked = VmLockFailure(vmid, vm)) {
    return *locked;
  }
  if (!vm.config.count(disk)) {
    return ParamError(
        {{"disk", absl::StrCat("disk '", disk, "' does not exist")}});
  }
  std::string store = DiskStorage(vm.config[disk]);
  if (!Has(c, "/storage/" + store, "Datastore.AllocateSpace")) {
    return Forbidden("/storage/" + store, "Datastore.AllocateSpace");
  }
  vm.file_locked = true;
  return Data(StartTask(
      args.node, "resize", absl::StrCat(vmid), c, kResizeTask, r.task_error,
      [this, vmid, disk, size_text](bool failed) -> TaskEnd {
        absl::MutexLock lock(&mu_);
        auto it = vms_.find(vmid);
        if (it == vms_.end()) return {"VM disappeared", {}};
        Vm& vm = it->second;
        vm.file_locked = false;
        if (failed) return {"failed", {}};
        std::string value = vm.config[disk];
        std::map<std::string, std::string> p =
            ParsePveProperties(value, "file");
        int64_t current = ParseSize(p["size"]).value_or(0);
        absl::string_view s = size_text;
        bool relative = absl::ConsumePrefix(&s, "+");
        int64_t requested = ParseSize(s).value_or(0);
        int64_t target = relative ? current + requested : requested;
        if (target < current) return {"shrinking disks is not supported", {}};
        vm.config[disk] = WithSize(value, target);
        return {"OK", {}};
      }));
}

PveResponse PveApi::DeleteVm(const PveRequest& r, const Caller& c,
                             const PathArgs& args) {
  const int vmid = args.vmid;
  PveResponse res;
  if (!CheckSchema(
          r,
          {"node", "vmid", "purge", "destroy-unreferenced-disks", "skiplock"},
          &res)) {
    return res;
  }
  std::string vm_path = absl::StrCat("/vms/", vmid);
  if (!Has(c, vm_path, "VM.Allocate")) return Forbidden(vm_path, "VM.Allocate");
  Vm& vm = vms_[vmid];
  if (std::optional<PveResponse> locked = VmLockFailure(vmid, vm)) {
    return *locked;
  }
  if (vm.running) {
    return Fail(500, absl::StrCat("VM ", vmid, " is running - destroy failed"));
  }
  if (vm.config.count("protection") && vm.config["protection"] == "1") {
    return Fail(500, "can't remove VM - protection mode enabled");
  }
  vm.config["lock"] = "destroyed";
  return Data(
      StartTask(args.node, "qmdestroy", absl::StrCat(vmid), c, kDestroyTask,
                r.task_error, [this, vmid](bool failed) -> TaskEnd {
                  absl::MutexLock lock(&mu_);
                  auto it = vms_.find(vmid);
                  if (it == vms_.end()) return {"OK", {}};
                  if (failed) {
                    it->second.config.erase("lock");
                    return {"failed", {}};
                  }
                  std::string name = VmName(vmid, it->second.config);
                  for (auto& [location, vols] : volumes_) {
                    for (auto v = vols.begin(); v != vols.end();) {
                      v = v->second.vmid == vmid ? vols.erase(v) : std::next(v);
                    }
                  }
                  vms_.erase(it);
                  return {"OK", {VmDeleted{vmid, name}}};
                }));
}

}  // namespace coldstart::lab
