#include "tools/provision-vms/vm_converge.h"

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "lib/base/status_macros.h"
#include "re2/re2.h"
#include "tools/provision-vms/vm_config.h"
#include "tools/provision-vms/vm_task.h"

namespace coldstart {
namespace {

using json = nlohmann::json;

std::string ConfigValue(const json& config, const std::string& key,
                        const std::string& absent = "") {
  return config.contains(key) ? PveString(config[key]) : absent;
}

// net0 with the spec's bridge and VLAN tag, keeping model and MAC.
std::string RebuiltNet0(const v1::ClusterSpec& spec, const json& config,
                        const std::string& want_tag) {
  std::string rebuilt;
  for (absl::string_view part :
       absl::StrSplit(ConfigValue(config, "net0"), ',', absl::SkipEmpty())) {
    if (absl::StartsWith(part, "bridge=") || absl::StartsWith(part, "tag=")) {
      continue;
    }
    absl::StrAppend(&rebuilt, rebuilt.empty() ? "" : ",", part);
  }
  absl::StrAppend(&rebuilt, ",bridge=", spec.proxmox().bridge());
  if (!want_tag.empty()) absl::StrAppend(&rebuilt, ",tag=", want_tag);
  return rebuilt;
}

// Tags and marker line: ours added, nobody else's removed.
void OwnershipChanges(const v1::ClusterSpec& spec, const v1::Node& node,
                      const json& config, PveParams& change) {
  std::set<std::string> have_tags;
  for (absl::string_view t :
       absl::StrSplit(ConfigValue(config, "tags"), absl::ByAnyChar(",; "),
                      absl::SkipEmpty())) {
    have_tags.insert(std::string(t));
  }
  std::set<std::string> all_tags = have_tags;
  all_tags.insert("coldstart");
  all_tags.insert(ClusterTag(spec.name()));
  if (all_tags != have_tags) change["tags"] = absl::StrJoin(all_tags, ";");
  std::string description = ConfigValue(config, "description");
  std::string marker = MarkerLine(spec.name(), node.name());
  if (!absl::StrContains(description, marker)) {
    change["description"] =
        description.empty() ? marker : absl::StrCat(description, "\n", marker);
  }
}

struct VmFacts {
  std::string mac;
  std::optional<int64_t> disk_bytes;
};

// The MAC (net0) and the size of scsi0 in a config.
VmFacts ReadFacts(const json& config) {
  VmFacts facts;
  std::map<std::string, std::string> net =
      ParsePropertyString(ConfigValue(config, "net0"), "model");
  for (const char* model : {"virtio", "e1000", "vmxnet3", "rtl8139"}) {
    if (net.count(model)) facts.mac = net[model];
  }
  if (config.contains("scsi0")) {
    facts.disk_bytes =
        ParsePveSize(
            ParsePropertyString(ConfigValue(config, "scsi0"), "file")["size"])
            .value_or(0);
  }
  return facts;
}

class VmConverger {
 public:
  VmConverger(ProvisionContext& context, PveClient& pve, VmPlan& plan,
              const std::string& image_volid, v1::VmStatus* status)
      : context_(context),
        pve_(pve),
        plan_(plan),
        node_(*plan.node),
        image_volid_(image_volid),
        status_(status),
        vm_path_(absl::StrCat("/nodes/", node_.proxmox_node(), "/qemu/",
                              node_.vmid())) {}

  absl::Status Run();

 private:
  const v1::ClusterSpec& spec() const { return context_.spec(); }
  absl::Status Create();
  absl::Status ReadConfig(json* config);
  absl::Status UpdateConfig(const json& config);
  absl::Status ResizeAndStart(int64_t disk);

