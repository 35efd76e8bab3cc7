#include "tools/provision-vms/provision_vms.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "google/protobuf/util/time_util.h"
#include "lib/base/status_macros.h"
#include "lib/cli/events.h"
#include "lib/cli/spec_validation.h"
#include "lib/net/http.h"
#include "lib/secrets/keystore.h"
#include "lib/secrets/secret.h"
#include "nlohmann/json.hpp"
#include "re2/re2.h"
#include "tools/provision-vms/pve_client.h"
#include "tools/provision-vms/vm_config.h"

namespace coldstart {
namespace {

using json = nlohmann::json;
using coldstart::v1::Cluster;
using coldstart::v1::ClusterSpec;
using coldstart::v1::Node;

constexpr char kTool[] = "provision-vms";
constexpr int kTaskAttempts = 5;

google::protobuf::Timestamp Now() {
  return google::protobuf::util::TimeUtil::NanosecondsToTimestamp(
      absl::ToUnixNanos(absl::Now()));
}

// One VM as GET /cluster/resources?type=vm shows it.
struct ObservedVm {
  int vmid = 0;
  std::string node;
  std::string name;
  std::string status;
  std::set<std::string> tags;
  std::string lock;
  int64_t maxcpu = 0;
  int64_t maxmem = 0;
  int64_t maxdisk = 0;
};

enum class VmAction { kCreate, kAdopt, kUnchanged, kChange, kConflict };

const char* ActionName(VmAction a) {
  switch (a) {
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

struct VmPlan {
  const Node* node = nullptr;
  VmAction action = VmAction::kCreate;
  std::optional<ObservedVm> observed;
  // What differs (change/adopt) or why (conflict).
  std::vector<std::string> details;
};

std::string Describe(const Node& n) {
  return absl::StrCat("VM ", n.vmid(), " (", n.name(), ") on node ",
                      n.proxmox_node());
}

// What a VM result tells the user to do next.
absl::Status VmError(const Node& n, absl::string_view what,
                     const absl::Status& cause, absl::string_view todo) {
  if (absl::IsPermissionDenied(cause)) {
    todo =
        "grant the missing privilege to the provisioning token (a role in "
        "spec.proxmox.roles) and re-run";
  }
  return absl::Status(
      cause.code() == absl::StatusCode::kInvalidArgument
          ? absl::StatusCode::kFailedPrecondition
          : cause.code(),
      absl::StrCat(Describe(n), ": ", what, ": ", cause.message(), "; ", todo));
}

class Provisioner {
 public:
  Provisioner(const ProvisionOptions& options, Cluster cluster,
              std::ostream& err)
      : options_(options), cluster_(std::move(cluster)), err_(err) {}

  absl::Status Run();
  const Cluster& cluster() const { return cluster_; }

 private:
  const ClusterSpec& spec() const { return cluster_.spec(); }
  void Plan(const std::string& line) {
    absl::MutexLock lock(&err_mu_);
    err_ << kTool << ": plan: " << line << "\n";
  }
  void Say(const std::string& line) {
    absl::MutexLock lock(&err_mu_);
    err_ << kTool << ": " << line << "\n";
  }
  KeystoreAttributes Item(absl::string_view key) const {
    return ClusterSecretAttributes(spec().name(), key);
  }
  RetryPolicy Retry() const {
    RetryPolicy policy;
    policy.deadline = options_.retry_deadline;
    policy.max_attempts = 10;
    policy.initial_backoff = absl::Milliseconds(50);
    policy.max_backoff = absl::Seconds(5);
    policy.retry_if = IsRetryablePveResponse;
    return policy;
  }

  absl::Status Setup();
  absl::Status EnsureAccess(PveClient& admin);
  absl::Status EnsureToken(PveClient& admin,
                           const coldstart::v1::ProxmoxUser& user,
                           const coldstart::v1::ProxmoxToken& token,
                           const json& pve_tokens);
  absl::StatusOr<Secret> CreateToken(PveClient& admin,
                                     const std::string& userid,
                                     const coldstart::v1::ProxmoxToken& token);
  absl::Status WriteCsiSecret();
  absl::Status CheckVersion(PveClient& pve);
  absl::StatusOr<std::map<int, ObservedVm>> Observe(PveClient& pve);
  std::vector<VmPlan> PlanVms(const std::map<int, ObservedVm>& observed);
  absl::Status EnsureImage(PveClient& pve, bool plan_only);
  absl::Status ConvergeVm(PveClient& pve, VmPlan& plan,
                          coldstart::v1::VmStatus* status);
  // Runs a task-starting call and waits for its task; re-issues it when the
  // task ended with a lock timeout.
  absl::StatusOr<PveTask> RunTask(
      PveClient& pve, const Node& node, absl::string_view what,
      const std::function<absl::StatusOr<json>()>& start,
      coldstart::v1::VmStatus* status);
  absl::Status Destroy(PveClient& pve,
                       const std::map<int, ObservedVm>& observed);
  absl::Status ForEachParallel(size_t n,
                               const std::function<absl::Status(size_t)>& fn);

  const ProvisionOptions& options_;
  Cluster cluster_;
  std::ostream& err_;
  absl::Mutex err_mu_;
  std::unique_ptr<Keystore> keystore_;
  std::unique_ptr<Events> events_;
  std::unique_ptr<CurlHttpClient> pve_http_;
  std::unique_ptr<CurlHttpClient> factory_http_;
  std::string image_volid_;
  std::string schematic_id_;
  std::vector<std::string> tokens_ensured_;
  // Access changes the dry run would make.
  int access_changes_ = 0;
  // Keystore key of each token -> what layer 0 did or (dry run) would do.
  std::map<std::string, std::string> token_actions_;
};

absl::Status Provisioner::ForEachParallel(
    size_t n, const std::function<absl::Status(size_t)>& fn) {
  std::atomic<size_t> next{0};
  absl::Mutex mu;
  std::vector<absl::Status> errors(n);
  int workers =
      std::max(1, std::min<int>(options_.parallelism, static_cast<int>(n)));
  std::vector<std::thread> threads;
  for (int w = 0; w < workers; ++w) {
    threads.emplace_back([&] {
      for (size_t i = next++; i < n; i = next++) errors[i] = fn(i);
    });
  }
  for (auto& t : threads) t.join();
  std::vector<std::string> messages;
  absl::StatusCode code = absl::StatusCode::kOk;
  for (const auto& e : errors) {
    if (e.ok()) continue;
    if (code == absl::StatusCode::kOk) code = e.code();
    messages.push_back(std::string(e.message()));
  }
  if (messages.empty()) return absl::OkStatus();
  return absl::Status(code, absl::StrJoin(messages, "\n"));
}

absl::Status Provisioner::Setup() {
  std::string keystore_spec = options_.common.keystore;
  if (keystore_spec.empty() &&
      std::getenv(kKeystoreEnvironmentVariable) == nullptr &&
      spec().has_sealed_secrets() &&
      !spec().sealed_secrets().keystore().empty()) {
    keystore_spec = spec().sealed_secrets().keystore();
  }
  ASSIGN_OR_RETURN(keystore_, OpenKeystore(KeystoreSpec(keystore_spec)));
  EventsOptions events;
  events.tool = kTool;
  events.events_path = options_.common.events;
  events.stderr_stream = nullptr;
  ASSIGN_OR_RETURN(events_, Events::Create(events));
  CurlHttpClientOptions pve;
  pve.trust.ca_file = spec().proxmox().ca_file();
  pve.trust.certificate_sha256 = spec().proxmox().cert_sha256();
  pve.timeout = absl::Seconds(30);
  ASSIGN_OR_RETURN(pve_http_, CurlHttpClient::Create(pve));
  CurlHttpClientOptions factory;
  factory.trust.ca_file = spec().image().ca_file();
  ASSIGN_OR_RETURN(factory_http_, CurlHttpClient::Create(factory));
  return absl::OkStatus();
}

absl::StatusOr<Secret> Provisioner::CreateToken(
    PveClient& admin, const std::string& userid,
    const coldstart::v1::ProxmoxToken& token) {
  std::string path =
      absl::StrCat("/access/users/", userid, "/token/", token.token_id());
  PveParams params = {{"privsep", token.privilege_separation() ? "1" : "0"}};
  if (!token.comment().empty()) params["comment"] = token.comment();
  absl::StatusOr<json> created = admin.Post(path, params);
  if (absl::IsAlreadyExists(created.status())) {
    // Created by a run whose answer (and secret) was lost: rotate.
    RETURN_IF_ERROR(admin.Delete(path).status());
    created = admin.Post(path, params);
  }
  RETURN_IF_ERROR(created.status());
  std::string value = PveString((*created)["value"]);
  if (value.empty()) {
    return absl::UnavailableError(absl::StrCat("Proxmox created token ", userid,
                                               "!", token.token_id(),
                                               " but returned no secret"));
  }
  Secret credential(absl::StrCat(userid, "!", token.token_id(), "=", value));
  WipeBytes(value.data(), value.size());
  // The secret is shown once: it goes to the keystore before anything else.
  RETURN_IF_ERROR(keystore_->Store(
      Item(token.secret().key()),
      absl::StrCat("coldstart ", spec().name(), ": Proxmox token ", userid, "!",
                   token.token_id()),
      credential));
  return credential;
}

absl::Status Provisioner::EnsureToken(PveClient& admin,
                                      const coldstart::v1::ProxmoxUser& user,
                                      const coldstart::v1::ProxmoxToken& token,
                                      const json& pve_tokens) {
  std::string full = absl::StrCat(user.userid(), "!", token.token_id());
  bool exists = false;
  for (const auto& t : pve_tokens)
    exists |= PveString(t["tokenid"]) == token.token_id();
  absl::StatusOr<Secret> stored = keystore_->Lookup(Item(token.secret().key()));
  if (!stored.ok() && !absl::IsNotFound(stored.status()))
    return stored.status();
  std::string action = "ok";
  if (exists && stored.ok()) {
    // Still the secret Proxmox knows? (It may have been rotated elsewhere.)
    PveClient check(*pve_http_, spec().proxmox().endpoint(), *stored, Retry());
    absl::StatusOr<json> version = check.Get("/version");
    if (!version.ok() && absl::IsPermissionDenied(version.status()) &&
        absl::StrContains(version.status().message(), "401")) {
      action = "rotate (keystore secret no longer valid)";
    } else if (!version.ok()) {
      return version.status();
    }
  } else if (exists) {
    action = "rotate (secret not in the keystore)";
  } else {
    action = "create";
  }
  token_actions_[token.secret().key()] = action;
  if (options_.common.dry_run) {
    Plan(absl::StrCat("token ", full, ": ", action));
    if (action != "ok") ++access_changes_;
    tokens_ensured_.push_back(full);
    return absl::OkStatus();
  }
  if (action != "ok") {
    Events::StepId step = events_->Start("token", full);
    absl::Status s = absl::OkStatus();
    if (exists) {
      s = admin
              .Delete(absl::StrCat("/access/users/", user.userid(), "/token/",
                                   token.token_id()))
              .status();
      if (absl::IsNotFound(s)) s = absl::OkStatus();
    }
    if (s.ok()) s = CreateToken(admin, user.userid(), token).status();
    events_->End(step, s);
    if (!s.ok()) {
      return absl::Status(s.code(),
                          absl::StrCat("token ", full, ": ", s.message()));
    }
    Say(absl::StrCat("token ", full, ": ", action, ", secret stored in ",
                     keystore_->Describe(), " as ", token.secret().key()));
  }
  tokens_ensured_.push_back(full);
  return absl::OkStatus();
}

absl::Status Provisioner::EnsureAccess(PveClient& admin) {
  const auto& pve = spec().proxmox();
  bool dry = options_.common.dry_run;
  // Roles.
  ASSIGN_OR_RETURN(json roles, admin.Get("/access/roles"));
  for (const auto& role : pve.roles()) {
    std::set<std::string> want(role.privileges().begin(),
                               role.privileges().end());
    std::optional<std::set<std::string>> have;
    for (const auto& r : roles) {
      if (PveString(r["roleid"]) != role.name()) continue;
      have.emplace();
      for (absl::string_view p :
           absl::StrSplit(PveString(r["privs"]), absl::ByAnyChar(", "),
                          absl::SkipEmpty())) {
        have->insert(std::string(p));
      }
    }
    std::string privs = absl::StrJoin(want, ",");
    if (have.has_value() && *have == want) continue;
    ++access_changes_;
    Plan(absl::StrCat("role ", role.name(), ": ", have ? "update" : "create"));
    if (dry) continue;
    if (have.has_value()) {
      RETURN_IF_ERROR(
          admin.Put("/access/roles/" + role.name(), {{"privs", privs}})
              .status());
    } else {
      RETURN_IF_ERROR(admin
                          .Post("/access/roles",
                                {{"roleid", role.name()}, {"privs", privs}})
                          .status());
    }
  }
  // Users and their tokens.
  ASSIGN_OR_RETURN(json users, admin.Get("/access/users", {{"full", "1"}}));
  for (const auto& user : pve.users()) {
    json tokens = json::array();
    bool exists = false;
    for (const auto& u : users) {
      if (PveString(u["userid"]) != user.userid()) continue;
      exists = true;
      if (u.contains("tokens") && u["tokens"].is_array()) tokens = u["tokens"];
    }
    if (!exists) {
      ++access_changes_;
      Plan(absl::StrCat("user ", user.userid(), ": create"));
      if (!dry) {
        PveParams params = {{"userid", user.userid()}};
        if (!user.comment().empty()) params["comment"] = user.comment();
        absl::Status s = admin.Post("/access/users", params).status();
        if (!s.ok() && !absl::IsAlreadyExists(s)) return s;
      }
    }
    for (const auto& token : user.tokens()) {
      RETURN_IF_ERROR(EnsureToken(admin, user, token, tokens));
    }
  }
  // ACLs: with privilege separation a token's rights are the intersection of
  // its own ACLs and its user's, so both get the entry.
  ASSIGN_OR_RETURN(json acls, admin.Get("/access/acl"));
  for (const auto& user : pve.users()) {
    for (const auto& acl : user.acls()) {
      std::vector<std::pair<std::string, std::string>> subjects = {
          {"user", user.userid()}};
      for (const auto& token : user.tokens()) {
        if (acl.token_id().empty() ? token.privilege_separation()
                                   : token.token_id() == acl.token_id()) {
          subjects.push_back(
              {"token", absl::StrCat(user.userid(), "!", token.token_id())});
        }
      }
      for (const auto& [type, ugid] : subjects) {
        bool present = false;
        for (const auto& a : acls) {
          present |=
              PveString(a["path"]) == acl.path() &&
              PveString(a["type"]) == type && PveString(a["ugid"]) == ugid &&
              PveString(a["roleid"]) == acl.role() &&
              PveInt(a["propagate"]).value_or(1) == (acl.propagate() ? 1 : 0);
        }
        if (present) continue;
        ++access_changes_;
        Plan(absl::StrCat("acl ", acl.path(), " ", acl.role(), " -> ", type,
                          " ", ugid, ": add"));
        if (dry) continue;
        RETURN_IF_ERROR(admin
                            .Put("/access/acl",
                                 {{"path", acl.path()},
                                  {"roles", acl.role()},
                                  {type == "user" ? "users" : "tokens", ugid},
                                  {"propagate", acl.propagate() ? "1" : "0"}})
                            .status());
      }
    }
  }
  if (!dry) RETURN_IF_ERROR(WriteCsiSecret());
  return absl::OkStatus();
}

// The Proxmox CSI plugin's Secret (facts/talos-on-proxmox.md §6) for the
// first token of the first user that is not the provisioning user.
absl::Status Provisioner::WriteCsiSecret() {
  const auto& pve = spec().proxmox();
  for (const auto& user : pve.users()) {
    for (const auto& token : user.tokens()) {
      if (token.secret().key() == pve.provisioning_credentials().key())
        continue;
      ASSIGN_OR_RETURN(Secret credential,
                       keystore_->Lookup(Item(token.secret().key())));
      absl::string_view v = credential.Reveal();
      size_t eq = v.rfind('=');
      bool insecure = !pve.ca_file().empty() || !pve.cert_sha256().empty();
      std::string manifest = absl::StrCat(
          "apiVersion: v1\nkind: Secret\nmetadata:\n  name: "
          "proxmox-csi-plugin\n"
          "  namespace: csi-proxmox\ntype: Opaque\nstringData:\n"
          "  config.yaml: |\n    clusters:\n      - url: ",
          pve.endpoint(), "\n        insecure: ", insecure ? "true" : "false",
          "\n        token_id: \"", v.substr(0, eq),
          "\"\n        token_secret: \"", v.substr(eq + 1),
          "\"\n        region: \"", pve.region(), "\"\n");
      Secret value(std::move(manifest));
      absl::StatusOr<Secret> old =
          keystore_->Lookup(Item(kCsiSecretManifestKey));
      if (old.ok() && *old == value) return absl::OkStatus();
      return keystore_->Store(
          Item(kCsiSecretManifestKey),
          absl::StrCat("coldstart ", spec().name(),
                       ": Proxmox CSI plugin Secret manifest"),
          value);
    }
  }
  return absl::OkStatus();
}

absl::Status Provisioner::CheckVersion(PveClient& pve) {
  ASSIGN_OR_RETURN(json version, pve.Get("/version"));
  std::vector<std::string> parts =
      absl::StrSplit(PveString(version["version"]), '.');
  int major = 0, minor = 0;
  if (parts.size() < 2 || !absl::SimpleAtoi(parts[0], &major) ||
      !absl::SimpleAtoi(parts[1], &minor)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "Proxmox reports version \"", PveString(version["version"]),
        "\", which is not a version"));
  }
  if (major < 8 || (major == 8 && minor < 4)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "Proxmox VE ", PveString(version["version"]),
        " cannot download a qcow2 image as 'import' content (needs 8.4 or "
        "newer); upgrade Proxmox VE"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::map<int, ObservedVm>> Provisioner::Observe(PveClient& pve) {
  std::set<int> spec_vmids;
  for (const auto& n : spec().nodes()) spec_vmids.insert(n.vmid());
  absl::Duration pause = absl::Milliseconds(20);
  absl::Time until = absl::Now() + options_.task_deadline;
  while (true) {
    ASSIGN_OR_RETURN(json list,
                     pve.Get("/cluster/resources", {{"type", "vm"}}));
    std::map<int, ObservedVm> out;
    bool creating = false;
    for (const auto& e : list) {
      if (PveString(e["type"]) != "qemu") continue;
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
      // A create or clone still running holds an empty, locked config:
      // whose it is shows only when it ends.
      if (spec_vmids.count(vm.vmid) &&
          (vm.lock == "create" || vm.lock == "clone")) {
        creating = true;
      }
      out[vm.vmid] = vm;
    }
    if (!creating || absl::Now() + pause > until) return out;
    absl::SleepFor(pause);
    pause = std::min(pause * 2, absl::Seconds(2));
  }
}

std::vector<VmPlan> Provisioner::PlanVms(
    const std::map<int, ObservedVm>& observed) {
  std::vector<VmPlan> plans;
  std::string tag = ClusterTag(spec().name());
  for (const auto& node : spec().nodes()) {
    VmPlan plan;
    plan.node = &node;
    auto it = observed.find(node.vmid());
    if (it == observed.end()) {
      plan.action = VmAction::kCreate;
      plans.push_back(plan);
      continue;
    }
    const ObservedVm& vm = it->second;
    plan.observed = vm;
    bool ours = vm.tags.count(tag) > 0;
    if (!ours) {
      if (options_.adopt && vm.name == node.name() && vm.lock.empty()) {
        plan.action = VmAction::kAdopt;
        plan.details.push_back("take over: add tags " +
                               ClusterTags(spec().name()) +
                               " and the marker line");
      } else {
        plan.action = VmAction::kConflict;
        std::string owner = vm.tags.count("coldstart")
                                ? "carries another cluster's coldstart tags"
                                : "has no coldstart marker";
        plan.details.push_back(absl::StrCat(
            "VMID ", node.vmid(), " is held by VM \"", vm.name, "\" on node ",
            vm.node, " which ", owner,
            "; not touching it. Free the VMID, change "
            "the node's vmid in the spec",
            vm.name == node.name() && vm.lock.empty()
                ? ", or re-run with --adopt to take it over"
                : absl::StrCat(", or (if it is this node) rename it to \"",
                               node.name(), "\" and re-run with --adopt")));
      }
      plans.push_back(plan);
      continue;
    }
    if (vm.node != node.proxmox_node()) {
      plan.action = VmAction::kConflict;
      plan.details.push_back(absl::StrCat(
          "VMID ", node.vmid(), " is ours but runs on node ", vm.node,
          ", the spec says ", node.proxmox_node(),
          "; migrate it or fix the spec (provision-vms does not migrate)"));
      plans.push_back(plan);
      continue;
    }
    plan.action = VmAction::kUnchanged;
    if (vm.name != node.name())
      plan.details.push_back("name " + vm.name + " -> " + node.name());
    if (vm.maxcpu != node.cores()) {
      plan.details.push_back(
          absl::StrCat("cores ", vm.maxcpu, " -> ", node.cores()));
    }
    if (vm.maxmem != int64_t{node.memory_mib()} << 20) {
      plan.details.push_back(absl::StrCat(
          "memory ", vm.maxmem >> 20, " MiB -> ", node.memory_mib(), " MiB"));
    }
    if (vm.maxdisk < int64_t{node.disk_gib()} << 30) {
      plan.details.push_back(absl::StrCat("disk ", vm.maxdisk >> 20, " MiB -> ",
                                          node.disk_gib(), " GiB"));
    }
    if (vm.status != "running") plan.details.push_back("start");
    if (!plan.details.empty()) plan.action = VmAction::kChange;
    plans.push_back(plan);
  }
  return plans;
}

absl::Status Provisioner::EnsureImage(PveClient& pve, bool plan_only) {
  std::string yaml = SchematicYaml(spec().image());
  std::string local_id = SchematicId(yaml);
  std::string file = ImageFileName(spec(), local_id);
  std::string storage = spec().proxmox().image_storage();
  image_volid_ = absl::StrCat(storage, ":import/", file);
  std::set<std::string> pve_nodes;
  for (const auto& n : spec().nodes()) pve_nodes.insert(n.proxmox_node());
  std::vector<std::string> missing;
  for (const auto& node : pve_nodes) {
    ASSIGN_OR_RETURN(
        json content,
        pve.Get(absl::StrCat("/nodes/", node, "/storage/", storage, "/content"),
                {{"content", "import"}}));
    bool present = false;
    for (const auto& v : content)
      present |= PveString(v["volid"]) == image_volid_;
    if (!present) missing.push_back(node);
  }
  auto* status =
      cluster_.mutable_status()->mutable_provision()->mutable_image();
  status->set_volume(image_volid_);
  if (missing.empty()) {
    // The volume's name carries the id, which was cross-checked with the
    // factory when it was downloaded.
    schematic_id_ = local_id;
    status->set_schematic_id(local_id);
    if (status->image_url().empty())
      status->set_image_url(ImageUrl(spec(), local_id));
    Plan(absl::StrCat("image ", image_volid_, ": present"));
    return absl::OkStatus();
  }
  Plan(absl::StrCat("image ", image_volid_, ": download on ",
                    absl::StrJoin(missing, ", ")));
  if (plan_only) return absl::OkStatus();
  Events::StepId step = events_->Start("schematic");
  HttpRequest request;
  request.method = "POST";
  request.url = absl::StrCat(spec().image().factory_url(), "/schematics");
  request.body = yaml;
  request.headers.push_back({"Content-Type", "application/yaml"});
  RetryPolicy policy = Retry();
  policy.retry_if = [](const HttpResponse& r) { return r.status >= 500; };
  absl::StatusOr<HttpResponse> response =
      SendWithRetry(*factory_http_, request, policy);
  absl::Status s = response.status();
  std::string id;
  if (s.ok() && response->status != 201 && response->status != 200) {
    s = absl::FailedPreconditionError(
        absl::StrCat("Image Factory POST /schematics answered HTTP ",
                     response->status, ": ", response->body.substr(0, 200)));
  }
  if (s.ok()) {
    json body = json::parse(response->body, nullptr, false);
    id = body.is_object() ? PveString(body["id"]) : "";
    if (id != local_id) {
      s = absl::FailedPreconditionError(absl::StrCat(
          "the Image Factory returned schematic id \"", id,
          "\" but the schematic's canonical form hashes to ", local_id,
          "; refusing to import an image whose name would not match its "
          "content (check spec.image.extensions / extra_kernel_args)"));
    }
  }
  events_->End(step, s);
  if (!s.ok()) return absl::Status(s.code(), absl::StrCat(s.message()));
  schematic_id_ = id;
  status->set_schematic_id(id);
  std::string url = ImageUrl(spec(), id);
  status->set_image_url(url);
  return ForEachParallel(missing.size(), [&](size_t i) -> absl::Status {
    const std::string& node = missing[i];
    Events::StepId dl = events_->Start("image-download", node);
    std::string where = absl::StrCat("/nodes/", node, "/storage/", storage);
    absl::Status result = absl::OkStatus();
    // A download of the same file still running (a killed earlier run)?
    std::string running;
    absl::StatusOr<json> active =
        pve.Get(absl::StrCat("/nodes/", node, "/tasks"),
                {{"source", "active"}, {"typefilter", "download"}});
    if (active.ok()) {
      for (const auto& t : *active) {
        if (PveString(t["id"]) == file) running = PveString(t["upid"]);
      }
    }
    for (int attempt = 1; attempt <= kTaskAttempts; ++attempt) {
      std::string upid = running;
      running.clear();
      if (upid.empty()) {
        absl::StatusOr<json> started =
            pve.Post(where + "/download-url",
                     {{"url", url}, {"content", "import"}, {"filename", file}});
        if (!started.ok()) {
          result = started.status();
          break;
        }
        upid = PveString(*started);
      }
      absl::StatusOr<PveTask> task =
          pve.WaitForTask(upid, options_.task_deadline);
      if (!task.ok()) {
        result = task.status();
        break;
      }
      if (task->ok()) break;
      if (absl::StrContains(task->exit_status, "refusing to override")) {
        break;  // another download finished first: the file is there
      }
      result = absl::FailedPreconditionError(absl::StrCat(
          "download task ", upid, " ended \"", task->exit_status, "\""));
      if (!IsLockText(task->exit_status)) break;
      absl::SleepFor(absl::Milliseconds(100) * attempt);
    }
    if (result.ok()) {
      absl::StatusOr<json> content =
          pve.Get(where + "/content", {{"content", "import"}});
      bool present = false;
      if (content.ok()) {
        for (const auto& v : *content)
          present |= PveString(v["volid"]) == image_volid_;
      }
      if (!present) {
        result = absl::FailedPreconditionError(
            absl::StrCat(image_volid_, " is still missing after the download"));
      }
    }
    events_->End(dl, result);
    if (!result.ok()) {
      return absl::Status(
          result.code(),
          absl::StrCat("image ", image_volid_, " on node ", node, " from ", url,
                       ": ", result.message(), "; re-run to resume"));
    }
    return absl::OkStatus();
  });
}

absl::StatusOr<PveTask> Provisioner::RunTask(
    PveClient& pve, const Node& node, absl::string_view what,
    const std::function<absl::StatusOr<json>()>& start,
    coldstart::v1::VmStatus* status) {
  absl::Time began = absl::Now();
  for (int attempt = 1;; ++attempt) {
    ASSIGN_OR_RETURN(json upid, start());
    if (upid.is_null()) return PveTask{"", std::string(what), "OK"};
    ASSIGN_OR_RETURN(PveTask task,
                     pve.WaitForTask(PveString(upid), options_.task_deadline));
    auto* last = status->mutable_last_task();
    last->set_upid(task.upid);
    last->set_type(task.type);
    last->set_exit_status(task.exit_status);
    last->set_outcome(task.ok() ? coldstart::v1::OUTCOME_OK
                                : coldstart::v1::OUTCOME_FAILED);
    *last->mutable_finished_at() = Now();
    if (task.ok()) return task;
    if (!IsLockText(task.exit_status) || attempt >= kTaskAttempts) {
      return absl::FailedPreconditionError(absl::StrCat(
          Describe(node), ": ", what, " task ", task.upid, " ended \"",
          task.exit_status, "\"",
          attempt > 1 ? absl::StrCat("; tried ", attempt, " times over ",
                                     absl::FormatDuration(absl::Now() - began))
                      : "",
          IsLockText(task.exit_status)
              ? "; another operation holds the VM: re-run to resume"
              : "; fix the cause shown in the task log (Proxmox UI, task "
                "history), then re-run"));
    }
    absl::SleepFor(absl::Milliseconds(100) * attempt);
  }
}

absl::Status Provisioner::ConvergeVm(PveClient& pve, VmPlan& plan,
                                     coldstart::v1::VmStatus* status) {
  const Node& node = *plan.node;
  std::string vm_path =
      absl::StrCat("/nodes/", node.proxmox_node(), "/qemu/", node.vmid());
  Events::StepId step = events_->Start(ActionName(plan.action), node.name());
  auto fail = [&](absl::Status s) {
    events_->End(step, s);
    return s;
  };
  bool need_config = plan.action != VmAction::kUnchanged;
  bool running = plan.observed && plan.observed->status == "running";
  int64_t disk = plan.observed ? plan.observed->maxdisk : 0;

  if (plan.action == VmAction::kCreate) {
    absl::StatusOr<std::map<std::string, std::string>> params =
        CreateParams(spec(), node, image_volid_);
    if (!params.ok()) return fail(params.status());
    absl::StatusOr<PveTask> created = RunTask(
        pve, node, "create",
        [&] {
          return pve.Post(absl::StrCat("/nodes/", node.proxmox_node(), "/qemu"),
                          *params);
        },
        status);
    if (!created.ok() && absl::IsAlreadyExists(created.status())) {
      // A create of an earlier attempt landed after all: check it is ours.
      absl::StatusOr<json> config = pve.Get(vm_path + "/config");
      if (!config.ok()) return fail(config.status());
      if (PveString((*config)["tags"]).find(ClusterTag(spec().name())) ==
          std::string::npos) {
        return fail(absl::FailedPreconditionError(absl::StrCat(
            Describe(node),
            ": the VMID was taken by a VM without our marker while we created "
            "it; not touching it")));
      }
    } else if (!created.ok()) {
      return fail(created.status());
    }
    disk = 0;
  }

  // Full config when needed: adopt, change, or to learn the MAC.
  json config;
  bool mac_known = !status->mac().empty();
  if (need_config || !mac_known) {
    absl::StatusOr<json> got = pve.Get(vm_path + "/config");
    if (!got.ok()) {
      return fail(
          VmError(node, "read config", got.status(), "re-run to resume"));
    }
    config = *got;
    std::map<std::string, std::string> net =
        ParsePropertyString(PveString(config["net0"]), "model");
    for (const char* model : {"virtio", "e1000", "vmxnet3", "rtl8139"}) {
      if (net.count(model)) status->set_mac(net[model]);
    }
    if (config.contains("scsi0")) {
      disk = ParsePveSize(ParsePropertyString(PveString(config["scsi0"]),
                                              "file")["size"])
                 .value_or(0);
    }
  }
  if (need_config && plan.action != VmAction::kCreate) {
    PveParams change;
    auto want = [&](const std::string& key, const std::string& value) {
      std::string have = config.contains(key) ? PveString(config[key]) : "";
      if (have != value) {
        change[key] = value;
        plan.details.push_back(
            absl::StrCat(key, " \"", have, "\" -> \"", value, "\""));
      }
    };
    std::string tags = ClusterTags(spec().name());
    std::set<std::string> have_tags;
    for (absl::string_view t : absl::StrSplit(
             config.contains("tags") ? PveString(config["tags"]) : "",
             absl::ByAnyChar(",; "), absl::SkipEmpty())) {
      have_tags.insert(std::string(t));
    }
    std::set<std::string> all_tags = have_tags;
    all_tags.insert("coldstart");
    all_tags.insert(ClusterTag(spec().name()));
    if (all_tags != have_tags) change["tags"] = absl::StrJoin(all_tags, ";");
    std::string description =
        config.contains("description") ? PveString(config["description"]) : "";
    std::string marker = MarkerLine(spec().name(), node.name());
    if (!absl::StrContains(description, marker)) {
      change["description"] = description.empty()
                                  ? marker
                                  : absl::StrCat(description, "\n", marker);
    }
    want("name", node.name());
    want("cores", absl::StrCat(node.cores()));
    std::string memory =
        config.contains("memory") ? PveString(config["memory"]) : "";
    if (memory != absl::StrCat(node.memory_mib()) &&
        memory != absl::StrCat("current=", node.memory_mib())) {
      change["memory"] = absl::StrCat(node.memory_mib());
    }
    want("cpu", CpuType(spec()));
    want("scsihw", "virtio-scsi-pci");
    std::map<std::string, std::string> net =
        ParsePropertyString(PveString(config["net0"]), "model");
    std::string bridge = net["bridge"];
    std::string tag = net["tag"];
    std::string want_tag = spec().proxmox().vlan_tag()
                               ? absl::StrCat(spec().proxmox().vlan_tag())
                               : "";
    if (bridge != spec().proxmox().bridge() || tag != want_tag) {
      std::string value = PveString(config["net0"]);
      std::string rebuilt;
      for (absl::string_view part :
           absl::StrSplit(value, ',', absl::SkipEmpty())) {
        if (absl::StartsWith(part, "bridge=") || absl::StartsWith(part, "tag="))
          continue;
        absl::StrAppend(&rebuilt, rebuilt.empty() ? "" : ",", part);
      }
      absl::StrAppend(&rebuilt, ",bridge=", spec().proxmox().bridge());
      if (!want_tag.empty()) absl::StrAppend(&rebuilt, ",tag=", want_tag);
      change["net0"] = rebuilt;
    }
    absl::StatusOr<std::string> ipconfig = Ipconfig0(spec(), node);
    if (!ipconfig.ok()) return fail(ipconfig.status());
    want("ipconfig0", *ipconfig);
    if (!spec().network().nameservers().empty())
      want("nameserver", Nameservers(spec()));
    bool cloudinit = false;
    for (const auto& [key, value] : config.items()) {
      cloudinit |= absl::StrContains(PveString(value), "cloudinit") &&
                   RE2::FullMatch(key, R"((ide|sata|scsi)\d+)");
    }
    if (!cloudinit && !config.contains("ide2")) {
      change["ide2"] = absl::StrCat(NodeStorage(spec(), node), ":cloudinit");
    }
    std::string agent =
        config.contains("agent") ? PveString(config["agent"]) : "0";
    if (ParsePropertyString(agent, "enabled")["enabled"] != "1")
      change["agent"] = "1";
    if (!change.empty()) {
      std::vector<std::string> keys;
      for (const auto& [k, v] : change) keys.push_back(k);
      Say(absl::StrCat(Describe(node), ": ", ActionName(plan.action), ": set ",
                       absl::StrJoin(keys, ", ")));
      absl::Status s = pve.Put(vm_path + "/config", change).status();
      if (!s.ok()) {
        return fail(VmError(node, "update config", s,
                            "re-run to resume; if it persists, check the VM in "
                            "the Proxmox UI"));
      }
    }
  }
  int64_t want_disk = int64_t{node.disk_gib()} << 30;
  if (disk < want_disk) {
    absl::StatusOr<PveTask> resized = RunTask(
        pve, node, "resize",
        [&] {
          return pve.Put(vm_path + "/resize",
                         {{"disk", "scsi0"},
                          {"size", absl::StrCat(node.disk_gib(), "G")}});
        },
        status);
    if (!resized.ok()) {
      return fail(
          VmError(node, "resize disk", resized.status(), "re-run to resume"));
    }
  }
  if (!running) {
    absl::StatusOr<PveTask> started = RunTask(
        pve, node, "start", [&] { return pve.Post(vm_path + "/status/start"); },
        status);
    if (!started.ok() &&
        !absl::StrContains(started.status().message(), "already running")) {
      return fail(VmError(node, "start", started.status(), "re-run to resume"));
    }
  }
  status->set_power_state(coldstart::v1::POWER_STATE_RUNNING);
  events_->End(step, absl::OkStatus());
  return absl::OkStatus();
}

absl::Status Provisioner::Destroy(PveClient& pve,
                                  const std::map<int, ObservedVm>& observed) {
  std::vector<ObservedVm> ours;
  std::string tag = ClusterTag(spec().name());
  for (const auto& [vmid, vm] : observed) {
    if (vm.tags.count(tag)) ours.push_back(vm);
  }
  for (const auto& vm : ours) {
    Plan(absl::StrCat("VM ", vm.vmid, " (", vm.name, ") on node ", vm.node,
                      ": destroy"));
  }
  auto* provision = cluster_.mutable_status()->mutable_provision();
  if (options_.common.dry_run) return absl::OkStatus();
  absl::Status result =
      ForEachParallel(ours.size(), [&](size_t i) -> absl::Status {
        const ObservedVm& vm = ours[i];
        Node node;
        node.set_vmid(vm.vmid);
        node.set_name(vm.name);
        node.set_proxmox_node(vm.node);
        coldstart::v1::VmStatus scratch;
        std::string path = absl::StrCat("/nodes/", vm.node, "/qemu/", vm.vmid);
        Events::StepId step = events_->Start("destroy", vm.name);
        absl::Status s = absl::OkStatus();
        if (vm.status == "running") {
          s = RunTask(
                  pve, node, "stop",
                  [&] { return pve.Post(path + "/status/stop"); }, &scratch)
                  .status();
        }
        if (s.ok()) {
          s = RunTask(
                  pve, node, "destroy",
                  [&] {
                    return pve.Delete(
                        path,
                        {{"purge", "1"}, {"destroy-unreferenced-disks", "1"}});
                  },
                  &scratch)
                  .status();
          if (absl::IsNotFound(s)) s = absl::OkStatus();
        }
        events_->End(step, s);
        return s.ok()
                   ? s
                   : VmError(node, "destroy", s, "re-run --destroy to resume");
      });
  provision->clear_vms();
  for (const auto& node : spec().nodes()) {
    auto* vm = provision->add_vms();
    vm->set_name(node.name());
    vm->set_vmid(node.vmid());
    vm->set_proxmox_node(node.proxmox_node());
    bool kept = observed.count(node.vmid()) &&
                !observed.at(node.vmid()).tags.count(tag);
    vm->set_power_state(kept ? coldstart::v1::POWER_STATE_UNSPECIFIED
                             : coldstart::v1::POWER_STATE_ABSENT);
    *vm->mutable_observed_at() = Now();
  }
  *provision->mutable_updated_at() = Now();
  return result;
}

absl::Status Provisioner::Run() {
  RETURN_IF_ERROR(Setup());
  const auto& pve_spec = spec().proxmox();
  bool dry = options_.common.dry_run;
  // Credentials: the admin token (keystore item, else the environment) for
  // layer 0; the provisioning token for everything else.
  std::optional<Secret> admin;
  absl::StatusOr<Secret> stored_admin =
      pve_spec.admin_credentials().key().empty()
          ? absl::NotFoundError("no admin_credentials")
          : keystore_->Lookup(Item(pve_spec.admin_credentials().key()));
  if (stored_admin.ok()) {
    admin = std::move(*stored_admin);
  } else if (const char* env = std::getenv(kAdminTokenEnvironmentVariable);
             env != nullptr && *env != '\0') {
    admin = Secret::FromView(env);
  }
  if (admin.has_value()) {
    absl::StatusOr<std::string> id = PveTokenId(*admin);
    if (!id.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "the admin credential (keystore item ",
          pve_spec.admin_credentials().key(), " or $",
          kAdminTokenEnvironmentVariable, "): ", id.status().message()));
    }
    PveClient admin_client(*pve_http_, pve_spec.endpoint(), *admin, Retry());
    Events::StepId step = events_->Start("access");
    absl::Status s = EnsureAccess(admin_client);
    events_->End(step, s);
    if (!s.ok()) {
      return absl::Status(s.code(), absl::StrCat("layer 0 (users, "
                                                 "tokens, ACLs): ",
                                                 s.message()));
    }
  } else {
    Say(absl::StrCat("no admin credential (keystore item ",
                     pve_spec.admin_credentials().key(), " or $",
                     kAdminTokenEnvironmentVariable,
                     "): users, tokens and ACLs are not checked"));
  }
  absl::StatusOr<Secret> provisioning =
      keystore_->Lookup(Item(pve_spec.provisioning_credentials().key()));
  auto planned = token_actions_.find(pve_spec.provisioning_credentials().key());
  if (dry && planned != token_actions_.end() && planned->second != "ok") {
    provisioning = absl::NotFoundError("the dry run would create it first");
  }
  if (!provisioning.ok()) {
    if (dry && admin.has_value()) {
      provisioning = *admin;  // the token would be created first
    } else {
      return absl::FailedPreconditionError(
          absl::StrCat("the provisioning token (keystore item ",
                       pve_spec.provisioning_credentials().key(), " in ",
                       keystore_->Describe(),
                       ") is missing: ", provisioning.status().message(),
                       "; give the admin credential so layer 0 creates it"));
    }
  }
  PveClient pve(*pve_http_, pve_spec.endpoint(), *provisioning, Retry());
  RETURN_IF_ERROR(CheckVersion(pve));
  ASSIGN_OR_RETURN(auto observed, Observe(pve));
  auto* provision = cluster_.mutable_status()->mutable_provision();
  provision->clear_tokens_ensured();
  for (const auto& t : tokens_ensured_) provision->add_tokens_ensured(t);
  if (options_.destroy) return Destroy(pve, observed);

  std::vector<VmPlan> plans = PlanVms(observed);
  std::vector<std::string> conflicts;
  for (const auto& plan : plans) {
    Plan(absl::StrCat(Describe(*plan.node), ": ", ActionName(plan.action),
                      plan.details.empty() ? "" : " (",
                      absl::StrJoin(plan.details, "; "),
                      plan.details.empty() ? "" : ")"));
    if (plan.action == VmAction::kConflict) {
      conflicts.push_back(absl::StrCat(Describe(*plan.node), ": ",
                                       absl::StrJoin(plan.details, "; ")));
    }
  }
  if (!conflicts.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat(conflicts.size(), " VMID conflict(s), nothing changed:\n",
                     absl::StrJoin(conflicts, "\n")));
  }
  bool need_image = false;
  for (const auto& plan : plans) need_image |= plan.action == VmAction::kCreate;
  // Observe the image only when a VM needs it (create) or no status names it.
  if (need_image || !provision->image().volume().empty() || true) {
    Events::StepId step = events_->Start("image");
    absl::Status s = EnsureImage(pve, dry || !need_image);
    events_->End(step, s);
    RETURN_IF_ERROR(s);
  }
  if (dry) return absl::OkStatus();

