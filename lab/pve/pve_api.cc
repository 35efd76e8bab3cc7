// PveApi's frame: state set-up, the test and lab accessors, and the route
// table that sends each request to its handler (pve_*.cc, one per concern).
#include "lab/pve/pve_api.h"

#include <memory>
#include <optional>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "lab/pve/pve_api_internal.h"
#include "re2/re2.h"

namespace coldstart::lab {
namespace {

// pve-http-server delays every 401 by ~3 s.
const absl::Duration kAuthFailureDelay = absl::Seconds(3);

}  // namespace

using pve_internal::AgentConfigured;
using pve_internal::DiskStorage;
using pve_internal::Fail;
using pve_internal::NotImplemented;
using pve_internal::ParseSize;

// A path below /api2/json with named segments: "/nodes/{node}/qemu/{vmid}".
// {name} is one segment (digits that fit an int for {vmid}); a trailing
// "/**" is any sub path or none.
class PveApi::PathPattern {
 public:
  explicit PathPattern(absl::string_view pattern)
      : re_(std::make_shared<const RE2>(ToRegex(pattern))) {}

  // Fills `args` from the segments when the whole path matches.
  bool Match(const std::string& path, PathArgs* args) const {
    const int n = re_->NumberOfCapturingGroups();
    std::vector<std::string> groups(n);
    std::vector<RE2::Arg> argv(n);
    std::vector<const RE2::Arg*> argp(n);
    for (int i = 0; i < n; ++i) {
      argv[i] = RE2::Arg(&groups[i]);
      argp[i] = &argv[i];
    }
    if (!RE2::FullMatchN(path, *re_, argp.data(), n)) return false;
    static const auto* kFields =
        new std::map<std::string, std::string PathArgs::*>{
            {"node", &PathArgs::node},       {"storage", &PathArgs::storage},
            {"upid", &PathArgs::upid},       {"userid", &PathArgs::userid},
            {"tokenid", &PathArgs::tokenid}, {"roleid", &PathArgs::roleid}};
    *args = PathArgs{};
    for (const auto& [name, index] : re_->NamedCapturingGroups()) {
      const std::string& value = groups[index - 1];
      if (name == "vmid") {
        if (!RE2::Arg(&args->vmid).Parse(value.data(), value.size())) {
          return false;
        }
      } else {
        args->*kFields->at(name) = value;
      }
    }
    return true;
  }

 private:
  static std::string ToRegex(absl::string_view pattern) {
    std::string regex;
    bool any_sub_path = absl::ConsumeSuffix(&pattern, "/**");
    while (!pattern.empty()) {
      size_t open = pattern.find('{');
      if (open == absl::string_view::npos) open = pattern.size();
      absl::StrAppend(&regex,
                      RE2::QuoteMeta(std::string(pattern.substr(0, open))));
      pattern.remove_prefix(open);
      if (pattern.empty()) break;
      size_t close = pattern.find('}');
      absl::string_view name = pattern.substr(1, close - 1);
      absl::StrAppend(&regex, "(?P<", name, ">",
                      name == "vmid" ? R"(\d+)" : "[^/]+", ")");
      pattern.remove_prefix(close + 1);
    }
    if (any_sub_path) absl::StrAppend(&regex, "(/.*)?");
    return regex;
  }

