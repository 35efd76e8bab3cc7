// The schema and privileges of VM config keys (create and config updates),
// and Proxmox's value formats (tags, property strings).
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "lab/pve/pve_api.h"
#include "lab/pve/pve_api_internal.h"
#include "re2/re2.h"

namespace coldstart::lab {
namespace {

using pve_internal::CheckSchema;
using pve_internal::Fail;
using pve_internal::Forbidden;
using pve_internal::IsDiskKey;
using pve_internal::ParamError;

using PrivilegeSet = std::set<std::pair<std::string, std::string>>;

// Keys of create/config and the privilege each needs (besides VM.Allocate
// on create).
const std::map<std::string, std::string>& ConfigKeyPrivileges() {
  static const auto* kKeys = new std::map<std::string, std::string>{
      {"name", "VM.Config.Options"},
      {"tags", "VM.Config.Options"},
      {"description", "VM.Config.Options"},
      {"onboot", "VM.Config.Options"},
      {"agent", "VM.Config.Options"},
      {"boot", "VM.Config.Options"},
      {"ostype", "VM.Config.Options"},
      {"protection", "VM.Config.Options"},
      {"cores", "VM.Config.CPU"},
      {"sockets", "VM.Config.CPU"},
      {"cpu", "VM.Config.CPU"},
      {"vcpus", "VM.Config.CPU"},
      {"memory", "VM.Config.Memory"},
      {"balloon", "VM.Config.Memory"},
      {"scsihw", "VM.Config.HWType"},
      {"bios", "VM.Config.HWType"},
      {"machine", "VM.Config.HWType"},
      {"vga", "VM.Config.HWType"},
      {"serial0", "VM.Config.HWType"},
      {"net0", "VM.Config.Network"},
      {"net1", "VM.Config.Network"},
      {"ipconfig0", "VM.Config.Cloudinit"},
      {"ipconfig1", "VM.Config.Cloudinit"},
      {"nameserver", "VM.Config.Cloudinit"},
      {"searchdomain", "VM.Config.Cloudinit"},
      {"citype", "VM.Config.Cloudinit"},
      {"smbios1", "VM.Config.HWType"},
      {"scsi0", "VM.Config.Disk"},
      {"scsi1", "VM.Config.Disk"},
      {"virtio0", "VM.Config.Disk"},
      {"ide0", "VM.Config.Disk"},
      {"ide2", "VM.Config.Disk"},
      {"sata0", "VM.Config.Disk"},
      {"efidisk0", "VM.Config.Disk"},
  };
  return *kKeys;
}

bool ValidIpv4(const std::string& s) {
  static const RE2 kIp(R"((\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3}))");
  int a, b, c, d;
  return RE2::FullMatch(s, kIp, &a, &b, &c, &d) && a < 256 && b < 256 &&
         c < 256 && d < 256;
}

bool ValidDnsName(const std::string& name) {
  static const RE2 kName(
      R"(([A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*)");
  return RE2::FullMatch(name, kName);
}

// Validates ipconfigN: ip=<CIDR>|dhcp,gw=<ip>,ip6=...,gw6=...
std::string IpconfigError(const std::string& value) {
  std::map<std::string, std::string> p = ParsePveProperties(value, "");
  for (const auto& [k, v] : p) {
    if (k != "ip" && k != "gw" && k != "ip6" && k != "gw6") {
      return absl::StrCat("invalid format - format error\nipconfig.", k,
                          ": property is not defined in schema");
    }
  }
  if (p.count("ip")) {
    std::string ip = p["ip"];
    if (ip != "dhcp") {
      std::pair<std::string, std::string> parts =
          absl::StrSplit(ip, absl::MaxSplits('/', 1));
      int prefix = 0;
      if (!ValidIpv4(parts.first) || !absl::SimpleAtoi(parts.second, &prefix) ||
          prefix < 0 || prefix > 32) {
        return absl::StrCat("invalid format - format error\nipconfig.ip: ",
                            "invalid format - value does not look like a valid "
                            "CIDR network");
      }
    }
  }
  if (p.count("gw")) {
    if (!p.count("ip"))
      return "gateway specified without specifying an IP address";
    if (p["ip"] == "dhcp") return "gateway specified together with DHCP";
    if (!ValidIpv4(p["gw"])) {
      return "invalid format - format error\nipconfig.gw: invalid format";
    }
  }
  return "";
}

// Validates netN (model[=MAC],bridge=...,tag=...); a bridge needs SDN.Use.
std::string NetError(const std::string& value, PrivilegeSet* needed) {
  static const RE2 kNet(
      R"((virtio|e1000|vmxnet3|rtl8139)(=[0-9A-Fa-f:]{17})?(,.*)?)");
  if (!RE2::FullMatch(value, kNet)) return "invalid format - format error";
  std::map<std::string, std::string> p = ParsePveProperties(value, "model");
  if (p.count("bridge")) {
    needed->insert({"/sdn/zones/localnetwork/" + p["bridge"], "SDN.Use"});
  }
  if (p.count("tag")) {
    int tag = 0;
    if (!absl::SimpleAtoi(p["tag"], &tag) || tag < 1 || tag > 4094) {
      return "invalid format - net.tag: value must be 1..4094";
    }
  }
  return "";
}

// The schema error of the value `v` of a config key `k` other than a disk
// ("" when valid). Normalises tags into `value`.
std::string ConfigValueError(const std::string& k, const std::string& v,
                             std::string* value, PrivilegeSet* needed) {
  if (k == "name" && !ValidDnsName(v)) {
    return "invalid format - value does not look like a valid DNS name";
  }
  if (k == "tags") {
    absl::StatusOr<std::string> tags = NormalizePveTags(v);
    if (!tags.ok()) return std::string(tags.status().message());
    *value = *tags;
  } else if (k == "cores" || k == "sockets") {
    int n = 0;
    if (!absl::SimpleAtoi(v, &n) || n < 1) {
      return absl::StrCat("type check ('integer') failed - got '", v, "'");
    }
  } else if (k == "memory") {
    absl::string_view mem = v;
    absl::ConsumePrefix(&mem, "current=");
    int n = 0;
    if (!absl::SimpleAtoi(mem, &n) || n < 16) {
      return "invalid format - value must be at least 16";
    }
  } else if (k == "scsihw") {
    static const std::set<std::string> kHw = {
        "lsi",     "lsi53c810", "virtio-scsi-pci", "virtio-scsi-single",
        "megasas", "pvscsi"};
    if (!kHw.count(v)) {
      return absl::StrCat("value '", v,
                          "' does not have a value in the enumeration");
    }
  } else if (absl::StartsWith(k, "ipconfig")) {
    return IpconfigError(v);
  } else if (k == "nameserver") {
    std::string error;
    for (absl::string_view ns : absl::StrSplit(v, ' ', absl::SkipEmpty())) {
      if (!ValidIpv4(std::string(ns))) {
        error = absl::StrCat("invalid format - value '", ns,
                             "' does not look like a valid IP address");
      }
    }
    return error;
  } else if (k == "agent") {
    std::map<std::string, std::string> p = ParsePveProperties(v, "enabled");
    if (p["enabled"] != "0" && p["enabled"] != "1") {
      return absl::StrCat("type check ('boolean') failed - got '", p["enabled"],
                          "'");
    }
  } else if (k == "description" && v.size() > 8192) {
    return "value may only be 8192 characters long";
  } else if (absl::StartsWith(k, "net")) {
    return NetError(v, needed);
  }
  return "";
}

}  // namespace

absl::StatusOr<std::string> NormalizePveTags(const std::string& tags) {
  static const RE2 kTag(R"((?i)[a-z0-9_][a-z0-9_+.-]*)");
  std::set<std::string> out;
  for (absl::string_view t :
       absl::StrSplit(tags, absl::ByAnyChar(",; "), absl::SkipEmpty())) {
    std::string tag(t);
    if (!RE2::FullMatch(tag, kTag)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "invalid format - invalid characters in tag '", tag, "'"));
    }
    out.insert(absl::AsciiStrToLower(tag));
  }
  return absl::StrJoin(out, ";");
}

