#include "lab/pve/pve_api.h"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "lab/tls/lab_tls.h"
#include "nlohmann/json.hpp"
#include "re2/re2.h"

namespace coldstart::lab {
namespace {

using json = nlohmann::json;

constexpr int64_t kGiB = int64_t{1} << 30;
constexpr int64_t kMiB = int64_t{1} << 20;

const absl::Duration kResizeTask = absl::Seconds(1);
const absl::Duration kStartTask = absl::Seconds(2);
const absl::Duration kStopTask = absl::Seconds(1);
const absl::Duration kDestroyTask = absl::Seconds(2);
const absl::Duration kConfigTask = absl::Seconds(1);
// pve-http-server delays every 401 by ~3 s.
const absl::Duration kAuthFailureDelay = absl::Seconds(3);
// lock_config waits 10 s for the file lock.
const absl::Duration kFileLockWait = absl::Seconds(10);

PveResponse Data(const json& data) {
  return PveResponse{200, json{{"data", data}}.dump()};
}
PveResponse Fail(int status, const std::string& message) {
  return PveResponse{
      status, json{{"data", nullptr}, {"message", message + "\n"}}.dump()};
}
PveResponse ParamError(const std::map<std::string, std::string>& errors) {
  json e = json::object();
  for (const auto& [k, v] : errors) e[k] = v;
  return PveResponse{400, json{{"data", nullptr},
                               {"errors", e},
                               {"message", "Parameter verification failed.\n"}}
                              .dump()};
}
PveResponse Forbidden(const std::string& path, const std::string& priv) {
  return Fail(403,
              absl::StrCat("Permission check failed (", path, ", ", priv, ")"));
}

bool IsBoolParam(const std::string& key) {
  static const std::set<std::string>* kBools =
      new std::set<std::string>{"onboot",     "template",
                                "protection", "start",
                                "full",       "privsep",
                                "propagate",  "delete-acl",
                                "purge",      "destroy-unreferenced-disks",
                                "enable",     "verify-certificates",
                                "append",     "skiplock",
                                "force",      "overrule-shutdown",
                                "forceStop",  "keepActive"};
  return kBools->count(key) > 0;
}

// The schema check every handler shares: unknown keys and boolean values.
bool CheckSchema(const PveRequest& r, const std::set<std::string>& allowed,
                 PveResponse* res) {
  std::map<std::string, std::string> errors;
  for (const auto& [k, v] : r.params) {
    if (allowed.count(k) == 0) {
      errors[k] =
          "property is not defined in schema and the schema does not allow "
          "additional properties";
    } else if (IsBoolParam(k) && v != "0" && v != "1") {
      errors[k] = absl::StrCat("type check ('boolean') failed - got '", v, "'");
    }
  }
  if (errors.empty()) return true;
  *res = ParamError(errors);
  return false;
}

std::string Param(const PveRequest& r, const std::string& key,
                  const std::string& fallback = "") {
  auto it = r.params.find(key);
  return it == r.params.end() ? fallback : it->second;
}

std::string UriUnescape(absl::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      int v = 0;
      if (absl::SimpleHexAtoi(s.substr(i + 1, 2), &v)) {
        out.push_back(static_cast<char>(v));
        i += 2;
        continue;
      }
    }
    out.push_back(s[i]);
  }
  return out;
}

// "1246M", "40G": how Proxmox writes disk sizes.
std::string FormatSize(int64_t bytes) {
  if (bytes % kGiB == 0) return absl::StrCat(bytes / kGiB, "G");
  if (bytes % kMiB == 0) return absl::StrCat(bytes / kMiB, "M");
  if (bytes % 1024 == 0) return absl::StrCat(bytes / 1024, "K");
  return absl::StrCat(bytes);
}

std::optional<int64_t> ParseSize(absl::string_view s) {
  int64_t unit = 1;
  if (!s.empty()) {
    switch (s.back()) {
      case 'K':
        unit = 1024;
        break;
      case 'M':
        unit = kMiB;
        break;
      case 'G':
        unit = kGiB;
        break;
      case 'T':
        unit = kGiB * 1024;
        break;
      default:
        break;
    }
  }
  if (unit != 1) s.remove_suffix(1);
  double value = 0;
  if (!absl::SimpleAtod(s, &value) || value < 0) return std::nullopt;
  return static_cast<int64_t>(value * static_cast<double>(unit));
}

bool IsDiskKey(const std::string& key) {
  static const RE2 kDisk(R"((scsi|virtio|sata|ide)\d+)");
  return RE2::FullMatch(key, kDisk);
}

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

bool ValidDnsName(const std::string& name) {
  static const RE2 kName(
      R"(([A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*)");
  return RE2::FullMatch(name, kName);
}

json ConfigValue(const std::string& key, const std::string& value) {
  static const std::set<std::string>* kNumbers =
      new std::set<std::string>{"cores", "sockets",  "onboot",    "balloon",
                                "vcpus", "template", "protection"};
  int64_t n = 0;
  if (kNumbers->count(key) && absl::SimpleAtoi(value, &n)) return n;
  return value;
}

// The storage id of a disk value "local-zfs:vm-1500-disk-0,size=40G" or
// "local-zfs:0,import-from=...".
std::string DiskStorage(const std::string& value) {
  std::string first = value.substr(0, value.find(','));
  return first.substr(0, first.find(':'));
}

std::string ExitText(const absl::Status& s) { return std::string(s.message()); }

}  // namespace

const std::set<std::string>& PveKnownPrivileges() {
  static const auto* kPrivs =
      new std::set<std::string>{"Datastore.Allocate",
                                "Datastore.AllocateSpace",
                                "Datastore.AllocateTemplate",
                                "Datastore.Audit",
                                "Group.Allocate",
                                "Mapping.Audit",
                                "Mapping.Modify",
                                "Mapping.Use",
                                "Permissions.Modify",
                                "Pool.Allocate",
                                "Pool.Audit",
                                "Realm.Allocate",
                                "Realm.AllocateUser",
                                "SDN.Allocate",
                                "SDN.Audit",
                                "SDN.Use",
                                "Sys.AccessNetwork",
                                "Sys.Audit",
                                "Sys.Console",
                                "Sys.Incoming",
                                "Sys.Modify",
                                "Sys.PowerMgmt",
                                "Sys.Syslog",
                                "User.Modify",
                                "VM.Allocate",
                                "VM.Audit",
                                "VM.Backup",
                                "VM.Clone",
                                "VM.Config.CDROM",
                                "VM.Config.CPU",
                                "VM.Config.Cloudinit",
                                "VM.Config.Disk",
                                "VM.Config.HWType",
                                "VM.Config.Memory",
                                "VM.Config.Network",
                                "VM.Config.Options",
                                "VM.Console",
                                "VM.Migrate",
                                "VM.Monitor",
                                "VM.PowerMgmt",
                                "VM.Snapshot",
                                "VM.Snapshot.Rollback"};
  return *kPrivs;
}

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