  std::shared_ptr<const RE2> re_;
};

struct PveApi::Route {
  Route(std::string method, absl::string_view pattern, Handler handler)
      : method(std::move(method)), path(pattern), handler(handler) {}
  std::string method;
  PathPattern path;
  Handler handler;
};

struct PveApi::PathGuard {
  PathGuard(absl::string_view pattern, Guard guard)
      : path(pattern), guard(guard) {}
  PathPattern path;
  Guard guard;
};

const std::vector<PveApi::Route>& PveApi::Routes() {
  static const auto* kRoutes = new std::vector<Route>{
      {"GET", "/version", &PveApi::GetVersion},
      {"GET", "/nodes", &PveApi::ListNodes},
      {"GET", "/cluster/resources", &PveApi::ListResources},
      {"GET", "/cluster/nextid", &PveApi::NextId},

      {"GET", "/access/users", &PveApi::ListUsers},
      {"POST", "/access/users", &PveApi::CreateUser},
      {"GET", "/access/users/{userid}", &PveApi::GetUser},
      {"GET", "/access/users/{userid}/token", &PveApi::ListTokens},
      {"GET", "/access/users/{userid}/token/{tokenid}", &PveApi::GetToken},
      {"POST", "/access/users/{userid}/token/{tokenid}", &PveApi::CreateToken},
      {"DELETE", "/access/users/{userid}/token/{tokenid}",
       &PveApi::DeleteToken},
      {"GET", "/access/roles", &PveApi::ListRoles},
      {"POST", "/access/roles", &PveApi::CreateRole},
      {"PUT", "/access/roles/{roleid}", &PveApi::UpdateRole},
      {"GET", "/access/acl", &PveApi::ListAcl},
      {"PUT", "/access/acl", &PveApi::UpdateAcl},

      {"GET", "/nodes/{node}/storage/{storage}/content", &PveApi::ListContent},
      {"POST", "/nodes/{node}/storage/{storage}/download-url",
       &PveApi::DownloadUrl},

      {"GET", "/nodes/{node}/tasks", &PveApi::ListTasks},
      {"GET", "/nodes/{node}/tasks/{upid}/status", &PveApi::GetTaskStatus},
      {"GET", "/nodes/{node}/tasks/{upid}/log", &PveApi::GetTaskLog},

      {"GET", "/nodes/{node}/qemu", &PveApi::ListVms},
      {"POST", "/nodes/{node}/qemu", &PveApi::CreateVm},
      {"DELETE", "/nodes/{node}/qemu/{vmid}", &PveApi::DeleteVm},
      {"GET", "/nodes/{node}/qemu/{vmid}/config", &PveApi::GetVmConfig},
      {"PUT", "/nodes/{node}/qemu/{vmid}/config", &PveApi::SetVmConfig},
      {"POST", "/nodes/{node}/qemu/{vmid}/config", &PveApi::PostVmConfig},
      {"PUT", "/nodes/{node}/qemu/{vmid}/resize", &PveApi::Resize},
      {"GET", "/nodes/{node}/qemu/{vmid}/status/current", &PveApi::GetVmStatus},
      {"POST", "/nodes/{node}/qemu/{vmid}/status/start", &PveApi::StartVm},
      {"POST", "/nodes/{node}/qemu/{vmid}/status/stop", &PveApi::StopVm},
      {"POST", "/nodes/{node}/qemu/{vmid}/status/shutdown",
       &PveApi::ShutdownVm},
      {"GET", "/nodes/{node}/qemu/{vmid}/agent/network-get-interfaces",
       &PveApi::GetAgentInterfaces},
  };
  return *kRoutes;
}

const std::vector<PveApi::PathGuard>& PveApi::PathGuards() {
  static const auto* kGuards = new std::vector<PathGuard>{
      {"/access/users/{userid}/token/{tokenid}", &PveApi::CheckTokenOwner},
      {"/nodes/{node}/storage/{storage}/content", &PveApi::CheckStorage},
      {"/nodes/{node}/storage/{storage}/download-url", &PveApi::CheckStorage},
      {"/nodes/{node}/qemu", &PveApi::CheckNode},
      {"/nodes/{node}/qemu/{vmid}/**", &PveApi::CheckVm},
  };
  return *kGuards;
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
            vm.agent_up = AgentConfigured(vm.config);
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

PveResponse PveApi::Handle(const PveRequest& r) {
  absl::MutexLock lock(&mu_);
  if (r.unexpected_body) {
    return Fail(501,
                absl::StrCat("Unexpected content for method '", r.method, "'"));
  }
  std::optional<Caller> caller = Authenticate(r.authorization);
  if (!caller) return PveResponse{401, "", latency_.Scale(kAuthFailureDelay)};
  return Dispatch(r, *caller);
}

PveResponse PveApi::Dispatch(const PveRequest& r, const Caller& c) {
  PathArgs args;
  for (const PathGuard& guard : PathGuards()) {
    if (!guard.path.Match(r.path, &args)) continue;
    if (std::optional<PveResponse> failure = (this->*guard.guard)(c, args)) {
      return *failure;
    }
    break;
  }
  for (const Route& route : Routes()) {
    if (route.method == r.method && route.path.Match(r.path, &args)) {
      return (this->*route.handler)(r, c, args);
    }
  }
  return NotImplemented(r);
}

}  // namespace coldstart::lab