std::map<std::string, std::string> ParsePveProperties(
    const std::string& value, const std::string& default_key) {
  std::map<std::string, std::string> out;
  for (absl::string_view part : absl::StrSplit(value, ',', absl::SkipEmpty())) {
    size_t eq = part.find('=');
    if (eq == absl::string_view::npos) {
      out[default_key] = std::string(part);
    } else {
      out[std::string(part.substr(0, eq))] = std::string(part.substr(eq + 1));
    }
  }
  return out;
}

bool PveApi::CheckConfigParams(const PveRequest& r, const Caller& c, int vmid,
                               bool create,
                               std::map<std::string, std::string>* out,
                               PveResponse* res) {
  std::string vm_path = absl::StrCat("/vms/", vmid);
  std::set<std::string> allowed = {"node",   "vmid",     "digest",
                                   "delete", "skiplock", "background_delay",
                                   "revert"};
  if (create) allowed.insert({"start", "storage", "pool"});
  for (const auto& [k, v] : ConfigKeyPrivileges()) allowed.insert(k);
  if (!CheckSchema(r, allowed, res)) return false;
  std::map<std::string, std::string> errors;
  PrivilegeSet needed;  // (path, privilege)
  for (const auto& [k, v] : r.params) {
    auto priv = ConfigKeyPrivileges().find(k);
    if (priv == ConfigKeyPrivileges().end()) continue;
    std::string value = v;
    if (IsDiskKey(k)) {
      if (!CheckDiskValue(k, v, vm_path, &errors, &needed, res)) return false;
    } else if (std::string e = ConfigValueError(k, v, &value, &needed);
               !e.empty()) {
      errors[k] = e;
    }
    (*out)[k] = value;
    if (k == "ipconfig0" || k == "nameserver") {
      // VM.Config.Cloudinit or VM.Config.Network
      if (!Has(c, vm_path, "VM.Config.Cloudinit") &&
          !Has(c, vm_path, "VM.Config.Network")) {
        needed.insert({vm_path, "VM.Config.Cloudinit"});
      }
    } else {
      needed.insert({vm_path, priv->second});
    }
  }
  if (!errors.empty()) {
    *res = ParamError(errors);
    return false;
  }
  if (create && !Has(c, vm_path, "VM.Allocate")) {
    *res = Forbidden(vm_path, "VM.Allocate");
    return false;
  }
  for (const auto& [path, priv] : needed) {
    if (!Has(c, path, priv)) {
      *res = Forbidden(path, priv);
      return false;
    }
  }
  return true;
}