PveApi::PveApi(PveApiOptions options, Scheduler& scheduler,
               const LatencyModel& latency, World& world)
    : options_(std::move(options)),
      scheduler_(scheduler),
      latency_(latency),
      world_(world) {
  absl::MutexLock lock(&mu_);
  users_["root@pam"] = User{"Built-in superuser", true, 0, {}};
  roles_["Administrator"] = PveKnownPrivileges();
  roles_["NoAccess"] = {};
  std::set<std::string> audit;
  for (const auto& p : PveKnownPrivileges()) {
    if (absl::EndsWith(p, ".Audit")) audit.insert(p);
  }
  roles_["PVEAuditor"] = audit;
  roles_["PVEVMUser"] = {"VM.Audit",  "VM.Console",      "VM.PowerMgmt",
                         "VM.Backup", "VM.Config.CDROM", "VM.Config.Cloudinit",
                         "VM.Monitor"};
  for (const auto& [name, privs] : roles_) builtin_roles_.insert(name);
  for (const auto& s : options_.storages) {
    for (const auto& node : options_.nodes) volumes_[{node, s.id}];
  }
  booted_subscription_ =
      world_.Subscribe<NodeBooted>([this](const NodeBooted& booted) {
        absl::MutexLock lock(&mu_);
        for (auto& [vmid, vm] : vms_) {
          auto name = vm.config.find("name");
          if (vm.running && name != vm.config.end() &&
              name->second == booted.node) {
            vm.agent_up = vm.config.count("agent") > 0 &&
                          vm.config.at("agent") != "0" &&
                          !absl::StartsWith(vm.config.at("agent"), "enabled=0");
          }
        }
      });
}

PveApi::~PveApi() { world_.Unsubscribe(booted_subscription_); }

int64_t PveApi::NowSeconds() const {
  return absl::ToUnixSeconds(scheduler_.Now());
}

std::string PveApi::NewUuid() {
  auto next = [this] {
    random_state_ ^= random_state_ << 13;
    random_state_ ^= random_state_ >> 7;
    random_state_ ^= random_state_ << 17;
    return random_state_;
  };
  uint64_t a = next(), b = next();
  static uint64_t salt = static_cast<uint64_t>(absl::ToUnixNanos(absl::Now()));
  a ^= salt;
  return absl::StrFormat("%08x-%04x-4%03x-%04x-%012x", a >> 32,
                         (a >> 16) & 0xffff, a & 0xfff,
                         0x8000 | ((b >> 48) & 0x3fff), b & 0xffffffffffffULL);
}

std::string PveApi::NewMac() {
  std::string uuid = NewUuid();
  return absl::AsciiStrToUpper(
      absl::StrFormat("BC:24:11:%s:%s:%s", uuid.substr(0, 2), uuid.substr(2, 2),
                      uuid.substr(4, 2)));
}

std::string PveApi::CreateRootToken(const std::string& token_id) {
  absl::MutexLock lock(&mu_);
  Token token;
  token.privsep = false;
  token.secret = NewUuid();
  token.comment = "labd bootstrap admin token";
  users_["root@pam"].tokens[token_id] = token;
  return absl::StrCat("root@pam!", token_id, "=", token.secret);
}

void PveApi::PutVm(int vmid, const std::string& node,
                   std::map<std::string, std::string> config) {
  absl::MutexLock lock(&mu_);
  Vm vm;
  vm.node = node;
  vm.config = std::move(config);
  auto disk = vm.config.find("scsi0");
  if (disk != vm.config.end()) {
    std::map<std::string, std::string> p = ParsePveProperties(disk->second, "");
    std::string volid = disk->second.substr(0, disk->second.find(','));
    Volume v;
    v.content = "images";
    v.format = "raw";
    v.size = ParseSize(p["size"]).value_or(0);
    v.vmid = vmid;
    volumes_[{node, DiskStorage(disk->second)}][volid] = v;
  }
  vms_[vmid] = std::move(vm);
}

std::map<std::string, std::string> PveApi::VmConfig(int vmid) const {
  absl::MutexLock lock(&mu_);
  auto it = vms_.find(vmid);
  return it == vms_.end() ? std::map<std::string, std::string>{}
                          : it->second.config;
}

bool PveApi::VmRunning(int vmid) const {
  absl::MutexLock lock(&mu_);
  auto it = vms_.find(vmid);
  return it != vms_.end() && it->second.running;
}

std::vector<int> PveApi::Vmids() const {
  absl::MutexLock lock(&mu_);
  std::vector<int> out;
  for (const auto& [vmid, vm] : vms_) out.push_back(vmid);
  return out;
}

int PveApi::RunningTasks() const {
  absl::MutexLock lock(&mu_);
  int n = 0;
  for (const auto& [upid, t] : tasks_) n += t.running ? 1 : 0;
  return n;
}

bool PveApi::Authenticate(const std::string& header, Caller* caller,
                          PveResponse* res) {
  static const RE2 kHeader(R"(PVEAPIToken[= ](.+))");
  std::string value;
  if (header.empty()) {
    *res = PveResponse{401, "", latency_.Scale(kAuthFailureDelay)};
    return false;
  }
  if (!RE2::FullMatch(header, kHeader, &value)) {
    *res = PveResponse{401, "", latency_.Scale(kAuthFailureDelay)};
    return false;
  }
  value = UriUnescape(value);
  size_t eq = value.rfind('=');
  size_t bang = value.find('!');
  if (eq == std::string::npos || bang == std::string::npos || bang > eq) {
    *res = PveResponse{401, "", latency_.Scale(kAuthFailureDelay)};
    return false;
  }
  std::string userid = value.substr(0, bang);
  std::string tokenid = value.substr(bang + 1, eq - bang - 1);
  std::string secret = value.substr(eq + 1);
  auto user = users_.find(userid);
  if (user == users_.end() || !user->second.enable) {
    *res = PveResponse{401, "", latency_.Scale(kAuthFailureDelay)};
    return false;
  }
  auto token = user->second.tokens.find(tokenid);
  if (token == user->second.tokens.end() || token->second.secret != secret ||
      (token->second.expire != 0 && token->second.expire < NowSeconds())) {
    *res = PveResponse{401, "", latency_.Scale(kAuthFailureDelay)};
    return false;
  }
  caller->userid = userid;
  caller->tokenid = tokenid;
  caller->full = absl::StrCat(userid, "!", tokenid);
  caller->privsep = token->second.privsep;
  return true;
}

std::set<std::string> PveApi::Privileges(const std::string& type,
                                         const std::string& ugid,
                                         const std::string& path) const {
  if (type == "user" && ugid == "root@pam") return PveKnownPrivileges();
  std::vector<std::string> prefixes = {"/"};
  std::string acc;
  for (absl::string_view part : absl::StrSplit(path, '/', absl::SkipEmpty())) {
    absl::StrAppend(&acc, "/", part);
    prefixes.push_back(acc);
  }
  std::set<std::string> result;
  for (const std::string& prefix : prefixes) {
    std::set<std::string> here;
    bool any = false;
    for (const Acl& acl : acls_) {
      if (acl.path != prefix || acl.type != type || acl.ugid != ugid) continue;
      if (prefix != path && !acl.propagate) continue;
      any = true;
      auto role = roles_.find(acl.role);
      if (role != roles_.end())
        here.insert(role->second.begin(), role->second.end());
    }
    if (any) result = here;  // more specific paths override
  }
  return result;
}

bool PveApi::Has(const Caller& c, const std::string& path,
                 const std::string& priv) const {
  bool user_has = Privileges("user", c.userid, path).count(priv) > 0;
  if (!c.privsep) return user_has;
  return user_has && Privileges("token", c.full, path).count(priv) > 0;
}