  ProvisionContext& context_;
  PveClient& pve_;
  VmPlan& plan_;
  const v1::Node& node_;
  const std::string& image_volid_;
  v1::VmStatus* status_;
  const std::string vm_path_;
};

absl::Status VmConverger::Run() {
  int64_t disk = plan_.observed ? plan_.observed->maxdisk : 0;
  if (plan_.action == VmAction::kCreate) {
    RETURN_IF_ERROR(Create());
    disk = 0;
  }
  // The full config when needed: adopt, change, or to learn the MAC.
  const bool need_config = plan_.action != VmAction::kUnchanged;
  if (need_config || status_->mac().empty()) {
    json config;
    RETURN_IF_ERROR(ReadConfig(&config));
    VmFacts facts = ReadFacts(config);
    if (!facts.mac.empty()) status_->set_mac(facts.mac);
    if (facts.disk_bytes.has_value()) disk = *facts.disk_bytes;
    if (need_config && plan_.action != VmAction::kCreate) {
      RETURN_IF_ERROR(UpdateConfig(config));
    }
  }
  RETURN_IF_ERROR(ResizeAndStart(disk));
  status_->set_power_state(v1::POWER_STATE_RUNNING);
  return absl::OkStatus();
}

absl::Status VmConverger::Create() {
  ASSIGN_OR_RETURN(PveParams params, CreateParams(spec(), node_, image_volid_));
  absl::StatusOr<PveTask> created = RunVmTask(
      context_, pve_, node_, "create",
      [&] {
        return pve_.Post(absl::StrCat("/nodes/", node_.proxmox_node(), "/qemu"),
                         params);
      },
      status_);
  if (!absl::IsAlreadyExists(created.status())) return created.status();
  // A create of an earlier attempt landed after all: check it is ours.
  ASSIGN_OR_RETURN(json config, pve_.Get(vm_path_ + "/config"));
  if (!absl::StrContains(ConfigValue(config, "tags"),
                         ClusterTag(spec().name()))) {
    return absl::FailedPreconditionError(absl::StrCat(
        Describe(node_),
        ": the VMID was taken by a VM without our marker while we created it; "
        "not touching it"));
  }
  return absl::OkStatus();
}

absl::Status VmConverger::ReadConfig(json* config) {
  absl::StatusOr<json> got = pve_.Get(vm_path_ + "/config");
  if (!got.ok()) {
    return VmError(node_, "read config", got.status(), "re-run to resume");
  }
  *config = *std::move(got);
  return absl::OkStatus();
}

absl::Status VmConverger::UpdateConfig(const json& config) {
  ASSIGN_OR_RETURN(PveParams change, ConfigChanges(spec(), node_, config));
  if (change.empty()) return absl::OkStatus();
  std::vector<std::string> keys;
  for (const auto& [key, value] : change) keys.push_back(key);
  context_.Say(absl::StrCat(Describe(node_), ": ", ActionName(plan_.action),
                            ": set ", absl::StrJoin(keys, ", ")));
  absl::Status s = pve_.Put(vm_path_ + "/config", change).status();
  if (!s.ok()) {
    return VmError(node_, "update config", s,
                   "re-run to resume; if it persists, check the VM in the "
                   "Proxmox UI");
  }
  return absl::OkStatus();
}

absl::Status VmConverger::ResizeAndStart(int64_t disk) {
  if (disk < int64_t{node_.disk_gib()} << 30) {
    absl::StatusOr<PveTask> resized = RunVmTask(
        context_, pve_, node_, "resize",
        [&] {
          return pve_.Put(vm_path_ + "/resize",
                          {{"disk", "scsi0"},
                           {"size", absl::StrCat(node_.disk_gib(), "G")}});
        },
        status_);
    if (!resized.ok()) {
      return VmError(node_, "resize disk", resized.status(),
                     "re-run to resume");
    }
  }
  const bool running = plan_.observed && plan_.observed->status == "running";
  if (running) return absl::OkStatus();
  absl::StatusOr<PveTask> started = RunVmTask(
      context_, pve_, node_, "start",
      [&] { return pve_.Post(vm_path_ + "/status/start"); }, status_);
  if (!started.ok() &&
      !absl::StrContains(started.status().message(), "already running")) {
    return VmError(node_, "start", started.status(), "re-run to resume");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<PveParams> ConfigChanges(const v1::ClusterSpec& spec,
                                        const v1::Node& node,
                                        const json& config) {
  PveParams change;
  auto want = [&](const std::string& key, const std::string& value) {
    if (ConfigValue(config, key) != value) change[key] = value;
  };
  OwnershipChanges(spec, node, config, change);
  want("name", node.name());
  want("cores", absl::StrCat(node.cores()));
  std::string memory = ConfigValue(config, "memory");
  if (memory != absl::StrCat(node.memory_mib()) &&
      memory != absl::StrCat("current=", node.memory_mib())) {
    change["memory"] = absl::StrCat(node.memory_mib());
  }
  want("cpu", CpuType(spec));
  want("scsihw", "virtio-scsi-pci");
  std::map<std::string, std::string> net =
      ParsePropertyString(ConfigValue(config, "net0"), "model");
  std::string want_tag =
      spec.proxmox().vlan_tag() ? absl::StrCat(spec.proxmox().vlan_tag()) : "";
  if (net["bridge"] != spec.proxmox().bridge() || net["tag"] != want_tag) {
    change["net0"] = RebuiltNet0(spec, config, want_tag);
  }
  ASSIGN_OR_RETURN(std::string ipconfig, Ipconfig0(spec, node));
  want("ipconfig0", ipconfig);
  if (!spec.network().nameservers().empty()) {
    want("nameserver", Nameservers(spec));
  }
  bool cloudinit = false;
  for (const auto& [key, value] : config.items()) {
    cloudinit |= absl::StrContains(PveString(value), "cloudinit") &&
                 RE2::FullMatch(key, R"((ide|sata|scsi)\d+)");
  }
  if (!cloudinit && !config.contains("ide2")) {
    change["ide2"] = absl::StrCat(NodeStorage(spec, node), ":cloudinit");
  }
  if (ParsePropertyString(ConfigValue(config, "agent", "0"),
                          "enabled")["enabled"] != "1") {
    change["agent"] = "1";
  }
  return change;
}

absl::Status ConvergeVm(ProvisionContext& context, PveClient& pve, VmPlan& plan,
                        const std::string& image_volid, v1::VmStatus* status) {
  const v1::Node& node = *plan.node;
  Events::StepId step =
      context.events().Start(ActionName(plan.action), node.name());
  absl::Status result =
      VmConverger(context, pve, plan, image_volid, status).Run();
  context.events().End(step, result);
  return result;
}

}  // namespace coldstart