bool PveApi::CheckDiskValue(const std::string& key, const std::string& value,
                            const std::string& vm_path,
                            std::map<std::string, std::string>* errors,
                            PrivilegeSet* needed, PveResponse* res) const {
  std::map<std::string, std::string> p = ParsePveProperties(value, "file");
  std::string first = value.substr(0, value.find(','));
  std::string store = first.substr(0, first.find(':'));
  bool store_known = false;
  for (const auto& s : options_.storages) store_known |= s.id == store;
  if (first.find(':') == std::string::npos || !store_known) {
    (*errors)[key] = absl::StrCat("storage '", store, "' does not exist");
    return true;
  }
  needed->insert({"/storage/" + store, "Datastore.AllocateSpace"});
  if (absl::EndsWith(first, ":cloudinit") && !p.count("import-from")) {
    needed->insert({vm_path, "VM.Config.CDROM"});
    needed->insert({vm_path, "VM.Config.Cloudinit"});
  }
  if (!p.count("import-from")) return true;
  if (first.substr(first.find(':') + 1) != "0") {
    (*errors)[key] =
        "'import-from' requires special syntax - use <storage "
        "ID>:0,import-from=<source>";
    return true;
  }
  std::string src = p["import-from"];
  if (absl::StartsWith(src, "/")) {
    *res = Fail(403, "Only root can pass arbitrary filesystem paths.");
    return false;
  }
  std::string src_store = src.substr(0, src.find(':'));
  bool found = false;
  for (const auto& [location, vols] : volumes_) {
    if (location.second != src_store) continue;
    auto vol = vols.find(src);
    if (vol == vols.end()) continue;
    found = true;
    if (vol->second.content == "iso") {
      (*errors)[key] =
          absl::StrCat("'", src, "' has wrong type '", vol->second.content,
                       "' - needs to be 'images' or 'import'");
    } else if (vol->second.content == "images" && vol->second.vmid != 0) {
      needed->insert({absl::StrCat("/vms/", vol->second.vmid), "VM.Clone"});
    } else {
      needed->insert({"/storage/" + src_store, "Datastore.Audit"});
    }
  }
  if (!found && absl::StrContains(src, ":iso/")) {
    (*errors)[key] = absl::StrCat("'", src,
                                  "' has wrong type 'iso' - needs to be "
                                  "'images' or 'import'");
  }
  return true;
}

}  // namespace coldstart::lab