std::string PveApi::StartTask(const std::string& node, const std::string& type,
                              const std::string& id, const Caller& c,
                              absl::Duration duration, std::string fault,
                              std::function<TaskEnd(bool)> finish) {
  Task task;
  task.node = node;
  task.type = type;
  task.id = id;
  task.user = c.userid;
  task.tokenid = c.tokenid;
  task.pid = next_pid_++;
  task.pstart = 0x1b2c3d4 + task.pid;
  task.starttime = NowSeconds();
  std::string upid =
      absl::StrFormat("UPID:%s:%08X:%08X:%08X:%s:%s:%s:", node, task.pid,
                      task.pstart, task.starttime, type, id, c.full);
  tasks_[upid] = task;
  scheduler_.ScheduleAfter(
      latency_.Scale(duration),
      [this, upid, fault = std::move(fault), finish = std::move(finish)] {
        FinishTask(upid, fault, finish);
      });
  return upid;
}

void PveApi::FinishTask(const std::string& upid, const std::string& fault,
                        std::function<TaskEnd(bool)> finish) {
  TaskEnd end;
  if (!fault.empty()) {
    end = finish(true);
    end.exitstatus = fault;
    end.events.clear();
  } else {
    end = finish(false);
  }
  {
    absl::MutexLock lock(&mu_);
    Task& task = tasks_[upid];
    task.running = false;
    task.exitstatus = end.exitstatus;
    if (end.exitstatus != "OK") {
      task.log.push_back("TASK ERROR: " + end.exitstatus);
    } else {
      task.log.push_back("TASK OK");
    }
  }
  for (const EventPayload& e : end.events) world_.Publish(e);
}

PveResponse PveApi::Handle(const PveRequest& r) {
  absl::MutexLock lock(&mu_);
  if (r.unexpected_body) {
    return Fail(501,
                absl::StrCat("Unexpected content for method '", r.method, "'"));
  }
  Caller caller;
  PveResponse res;
  if (!Authenticate(r.authorization, &caller, &res)) return res;
  return Route(r, caller);
}