  // Status entries, keeping MACs already known for VMs that are unchanged.
  std::map<int, coldstart::v1::VmStatus> previous;
  for (const auto& vm : provision->vms()) previous[vm.vmid()] = vm;
  provision->clear_vms();
  std::vector<coldstart::v1::VmStatus> statuses(plans.size());
  for (size_t i = 0; i < plans.size(); ++i) {
    const Node& node = *plans[i].node;
    auto& st = statuses[i];
    auto prev = previous.find(node.vmid());
    if (plans[i].action == VmAction::kUnchanged && prev != previous.end() &&
        prev->second.name() == node.name()) {
      st = prev->second;
    }
    st.set_name(node.name());
    st.set_vmid(node.vmid());
    st.set_proxmox_node(node.proxmox_node());
    if (plans[i].action == VmAction::kAdopt) {
      Say(absl::StrCat(Describe(node),
                       ": adopting (will set our tags and "
                       "marker and bring cores, memory, cpu, scsihw, net0, "
                       "ipconfig0, nameserver, agent and disk to the spec)"));
    }
  }
  absl::Status result = ForEachParallel(plans.size(), [&](size_t i) {
    return ConvergeVm(pve, plans[i], &statuses[i]);
  });
  for (auto& st : statuses) {
    if (st.power_state() == coldstart::v1::POWER_STATE_UNSPECIFIED) {
      st.set_power_state(observed.count(st.vmid())
                             ? (observed[st.vmid()].status == "running"
                                    ? coldstart::v1::POWER_STATE_RUNNING
                                    : coldstart::v1::POWER_STATE_STOPPED)
                             : coldstart::v1::POWER_STATE_ABSENT);
    }
    *st.mutable_observed_at() = Now();
    *provision->add_vms() = st;
  }
  *provision->mutable_updated_at() = Now();
  return result;
}

}  // namespace