PveResponse PveApi::Route(const PveRequest& r, const Caller& c) {
  static const RE2 kQemu(R"(/nodes/([^/]+)/qemu)");
  static const RE2 kVm(R"(/nodes/([^/]+)/qemu/(\d+)(/.*)?)");
  static const RE2 kTask(R"(/nodes/([^/]+)/tasks/([^/]+)/(status|log))");
  static const RE2 kTasks(R"(/nodes/([^/]+)/tasks)");
  static const RE2 kStorage(
      R"(/nodes/([^/]+)/storage/([^/]+)/(content|download-url))");
  PveResponse res;
  std::string node, storage, what, sub, upid;
  int vmid = 0;
  const std::string& m = r.method;

  if (r.path == "/version" && m == "GET") {
    std::string release =
        options_.version.substr(0, options_.version.rfind('.'));
    return Data({{"version", options_.version},
                 {"release", release},
                 {"repoid", "c0ffee42"}});
  }
  if (r.path == "/nodes" && m == "GET") {
    json out = json::array();
    for (const auto& n : options_.nodes) {
      if (!Has(c, "/nodes/" + n, "Sys.Audit")) continue;
      out.push_back({{"node", n},
                     {"status", "online"},
                     {"type", "node"},
                     {"id", "node/" + n},
                     {"maxcpu", 64},
                     {"cpu", 0.01},
                     {"mem", 8 * kGiB},
                     {"maxmem", 256 * kGiB},
                     {"uptime", 86400},
                     {"level", ""}});
    }
    return Data(out);
  }
  if (r.path == "/cluster/resources" && m == "GET") {
    if (!CheckSchema(r, {"type"}, &res)) return res;
    std::string type = Param(r, "type");
    json out = json::array();
    if (type.empty() || type == "node") {
      for (const auto& n : options_.nodes) {
        if (!Has(c, "/nodes/" + n, "Sys.Audit")) continue;
        out.push_back({{"id", "node/" + n},
                       {"type", "node"},
                       {"node", n},
                       {"status", "online"}});
      }
    }
    if (type.empty() || type == "vm") {
      for (const auto& [id, vm] : vms_) {
        if (!Has(c, absl::StrCat("/vms/", id), "VM.Audit")) continue;
        json e = {{"id", absl::StrCat("qemu/", id)},
                  {"type", "qemu"},
                  {"node", vm.node},
                  {"vmid", id},
                  {"status", vm.running ? "running" : "stopped"},
                  {"template", 0},
                  {"cpu", 0},
                  {"mem", 0},
                  {"disk", 0},
                  {"uptime", 0},
                  {"netin", 0},
                  {"netout", 0}};
        const auto& cfg = vm.config;
        if (cfg.count("name")) e["name"] = cfg.at("name");
        if (cfg.count("tags")) e["tags"] = cfg.at("tags");
        if (cfg.count("lock")) e["lock"] = cfg.at("lock");
        int64_t cores = 1, sockets = 1, memory = 512;
        if (cfg.count("cores")) absl::SimpleAtoi(cfg.at("cores"), &cores);
        if (cfg.count("sockets")) absl::SimpleAtoi(cfg.at("sockets"), &sockets);
        if (cfg.count("memory")) {
          absl::string_view mem = cfg.at("memory");
          absl::ConsumePrefix(&mem, "current=");
          absl::SimpleAtoi(mem, &memory);
        }
        e["maxcpu"] = cores * sockets;
        e["maxmem"] = memory * kMiB;
        int64_t maxdisk = 0;
        if (cfg.count("scsi0")) {
          maxdisk = ParseSize(ParsePveProperties(cfg.at("scsi0"), "")["size"])
                        .value_or(0);
        }
        e["maxdisk"] = maxdisk;
        out.push_back(e);
      }
    }
    return Data(out);
  }
  if (r.path == "/cluster/nextid" && m == "GET") {
    if (!CheckSchema(r, {"vmid"}, &res)) return res;
    std::string want = Param(r, "vmid");
    if (!want.empty()) {
      int id = 0;
      if (!absl::SimpleAtoi(want, &id) || id < 100 || id > 999999999) {
        return ParamError(
            {{"vmid", "invalid format - value must be 100..999999999"}});
      }
      if (vms_.count(id)) {
        return ParamError(
            {{"vmid", absl::StrCat("VM ", id, " already exists")}});
      }
      return Data(absl::StrCat(id));
    }
    int id = 100;
    while (vms_.count(id)) ++id;
    return Data(absl::StrCat(id));  // a string, and nothing is reserved
  }
  if (absl::StartsWith(r.path, "/access")) return Access(r, c);

  if (RE2::FullMatch(r.path, kStorage, &node, &storage, &what)) {
    if (std::find(options_.nodes.begin(), options_.nodes.end(), node) ==
        options_.nodes.end()) {
      return Fail(500, absl::StrCat("no such cluster node '", node, "'"));
    }
    auto vols = volumes_.find({node, storage});
    if (vols == volumes_.end()) {
      return Fail(500, absl::StrCat("storage '", storage, "' does not exist"));
    }
    if (what == "download-url" && m == "POST") {
      return DownloadUrl(r, c, node, storage);
    }
    if (what == "content" && m == "GET") {
      if (!CheckSchema(r, {"content", "vmid"}, &res)) return res;
      std::string path = "/storage/" + storage;
      if (!Has(c, path, "Datastore.Audit") &&
          !Has(c, path, "Datastore.AllocateSpace")) {
        return Forbidden(path, "Datastore.Audit|Datastore.AllocateSpace");
      }
      json out = json::array();
      for (const auto& [volid, v] : vols->second) {
        if (!Param(r, "content").empty() && v.content != Param(r, "content")) {
          continue;
        }
        json e = {{"volid", volid},
                  {"content", v.content},
                  {"format", v.format},
                  {"size", v.size},
                  {"ctime", v.ctime}};
        if (v.vmid != 0) e["vmid"] = v.vmid;
        out.push_back(e);
      }
      return Data(out);
    }
  }

  if (RE2::FullMatch(r.path, kTask, &node, &upid, &what) && m == "GET") {
    std::string raw = UriUnescape(upid);
    auto it = tasks_.find(raw);
    if (!absl::StartsWith(raw, "UPID:")) {
      return ParamError({{"upid", "unable to parse worker upid"}});
    }
    if (it == tasks_.end() || it->second.node != node) {
      return ParamError({{"upid", "no such task"}});
    }
    const Task& t = it->second;
    if (absl::StrCat(t.user, "!", t.tokenid) != c.full &&
        !Has(c, "/nodes/" + node, "Sys.Audit")) {
      return Forbidden("/nodes/" + node, "Sys.Audit");
    }
    if (what == "log") {
      json out = json::array();
      int n = 1;
      for (const auto& line : t.log) out.push_back({{"n", n++}, {"t", line}});
      return Data(out);
    }
    json data = {{"upid", raw},
                 {"node", t.node},
                 {"pid", t.pid},
                 {"pstart", t.pstart},
                 {"starttime", t.starttime},
                 {"type", t.type},
                 {"id", t.id},
                 {"user", t.user},
                 {"tokenid", t.tokenid},
                 {"status", t.running ? "running" : "stopped"}};
    if (!t.running) data["exitstatus"] = t.exitstatus;
    return Data(data);
  }
  if (RE2::FullMatch(r.path, kTasks, &node) && m == "GET") {
    json out = json::array();
    bool active_only = Param(r, "source") == "active";
    for (const auto& [id, t] : tasks_) {
      if (t.node != node || (active_only && !t.running)) continue;
      if (!Param(r, "typefilter").empty() && t.type != Param(r, "typefilter")) {
        continue;
      }
      if (absl::StrCat(t.user, "!", t.tokenid) != c.full &&
          !Has(c, "/nodes/" + node, "Sys.Audit")) {
        continue;
      }
      json e = {{"upid", id}, {"node", t.node}, {"type", t.type},
                {"id", t.id}, {"user", t.user}, {"starttime", t.starttime}};
      if (!t.running) e["status"] = t.exitstatus;
      out.push_back(e);
    }
    return Data(out);
  }

  if (RE2::FullMatch(r.path, kQemu, &node)) {
    if (std::find(options_.nodes.begin(), options_.nodes.end(), node) ==
        options_.nodes.end()) {
      return Fail(500, absl::StrCat("no such cluster node '", node, "'"));
    }
    if (m == "POST") return CreateVm(r, c, node);
    if (m == "GET") {
      json out = json::array();
      for (const auto& [id, vm] : vms_) {
        if (vm.node != node || !Has(c, absl::StrCat("/vms/", id), "VM.Audit")) {
          continue;
        }
        json e = {{"vmid", id}, {"status", vm.running ? "running" : "stopped"}};
        e["name"] = vm.config.count("name") ? vm.config.at("name")
                                            : absl::StrCat("VM ", id);
        if (vm.config.count("tags")) e["tags"] = vm.config.at("tags");
        if (vm.config.count("lock")) e["lock"] = vm.config.at("lock");
        out.push_back(e);
      }
      return Data(out);
    }
  }

  if (RE2::FullMatch(r.path, kVm, &node, &vmid, &sub)) {
    auto it = vms_.find(vmid);
    if (it == vms_.end() || it->second.node != node) {
      return Fail(
          500, absl::StrCat("Configuration file 'nodes/", node, "/qemu-server/",
                            vmid, ".conf' does not exist"));
    }
    Vm& vm = it->second;
    std::string vm_path = absl::StrCat("/vms/", vmid);
    if (sub.empty() && m == "DELETE") return DeleteVm(r, c, node, vmid);
    if (sub == "/config" && m == "GET") {
      if (!Has(c, vm_path, "VM.Audit")) return Forbidden(vm_path, "VM.Audit");
      json data = json::object();
      std::string text;
      for (const auto& [k, v] : vm.config) {
        data[k] = ConfigValue(k, v);
        absl::StrAppend(&text, k, ": ", v, "\n");
      }
      data["digest"] = LabSha256Hex(text).substr(0, 40);
      return Data(data);
    }
    if (sub == "/config" && (m == "PUT" || m == "POST")) {
      return UpdateConfig(r, c, node, vmid, m == "POST");
    }
    if (sub == "/resize" && m == "PUT") return Resize(r, c, node, vmid);
    if (sub == "/status/current" && m == "GET") {
      if (!Has(c, vm_path, "VM.Audit")) return Forbidden(vm_path, "VM.Audit");
      json data = {
          {"vmid", vmid},
          {"status", vm.running ? "running" : "stopped"},
          {"qmpstatus", vm.running ? "running" : "stopped"},
          {"name", vm.config.count("name") ? vm.config.at("name")
                                           : absl::StrCat("VM ", vmid)}};
      if (vm.config.count("lock")) data["lock"] = vm.config.at("lock");
      if (vm.config.count("agent")) data["agent"] = 1;
      return Data(data);
    }
    static const RE2 kPower(R"(/status/(start|stop|shutdown))");
    std::string action;
    if (RE2::FullMatch(sub, kPower, &action) && m == "POST") {
      return Power(r, c, node, vmid, action);
    }
    if (sub == "/agent/network-get-interfaces" && m == "GET") {
      if (!Has(c, vm_path, "VM.Monitor"))
        return Forbidden(vm_path, "VM.Monitor");
      auto agent = vm.config.find("agent");
      if (agent == vm.config.end() || agent->second == "0" ||
          absl::StartsWith(agent->second, "enabled=0")) {
        return Fail(500, "No QEMU guest agent configured");
      }
      if (!vm.running)
        return Fail(500, absl::StrCat("VM ", vmid, " is not running"));
      if (!vm.agent_up) return Fail(500, "QEMU guest agent is not running");
      std::map<std::string, std::string> net =
          ParsePveProperties(vm.config["net0"], "model");
      std::string mac;
      for (const auto& [k, v] : net) {
        if (k == "virtio" || k == "e1000") mac = v;
      }
      std::string ip = ParsePveProperties(vm.config["ipconfig0"], "")["ip"];
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
      return Data({{"result", {lo, eth0}}});
    }
  }
  return Fail(501, absl::StrCat("Method '", m, " /api2/json", r.path,
                                "' not implemented"));
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
  std::set<std::pair<std::string, std::string>> needed;  // (path, priv)
  for (const auto& [k, v] : r.params) {
    auto priv = ConfigKeyPrivileges().find(k);
    if (priv == ConfigKeyPrivileges().end()) continue;
    std::string value = v;
    if (k == "name" && !ValidDnsName(v)) {
      errors[k] = "invalid format - value does not look like a valid DNS name";
    } else if (k == "tags") {
      absl::StatusOr<std::string> tags = NormalizePveTags(v);
      if (!tags.ok()) {
        errors[k] = ExitText(tags.status());
      } else {
        value = *tags;
      }
    } else if (k == "cores" || k == "sockets") {
      int n = 0;
      if (!absl::SimpleAtoi(v, &n) || n < 1) {
        errors[k] =
            absl::StrCat("type check ('integer') failed - got '", v, "'");
      }
    } else if (k == "memory") {
      absl::string_view mem = v;
      absl::ConsumePrefix(&mem, "current=");
      int n = 0;
      if (!absl::SimpleAtoi(mem, &n) || n < 16) {
        errors[k] = "invalid format - value must be at least 16";
      }
    } else if (k == "scsihw") {
      static const std::set<std::string> kHw = {
          "lsi",     "lsi53c810", "virtio-scsi-pci", "virtio-scsi-single",
          "megasas", "pvscsi"};
      if (!kHw.count(v))
        errors[k] = absl::StrCat("value '", v,
                                 "' does not have a value in the enumeration");
    } else if (absl::StartsWith(k, "ipconfig")) {
      std::string e = IpconfigError(v);
      if (!e.empty()) errors[k] = e;
    } else if (k == "nameserver") {
      for (absl::string_view ns : absl::StrSplit(v, ' ', absl::SkipEmpty())) {
        if (!ValidIpv4(std::string(ns))) {
          errors[k] = absl::StrCat("invalid format - value '", ns,
                                   "' does not look like a valid IP address");
        }
      }
    } else if (k == "agent") {
      std::map<std::string, std::string> p = ParsePveProperties(v, "enabled");
      if (p["enabled"] != "0" && p["enabled"] != "1") {
        errors[k] = absl::StrCat("type check ('boolean') failed - got '",
                                 p["enabled"], "'");
      }
    } else if (k == "description" && v.size() > 8192) {
      errors[k] = "value may only be 8192 characters long";
    } else if (absl::StartsWith(k, "net")) {
      static const RE2 kNet(
          R"((virtio|e1000|vmxnet3|rtl8139)(=[0-9A-Fa-f:]{17})?(,.*)?)");
      if (!RE2::FullMatch(v, kNet)) {
        errors[k] = "invalid format - format error";
      } else {
        std::map<std::string, std::string> p = ParsePveProperties(v, "model");
        if (p.count("bridge")) {
          needed.insert({"/sdn/zones/localnetwork/" + p["bridge"], "SDN.Use"});
        }
        if (p.count("tag")) {
          int tag = 0;
          if (!absl::SimpleAtoi(p["tag"], &tag) || tag < 1 || tag > 4094) {
            errors[k] = "invalid format - net.tag: value must be 1..4094";
          }
        }
      }
    } else if (IsDiskKey(k)) {
      std::map<std::string, std::string> p = ParsePveProperties(v, "file");
      std::string first = v.substr(0, v.find(','));
      std::string store = first.substr(0, first.find(':'));
      bool store_known = false;
      for (const auto& s : options_.storages) store_known |= s.id == store;
      if (first.find(':') == std::string::npos || !store_known) {
        errors[k] = absl::StrCat("storage '", store, "' does not exist");
        continue;
      }
      if (p.count("import-from")) {
        std::string size = first.substr(first.find(':') + 1);
        if (size != "0") {
          errors[k] =
              "'import-from' requires special syntax - use <storage "
              "ID>:0,import-from=<source>";
          continue;
        }
        std::string src = p["import-from"];
        if (absl::StartsWith(src, "/")) {
          *res = Fail(403, "Only root can pass arbitrary filesystem paths.");
          return false;
        }
        std::string src_store = src.substr(0, src.find(':'));
        bool found = false;
        for (const auto& [key, vols] : volumes_) {
          if (key.second != src_store) continue;
          auto vol = vols.find(src);
          if (vol == vols.end()) continue;
          found = true;
          if (vol->second.content == "iso") {
            errors[k] = absl::StrCat("'", src, "' has wrong type '",
                                     vol->second.content,
                                     "' - needs to be 'images' or 'import'");
          } else if (vol->second.content == "images" && vol->second.vmid != 0) {
            needed.insert(
                {absl::StrCat("/vms/", vol->second.vmid), "VM.Clone"});
          } else {
            needed.insert({"/storage/" + src_store, "Datastore.Audit"});
          }
        }
        if (!found && absl::StrContains(src, ":iso/")) {
          errors[k] = absl::StrCat("'", src,
                                   "' has wrong type 'iso' - needs to be "
                                   "'images' or 'import'");
        }
        needed.insert({"/storage/" + store, "Datastore.AllocateSpace"});
      } else if (absl::EndsWith(first, ":cloudinit")) {
        needed.insert({vm_path, "VM.Config.CDROM"});
        needed.insert({vm_path, "VM.Config.Cloudinit"});
        needed.insert({"/storage/" + store, "Datastore.AllocateSpace"});
      } else {
        needed.insert({"/storage/" + store, "Datastore.AllocateSpace"});
      }
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

PveResponse PveApi::CreateVm(const PveRequest& r, const Caller& c,
                             const std::string& node) {
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
  placeholder.node = node;
  placeholder.config["lock"] = "create";
  placeholder.file_locked = true;
  vms_[vmid] = placeholder;
  std::string disk_storage;
  std::string import_from;
  for (const auto& [k, v] : config) {
    if (IsDiskKey(k) && absl::StrContains(v, "import-from=")) {
      import_from = ParsePveProperties(v, "file")["import-from"];
      disk_storage = DiskStorage(v);
    }
  }
  std::string fault = r.task_error;
  return Data(StartTask(
      node, "qmcreate", absl::StrCat(vmid), c, latency_.Base(Step::kVmCreate),
      fault, [this, vmid, node, config, import_from](bool failed) -> TaskEnd {
        absl::MutexLock lock(&mu_);
        auto it = vms_.find(vmid);
        if (failed) {
          if (it != vms_.end()) vms_.erase(it);
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
            std::map<std::string, std::string> p =
                ParsePveProperties(v, "model");
            if (p.count("model")) {  // "virtio,bridge=..." without a MAC
              v = absl::StrCat(p["model"], "=", NewMac(),
                               v.substr(p["model"].size()));
            }
          }
          if (!IsDiskKey(k)) continue;
          std::string store = DiskStorage(v);
          std::string first = v.substr(0, v.find(','));
          std::string options =
              v.find(',') == std::string::npos ? "" : v.substr(v.find(','));
          if (absl::EndsWith(first, ":cloudinit")) {
            std::string volid = absl::StrCat(store, ":vm-", vmid, "-cloudinit");
            volumes_[{node, store}][volid] =
                Volume{"images", "raw", 4 * kMiB, 0, vmid, NowSeconds()};
            v = volid + ",media=cdrom";
            continue;
          }
          int64_t size = 0;
          if (absl::StrContains(v, "import-from=")) {
            std::string src = ParsePveProperties(v, "file")["import-from"];
            std::string src_store = src.substr(0, src.find(':'));
            const Volume* source = nullptr;
            for (const auto& [key, vols] : volumes_) {
              if (key.first != node || key.second != src_store) continue;
              auto vol = vols.find(src);
              if (vol != vols.end()) source = &vol->second;
            }
            if (source == nullptr) {
              vms_.erase(vmid);
              return {absl::StrCat("cannot import from '", src, "' - volume '",
                                   src, "' does not exist"),
                      {}};
            }
            size =
                source->virtual_size > 0 ? source->virtual_size : source->size;
            std::string kept;
            for (absl::string_view o :
                 absl::StrSplit(options, ',', absl::SkipEmpty())) {
              if (!absl::StartsWith(o, "import-from=") &&
                  !absl::StartsWith(o, "size=")) {
                absl::StrAppend(&kept, ",", o);
              }
            }
            options = kept;
          } else {
            size =
                ParseSize(first.substr(first.find(':') + 1)).value_or(0) * kGiB;
          }
          std::string volid = absl::StrCat(store, ":vm-", vmid, "-disk-0");
          volumes_[{node, store}][volid] =
              Volume{"images", "raw", size, 0, vmid, NowSeconds()};
          v = absl::StrCat(volid, options, ",size=", FormatSize(size));
        }
        if (!vm.config.count("boot"))
          vm.config["boot"] = "order=scsi0;ide2;net0";
        vm.config["smbios1"] = "uuid=" + NewUuid();
        vm.config["vmgenid"] = NewUuid();
        vm.config["meta"] =
            absl::StrCat("creation-qemu=8.1.5,ctime=", NowSeconds());
        std::string name = vm.config.count("name") ? vm.config["name"]
                                                   : absl::StrCat("VM ", vmid);
        vms_[vmid] = vm;
        return {"OK", {VmCreated{vmid, name}}};
      }));
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
  if (!Param(r, "digest").empty()) {
    std::string text;
    for (const auto& [k, v] : vm.config)
      absl::StrAppend(&text, k, ": ", v, "\n");
    if (LabSha256Hex(text).substr(0, 40) != Param(r, "digest")) {
      return Fail(500, "checksum mismatch (file change by other user?)");
    }
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
                           const std::string& node, int vmid) {
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
      node, "resize", absl::StrCat(vmid), c, kResizeTask, r.task_error,
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
        std::string kept;
        for (absl::string_view o : absl::StrSplit(value, ',')) {
          if (!absl::StartsWith(o, "size=")) {
            absl::StrAppend(&kept, kept.empty() ? "" : ",", o);
          }
        }
        vm.config[disk] = absl::StrCat(kept, ",size=", FormatSize(target));
        return {"OK", {}};
      }));
}

PveResponse PveApi::Power(const PveRequest& r, const Caller& c,
                          const std::string& node, int vmid,
                          const std::string& action) {
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
      node, type, absl::StrCat(vmid), c,
      action == "start" ? kStartTask : kStopTask, r.task_error,
      [this, vmid, action](bool failed) -> TaskEnd {
        absl::MutexLock lock(&mu_);
        auto it = vms_.find(vmid);
        if (it == vms_.end()) return {"VM disappeared", {}};
        Vm& vm = it->second;
        vm.file_locked = false;
        if (failed) return {"failed", {}};
        std::string name = vm.config.count("name") ? vm.config["name"]
                                                   : absl::StrCat("VM ", vmid);
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

PveResponse PveApi::DeleteVm(const PveRequest& r, const Caller& c,
                             const std::string& node, int vmid) {
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
  return Data(StartTask(node, "qmdestroy", absl::StrCat(vmid), c, kDestroyTask,
                        r.task_error, [this, vmid](bool failed) -> TaskEnd {
                          absl::MutexLock lock(&mu_);
                          auto it = vms_.find(vmid);
                          if (it == vms_.end()) return {"OK", {}};
                          if (failed) {
                            it->second.config.erase("lock");
                            return {"failed", {}};
                          }
                          std::string name = it->second.config.count("name")
                                                 ? it->second.config["name"]
                                                 : absl::StrCat("VM ", vmid);
                          for (auto& [key, vols] : volumes_) {
                            for (auto v = vols.begin(); v != vols.end();) {
                              v = v->second.vmid == vmid ? vols.erase(v)
                                                         : std::next(v);
                            }
                          }
                          vms_.erase(it);
                          return {"OK", {VmDeleted{vmid, name}}};
                        }));
}

PveResponse PveApi::DownloadUrl(const PveRequest& r, const Caller& c,
                                const std::string& node,
                                const std::string& storage) {
  PveResponse res;
  if (!CheckSchema(r,
                   {"node", "storage", "url", "content", "filename", "checksum",
                    "checksum-algorithm", "verify-certificates", "compression"},
                   &res)) {
    return res;
  }
  std::string storage_path = "/storage/" + storage;
  if (!Has(c, storage_path, "Datastore.AllocateTemplate")) {
    return Forbidden(storage_path, "Datastore.AllocateTemplate");
  }
  if (!(Has(c, "/", "Sys.Audit") && Has(c, "/", "Sys.Modify")) &&
      !Has(c, "/nodes/" + node, "Sys.AccessNetwork")) {
    return Forbidden("/nodes/" + node, "Sys.AccessNetwork");
  }
  std::map<std::string, std::string> errors;
  static const RE2 kUrl(R"(https?://.+)");
  std::string url = Param(r, "url");
  if (!RE2::FullMatch(url, kUrl))
    errors["url"] = "invalid format - value must be an http(s) URL";
  std::string content = Param(r, "content");
  bool pve83 = absl::StrContains(options_.version, "8.3") ||
               absl::StartsWith(options_.version, "8.4") ||
               absl::StartsWith(options_.version, "9.");
  bool pve84 = absl::StartsWith(options_.version, "8.4") ||
               absl::StartsWith(options_.version, "9.");
  if (content != "iso" && content != "vztmpl" &&
      !(content == "import" && pve83)) {
    errors["content"] = absl::StrCat(
        "value '", content, "' does not have a value in the enumeration");
  }
  std::string filename = Param(r, "filename");
  size_t slash = filename.rfind('/');
  if (slash != std::string::npos) filename = filename.substr(slash + 1);
  for (char& ch : filename) {
    if (!absl::ascii_isalnum(ch) && ch != '_' && ch != '.' && ch != '-')
      ch = '_';
  }
  if (filename.empty() || filename.size() > 255) {
    errors["filename"] = "invalid filename";
  } else if (content == "iso" &&
             !RE2::FullMatch(absl::AsciiStrToLower(filename),
                             R"(.+\.(iso|img))")) {
    errors["filename"] = "wrong file extension";
  } else if (content == "import") {
    const char* pattern = pve84 ? R"([A-Za-z0-9\-.+=_]+\.(ova|qcow2|raw|vmdk))"
                                : R"([A-Za-z0-9\-.+=_]+\.ova)";
    if (!RE2::FullMatch(filename, pattern)) {
      errors["filename"] = "invalid filename or wrong extension";
    }
  }
  if (Param(r, "checksum").empty() != Param(r, "checksum-algorithm").empty()) {
    errors[Param(r, "checksum").empty() ? "checksum" : "checksum-algorithm"] =
        "requires the other checksum parameter";
  }
  if (!Param(r, "compression").empty() && content == "import") {
    errors["compression"] = "decompression not supported for import";
  }
  if (!errors.empty()) return ParamError(errors);
  const PveStorageConfig* config = nullptr;
  for (const auto& s : options_.storages) {
    if (s.id == storage) config = &s;
  }
  if (config->type != "dir") {
    return Fail(500,
                absl::StrCat("can't upload to storage type '", config->type,
                             "', not a file based storage!"));
  }
  if (!config->content.count(content)) {
    return Fail(500, absl::StrCat("storage '", storage,
                                  "' is not configured for content-type '",
                                  content, "'"));
  }
  std::string volid = absl::StrCat(storage, ":", content, "/", filename);
  std::string path = absl::StrCat("/var/lib/vz/", content, "/", filename);
  std::string checksum = absl::AsciiStrToLower(Param(r, "checksum"));
  std::string algorithm = Param(r, "checksum-algorithm");
  return Data(StartTask(
      node, "download", filename, c, latency_.Base(Step::kImageDownload),
      r.task_error,
      [this, node, storage, volid, path, url, checksum, algorithm,
       content](bool failed) -> TaskEnd {
        if (failed) return {"failed", {}};
        absl::StatusOr<std::string> body =
            options_.fetch ? options_.fetch(url)
                           : absl::UnavailableError("no fetcher");
        absl::MutexLock lock(&mu_);
        auto& vols = volumes_[{node, storage}];
        bool exists = vols.count(volid) > 0;
        if (!body.ok()) {
          return {absl::StrCat("download failed: ", body.status().message()),
                  {}};
        }
        std::string got = LabSha256Hex(*body);
        if (!checksum.empty()) {
          if (algorithm != "sha256") {
            return {"the lab's pve verifies sha256 checksums only", {}};
          }
          if (got != checksum) {
            return {absl::StrCat("checksum mismatch: got '", got,
                                 "' != expect '", checksum, "', aborting"),
                    {}};
          }
          if (exists) return {"OK", {}};
        } else if (exists) {
          return {
              absl::StrCat("refusing to override existing file '", path, "'"),
              {}};
        }
        Volume v;
        v.content = content;
        v.format = absl::EndsWith(volid, ".qcow2") ? "qcow2"
                   : absl::EndsWith(volid, ".raw") ? "raw"
                                                   : "iso";
        v.size = static_cast<int64_t>(body->size());
        if (body->size() >= 32 && body->compare(0, 4, "QFI\xfb") == 0) {
          uint64_t vs = 0;
          for (int i = 0; i < 8; ++i) {
            vs = (vs << 8) | static_cast<unsigned char>((*body)[24 + i]);
          }
          v.virtual_size = static_cast<int64_t>(vs);
        }
        v.ctime = NowSeconds();
        vols[volid] = v;
        return {"OK", {}};
      }));
}

PveResponse PveApi::Access(const PveRequest& r, const Caller& c) {
  static const RE2 kUser(R"(/access/users/([^/]+))");
  static const RE2 kTokens(R"(/access/users/([^/]+)/token)");
  static const RE2 kToken(R"(/access/users/([^/]+)/token/([^/]+))");
  static const RE2 kRole(R"(/access/roles/([^/]+))");
  static const RE2 kUserid(R"([^\s:/]+@[A-Za-z][A-Za-z0-9._-]*)");
  static const RE2 kTokenid(R"([A-Za-z][A-Za-z0-9._-]+)");
  PveResponse res;
  const std::string& m = r.method;
  std::string userid, tokenid, roleid;
  bool user_admin = Has(c, "/access/groups", "User.Modify");
  auto token_json = [](const std::string& id, const Token& t) {
    json e = {
        {"tokenid", id}, {"privsep", t.privsep ? 1 : 0}, {"expire", t.expire}};
    if (!t.comment.empty()) e["comment"] = t.comment;
    return e;
  };
  auto user_json = [&](const std::string& id, const User& u, bool full) {
    json e = {
        {"userid", id}, {"enable", u.enable ? 1 : 0}, {"expire", u.expire}};
    if (!u.comment.empty()) e["comment"] = u.comment;
    if (full) {
      json tokens = json::array();
      for (const auto& [tid, t] : u.tokens)
        tokens.push_back(token_json(tid, t));
      e["tokens"] = tokens;
    }
    return e;
  };

  if (r.path == "/access/users" && m == "GET") {
    if (!CheckSchema(r, {"full", "enabled"}, &res)) return res;
    json out = json::array();
    bool audit = user_admin || Has(c, "/access", "Sys.Audit");
    for (const auto& [id, u] : users_) {
      if (!audit && id != c.userid) continue;
      out.push_back(user_json(id, u, Param(r, "full") == "1"));
    }
    return Data(out);
  }
  if (r.path == "/access/users" && m == "POST") {
    if (!CheckSchema(r,
                     {"userid", "comment", "enable", "expire", "email",
                      "firstname", "lastname", "groups", "password", "keys"},
                     &res)) {
      return res;
    }
    userid = Param(r, "userid");
    if (!RE2::FullMatch(userid, kUserid)) {
      return ParamError(
          {{"userid",
            "invalid format - value does not look like a valid user ID"}});
    }
    std::string realm = userid.substr(userid.find('@') + 1);
    if (realm != "pve" && realm != "pam") {
      return Fail(500, absl::StrCat("create user failed: domain '", realm,
                                    "' does not exist"));
    }
    if (!user_admin) return Forbidden("/access/groups", "User.Modify");
    if (!Has(c, "/access/realm/" + realm, "Realm.AllocateUser")) {
      return Forbidden("/access/realm/" + realm, "Realm.AllocateUser");
    }
    if (users_.count(userid)) {
      return Fail(500, absl::StrCat("create user failed: user '", userid,
                                    "' already exists"));
    }
    User u;
    u.comment = Param(r, "comment");
    u.enable = Param(r, "enable", "1") == "1";
    absl::SimpleAtoi(Param(r, "expire", "0"), &u.expire);
    users_[userid] = u;
    return Data(nullptr);
  }
  if (RE2::FullMatch(r.path, kToken, &userid, &tokenid)) {
    userid = UriUnescape(userid);
    auto u = users_.find(userid);
    if (u == users_.end()) {
      return Fail(500, absl::StrCat("no such user ('", userid, "')"));
    }
    if (userid != c.userid && !user_admin) {
      return Forbidden("/access/groups", "User.Modify");
    }
    if (m == "POST") {
      if (!CheckSchema(r, {"userid", "tokenid", "privsep", "expire", "comment"},
                       &res)) {
        return res;
      }
      if (!RE2::FullMatch(tokenid, kTokenid)) {
        return ParamError({{"tokenid", "invalid format - invalid token ID"}});
      }
      if (u->second.tokens.count(tokenid)) {
        return ParamError({{"tokenid", "Token already exists."}});
      }
      Token t;
      t.privsep = Param(r, "privsep", "1") == "1";
      t.comment = Param(r, "comment");
      absl::SimpleAtoi(Param(r, "expire", "0"), &t.expire);
      t.secret = NewUuid();
      u->second.tokens[tokenid] = t;
      json info = {{"privsep", t.privsep ? 1 : 0}};
      if (t.expire) info["expire"] = t.expire;
      if (!t.comment.empty()) info["comment"] = t.comment;
      return Data({{"full-tokenid", absl::StrCat(userid, "!", tokenid)},
                   {"info", info},
                   {"value", t.secret}});
    }
    if (m == "DELETE") {
      if (!u->second.tokens.erase(tokenid)) {
        return Fail(500, absl::StrCat("no such token '", tokenid,
                                      "' for user '", userid, "'"));
      }
      std::string full = absl::StrCat(userid, "!", tokenid);
      acls_.erase(std::remove_if(acls_.begin(), acls_.end(),
                                 [&](const Acl& a) {
                                   return a.type == "token" && a.ugid == full;
                                 }),
                  acls_.end());
      return Data(nullptr);
    }
    if (m == "GET") {
      auto t = u->second.tokens.find(tokenid);
      if (t == u->second.tokens.end()) {
        return Fail(500, absl::StrCat("no such token '", tokenid,
                                      "' for user '", userid, "'"));
      }
      json e = token_json(tokenid, t->second);
      e.erase("tokenid");
      return Data(e);
    }
  }
  if (RE2::FullMatch(r.path, kTokens, &userid) && m == "GET") {
    userid = UriUnescape(userid);
    auto u = users_.find(userid);
    if (u == users_.end()) {
      return Fail(500, absl::StrCat("no such user ('", userid, "')"));
    }
    if (userid != c.userid && !user_admin) {
      return Forbidden("/access/groups", "User.Modify");
    }
    json out = json::array();
    for (const auto& [tid, t] : u->second.tokens)
      out.push_back(token_json(tid, t));
    return Data(out);
  }
  if (RE2::FullMatch(r.path, kUser, &userid) && m == "GET") {
    userid = UriUnescape(userid);
    auto u = users_.find(userid);
    if (u == users_.end()) {
      return Fail(500, absl::StrCat("no such user ('", userid, "')"));
    }
    if (userid != c.userid && !user_admin && !Has(c, "/access", "Sys.Audit")) {
      return Forbidden("/access/groups", "User.Modify");
    }
    json e = user_json(userid, u->second, false);
    json tokens = json::object();
    for (const auto& [tid, t] : u->second.tokens) {
      json te = token_json(tid, t);
      te.erase("tokenid");
      tokens[tid] = te;
    }
    e["tokens"] = tokens;
    return Data(e);
  }
  if (r.path == "/access/roles" && m == "GET") {
    json out = json::array();
    for (const auto& [id, privs] : roles_) {
      out.push_back({{"roleid", id},
                     {"privs", absl::StrJoin(privs, ",")},
                     {"special", builtin_roles_.count(id) ? 1 : 0}});
    }
    return Data(out);
  }
  auto parse_privs = [&](std::set<std::string>* out) -> bool {
    for (absl::string_view p : absl::StrSplit(
             Param(r, "privs"), absl::ByAnyChar(", ;"), absl::SkipEmpty())) {
      if (!PveKnownPrivileges().count(std::string(p))) {
        res = Fail(500, absl::StrCat("invalid privilege '", p, "'"));
        return false;
      }
      out->insert(std::string(p));
    }
    return true;
  };
  if (r.path == "/access/roles" && m == "POST") {
    if (!CheckSchema(r, {"roleid", "privs"}, &res)) return res;
    if (!Has(c, "/access", "Sys.Modify"))
      return Forbidden("/access", "Sys.Modify");
    roleid = Param(r, "roleid");
    if (roles_.count(roleid)) {
      return Fail(500, absl::StrCat("role '", roleid, "' already exists"));
    }
    std::set<std::string> privs;
    if (!parse_privs(&privs)) return res;
    roles_[roleid] = privs;
    return Data(nullptr);
  }
  if (RE2::FullMatch(r.path, kRole, &roleid) && m == "PUT") {
    if (!CheckSchema(r, {"roleid", "privs", "append"}, &res)) return res;
    if (!Has(c, "/access", "Sys.Modify"))
      return Forbidden("/access", "Sys.Modify");
    if (!roles_.count(roleid)) {
      return Fail(500, absl::StrCat("role '", roleid, "' does not exist"));
    }
    if (builtin_roles_.count(roleid)) {
      return Fail(500, absl::StrCat("cannot modify role '", roleid, "'"));
    }
    std::set<std::string> privs;
    if (!parse_privs(&privs)) return res;
    if (Param(r, "append") == "1") {
      roles_[roleid].insert(privs.begin(), privs.end());
    } else {
      roles_[roleid] = privs;
    }
    return Data(nullptr);
  }
  if (r.path == "/access/acl" && m == "GET") {
    json out = json::array();
    for (const Acl& a : acls_) {
      if (!Has(c, a.path, "Sys.Audit") &&
          !Has(c, a.path, "Permissions.Modify")) {
        continue;
      }
      out.push_back({{"path", a.path},
                     {"type", a.type},
                     {"ugid", a.ugid},
                     {"roleid", a.role},
                     {"propagate", a.propagate ? 1 : 0}});
    }
    return Data(out);
  }
  if (r.path == "/access/acl" && m == "PUT") {
    if (!CheckSchema(r,
                     {"path", "roles", "users", "groups", "tokens", "propagate",
                      "delete"},
                     &res)) {
      return res;
    }
    std::string path = Param(r, "path");
    if (path.empty() || path[0] != '/') {
      return ParamError({{"path", "invalid ACL path"}});
    }
    if (!Has(c, path, "Permissions.Modify")) {
      return Forbidden(path, "Permissions.Modify");
    }
    bool remove = Param(r, "delete") == "1";
    bool propagate = Param(r, "propagate", "1") == "1";
    std::vector<std::pair<std::string, std::string>> subjects;
    for (absl::string_view u :
         absl::StrSplit(Param(r, "users"), ',', absl::SkipEmpty())) {
      if (!users_.count(std::string(u))) {
        return Fail(500, absl::StrCat("user '", u, "' does not exist"));
      }
      subjects.push_back({"user", std::string(u)});
    }
    for (absl::string_view t :
         absl::StrSplit(Param(r, "tokens"), ',', absl::SkipEmpty())) {
      std::string full(t);
      size_t bang = full.find('!');
      auto u = users_.find(full.substr(0, bang));
      if (bang == std::string::npos || u == users_.end() ||
          !u->second.tokens.count(full.substr(bang + 1))) {
        return Fail(500, absl::StrCat("no such token '", full, "'"));
      }
      subjects.push_back({"token", full});
    }
    for (absl::string_view role :
         absl::StrSplit(Param(r, "roles"), ',', absl::SkipEmpty())) {
      if (!roles_.count(std::string(role))) {
        return Fail(500, absl::StrCat("role '", role, "' does not exist"));
      }
      for (const auto& [type, ugid] : subjects) {
        auto same = [&](const Acl& a) {
          return a.path == path && a.type == type && a.ugid == ugid &&
                 a.role == role;
        };
        acls_.erase(std::remove_if(acls_.begin(), acls_.end(), same),
                    acls_.end());
        if (!remove) {
          acls_.push_back(Acl{path, type, ugid, std::string(role), propagate});
        }
      }
    }
    return Data(nullptr);
  }
  return Fail(501, absl::StrCat("Method '", m, " /api2/json", r.path,
                                "' not implemented"));
}

}  // namespace coldstart::lab