absl::Status RunProvisionVms(const ProvisionOptions& options, std::ostream& out,
                             std::ostream& err) {
  RETURN_IF_ERROR(CheckCommonOptions(options.common));
  if (options.adopt && options.destroy) {
    return absl::InvalidArgumentError(
        "provision-vms: --adopt and --destroy exclude each other");
  }
  ASSIGN_OR_RETURN(ClusterSession session,
                   ClusterSession::Open(options.common));
  RETURN_IF_ERROR(ValidateParsedCluster(session.input()));
  const ClusterSpec& spec = session.input().cluster.spec();
  std::vector<std::string> problems;
  if (spec.proxmox().endpoint().empty())
    problems.push_back("spec.proxmox.endpoint is required");
  if (spec.proxmox().image_storage().empty()) {
    problems.push_back("spec.proxmox.image_storage is required");
  }
  if (spec.proxmox().bridge().empty())
    problems.push_back("spec.proxmox.bridge is required");
  if (spec.proxmox().provisioning_credentials().key().empty()) {
    problems.push_back("spec.proxmox.provisioning_credentials is required");
  }
  for (const auto& n : spec.nodes()) {
    if (n.proxmox_node().empty() || n.disk_gib() == 0 || n.cores() == 0 ||
        n.memory_mib() == 0 ||
        (n.storage().empty() && spec.proxmox().vm_storage().empty())) {
      problems.push_back(absl::StrCat("spec.nodes (", n.name(),
                                      "): proxmox_node, cores, memory_mib, "
                                      "disk_gib and a storage are required"));
    }
  }
  if (!problems.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        session.input().filename, ": ", absl::StrJoin(problems, "\n")));
  }
  Provisioner provisioner(options, session.input().cluster, err);
  absl::Status status = provisioner.Run();
  if (options.common.dry_run) {
    if (!status.ok()) return status;
    if (!options.common.state.empty()) return absl::OkStatus();
    return session.Write(session.input().cluster, out);
  }
  // Status so far is valid even on failure: write it, then report.
  absl::Status written = session.Write(provisioner.cluster(), out);
  if (!status.ok()) return status;
  return written;
}

}  // namespace coldstart
