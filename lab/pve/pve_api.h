// The lab's Proxmox VE API, as logic without transport: one request in, one
// response out (lab/pve/pve_module.h puts it on HTTPS). Faithful to
// facts/proxmox.md and facts/talos-on-proxmox.md for what coldstart uses;
// lab/pve/README.md lists what is simulated and what is not.
//
// Thread-safe. Tasks run on the Scheduler with the LatencyModel's durations;
// starting/stopping/creating/deleting a VM publishes to the World; the guest
// agent answers once the World says the VM's node booted.
#ifndef COLDSTART_LAB_PVE_PVE_API_H_
#define COLDSTART_LAB_PVE_PVE_API_H_

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "lab/world/latency.h"
#include "lab/world/scheduler.h"
#include "lab/world/world.h"

namespace coldstart::lab {

struct PveRequest {
  std::string method;  // GET POST PUT DELETE
  // Path below /api2/json, e.g. "/nodes/pve/qemu".
  std::string path;
  // Query and body parameters merged (JSON booleans already "0"/"1").
  std::map<std::string, std::string> params;
  // The Authorization header value ("" when absent).
  std::string authorization;
  // A GET/DELETE that carried a body (Proxmox answers 501).
  bool unexpected_body = false;
  // Error text a task started by this call must end with (fault injection);
  // empty: the task runs normally.
  std::string task_error;
};

struct PveResponse {
  int status = 200;
  // JSON text ("" for the empty 401 body).
  std::string body;
  // How long the server waits before answering (401s are delayed).
  absl::Duration delay = absl::ZeroDuration();
};

struct PveStorageConfig {
  std::string id;
  // "dir" (file based) or "zfspool"/"lvmthin" (block).
  std::string type;
  std::set<std::string> content;
};

struct PveApiOptions {
  // Reported by GET /version; gates import content (8.3+) and qcow2 import
  // file names (8.4+).
  std::string version = "8.4.1";
  std::vector<std::string> nodes = {"pve"};
  std::vector<PveStorageConfig> storages;
  // Fetches a URL for download-url (the lab's HTTPS client). Returns the
  // body or an error text.
  std::function<absl::StatusOr<std::string>(const std::string& url)> fetch;
};

class PveApi {
 public:
  PveApi(PveApiOptions options, Scheduler& scheduler,
         const LatencyModel& latency, World& world);
  ~PveApi();
  PveApi(const PveApi&) = delete;
  PveApi& operator=(const PveApi&) = delete;

  PveResponse Handle(const PveRequest& request);

  // Creates root@pam's token `token_id` (privsep 0) and returns the full
  // credential "root@pam!<token_id>=<uuid>" (for labd's admin token file).
  std::string CreateRootToken(const std::string& token_id);

  // --- Test and lab access (no API semantics) ---
  // Places a VM directly (as if made earlier by hand or Terraform): config
  // keys as Proxmox stores them; stopped.
  void PutVm(int vmid, const std::string& node,
             std::map<std::string, std::string> config);
  // The stored config of a VM (empty if absent).
  std::map<std::string, std::string> VmConfig(int vmid) const;
  bool VmRunning(int vmid) const;
  std::vector<int> Vmids() const;
  int RunningTasks() const;

 private:
  struct Token {
    bool privsep = true;
    std::string secret;
    std::string comment;
    int64_t expire = 0;
  };
  struct User {
    std::string comment;
    bool enable = true;
    int64_t expire = 0;
    std::map<std::string, Token> tokens;
  };
  struct Acl {
    std::string path;
    std::string type;  // "user" | "token"
    std::string ugid;
    std::string role;
    bool propagate = true;
  };
  struct Volume {
    std::string content;  // images | import | iso
    std::string format;
    int64_t size = 0;          // bytes on storage (virtual size for disks)
    int64_t virtual_size = 0;  // qcow2 virtual size
    int vmid = 0;              // owner for images
    int64_t ctime = 0;
  };
  struct Vm {
    std::string node;
    std::map<std::string, std::string> config;
    bool running = false;
    bool agent_up = false;
    // A task holds the VM's file lock (/var/lock/qemu-server/lock-N.conf).
    bool file_locked = false;
  };
  struct Task {
    std::string node, type, id, user, tokenid;
    int64_t pid = 0, pstart = 0, starttime = 0;
    bool running = true;
    std::string exitstatus;
    std::vector<std::string> log;
  };
  struct Caller {
    std::string userid;   // user@realm
    std::string tokenid;  // token part
    std::string full;     // user@realm!tokenid
    bool privsep = true;
  };
  struct TaskEnd {
    std::string exitstatus;
    std::vector<EventPayload> events;
  };

  // The named segments of a matched route path: {node}, {vmid}, ...
  struct PathArgs {
    std::string node, storage, upid, userid, tokenid, roleid;
    int vmid = 0;
  };
  // A route's handler (the route table is in pve_api.cc).
  using Handler = PveResponse (PveApi::*)(const PveRequest& r, const Caller& c,
                                          const PathArgs& args);
  // A check on a path that answers for every method, before the method is
  // looked at (unknown node, storage or VM, someone else's token); nullopt
  // when it passes.
  using Guard = std::optional<PveResponse> (PveApi::*)(const Caller& c,
                                                       const PathArgs& args);
  class PathPattern;
  struct Route;
  struct PathGuard;
  static const std::vector<Route>& Routes();
  static const std::vector<PathGuard>& PathGuards();

  // pve_api.cc: method + path -> guard, then handler; 501 when none.
  PveResponse Dispatch(const PveRequest& r, const Caller& c)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::string NewUuid() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::string NewMac() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  int64_t NowSeconds() const;

  // pve_auth.cc: tokens and privileges.
  // The caller whose API token the Authorization `header` carries; nullopt
  // for a missing, malformed, unknown or expired token or a disabled user.
  std::optional<Caller> Authenticate(const std::string& header) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::set<std::string> Privileges(const std::string& type,
                                   const std::string& ugid,
                                   const std::string& path) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool Has(const Caller& c, const std::string& path,
           const std::string& priv) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // pve_cluster.cc
  // 500 for a node the cluster does not have.
  std::optional<PveResponse> CheckNode(const Caller& c, const PathArgs& args)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  PveResponse GetVersion(const PveRequest& r, const Caller& c,
                         const PathArgs& args)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  PveResponse ListNodes(const PveRequest& r, const Caller& c,
                        const PathArgs& args)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  PveResponse ListResources(const PveRequest& r, const Caller& c,
                            const PathArgs& args)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  PveResponse NextId(const PveRequest& r, const Caller& c, const PathArgs& args)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // pve_access.cc: users, tokens, roles, ACLs.
  PveResponse ListUsers(const PveRequest& r, const Caller& c,
                        const PathArgs& args)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  PveResponse CreateUser(const PveRequest& r, const Caller& c,
                         const PathArgs& args)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  PveResponse GetUser(const PveRequest& r, const Caller& c,
                      const PathArgs& args) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // 500 for an unknown user, 403 for someone else's tokens without
  // User.Modify.
  std::optional<PveResponse> CheckTokenOwner(const Caller& c,
                                             const PathArgs& args)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  PveResponse ListTokens(const PveRequest& r, const Caller& c,
                         const PathArgs& args)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  PveResponse CreateToken(const PveRequest& r, const Caller& c,
                          const PathArgs& args)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  PveResponse GetToken(const PveRequest& r, const Caller& c,
                       const PathArgs& args) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  PveResponse DeleteToken(const PveRequest& r, const Caller& c,
                          const PathArgs& args)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  PveResponse ListRoles(const PveRequest& r, const Caller& c,
                        const PathArgs& args)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  PveResponse CreateRole(const PveRequest& r, const Caller& c,
                         const PathArgs& args)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  PveResponse UpdateRole(const PveRequest& r, const Caller& c,
                         const PathArgs& args)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  PveResponse ListAcl(const PveRequest& r, const Caller& c,
                      const PathArgs& args) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  PveResponse UpdateAcl(const PveRequest& r, const Caller& c,
                        const PathArgs& args)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // pve_tasks.cc: tasks and UPIDs.
  std::string StartTask(const std::string& node, const std::string& type,
                        const std::string& id, const Caller& c,
                        absl::Duration duration, std::string fault,
                        std::function<TaskEnd(bool failed_by_fault)> finish)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void FinishTask(const std::string& upid, const std::string& fault,
                  std::function<TaskEnd(bool)> finish);
  PveResponse ListTasks(const PveRequest& r, const Caller& c,
                        const PathArgs& args)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  PveResponse GetTaskStatus(const PveRequest& r, const Caller& c,
                            const PathArgs& args)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  PveResponse GetTaskLog(const PveRequest& r, const Caller& c,
                         const PathArgs& args)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The task of a status/log call; nullptr with the 400/403 in `res`.
  const Task* FindTask(const Caller& c, const PathArgs& args,
                       PveResponse* res) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // pve_storage.cc: storage content and download-url.
  // CheckNode, then 500 for a storage the node does not have.
  std::optional<PveResponse> CheckStorage(const Caller& c, const PathArgs& args)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  PveResponse ListContent(const PveRequest& r, const Caller& c,
                          const PathArgs& args)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  PveResponse DownloadUrl(const PveRequest& r, const Caller& c,
                          const PathArgs& args)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  TaskEnd FinishDownload(const std::string& node, const std::string& storage,
                         const std::string& volid, const std::string& path,
                         const std::string& url, const std::string& checksum,
                         const std::string& algorithm,
                         const std::string& content);

  // pve_vms.cc: qemu list, create, config, resize, delete.
  // 500 for a VM that is not on the node.
  std::optional<PveResponse> CheckVm(const Caller& c, const PathArgs& args)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  PveResponse ListVms(const PveRequest& r, const Caller& c,
                      const PathArgs& args) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  PveResponse CreateVm(const PveRequest& r, const Caller& c,
                       const PathArgs& args) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The end of a qmcreate task: the VM's final config and volumes.
  TaskEnd FinishCreateVm(int vmid, const std::string& node,
                         const std::map<std::string, std::string>& config,
                         bool failed);
  // Turns a create's disk value into its volume and stored value; an error
  // text when an import source is gone.
  std::optional<std::string> AllocateDisk(int vmid, const std::string& node,
                                          std::string& value)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  PveResponse GetVmConfig(const PveRequest& r, const Caller& c,
                          const PathArgs& args)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  PveResponse SetVmConfig(const PveRequest& r, const Caller& c,
                          const PathArgs& args)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  PveResponse PostVmConfig(const PveRequest& r, const Caller& c,
                           const PathArgs& args)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  PveResponse UpdateConfig(const PveRequest& r, const Caller& c,
                           const std::string& node, int vmid, bool async)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The failure Proxmox answers for a config change on a locked VM: the
  // config file lock held elsewhere ("can't lock file ... got timeout" after
  // the lock wait) or a `lock` in the VM's config ("VM is locked (...)");
  // nullopt when the VM is free.
  std::optional<PveResponse> VmLockFailure(int vmid, Vm& vm)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  PveResponse Resize(const PveRequest& r, const Caller& c, const PathArgs& args)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  PveResponse DeleteVm(const PveRequest& r, const Caller& c,
                       const PathArgs& args) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // pve_vm_power.cc: status, start, stop, shutdown, the guest agent.
  PveResponse GetVmStatus(const PveRequest& r, const Caller& c,
                          const PathArgs& args)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  PveResponse GetAgentInterfaces(const PveRequest& r, const Caller& c,
                                 const PathArgs& args)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  PveResponse StartVm(const PveRequest& r, const Caller& c,
                      const PathArgs& args) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  PveResponse StopVm(const PveRequest& r, const Caller& c, const PathArgs& args)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  PveResponse ShutdownVm(const PveRequest& r, const Caller& c,
                         const PathArgs& args)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  PveResponse Power(const PveRequest& r, const Caller& c, const PathArgs& args,
                    const std::string& action)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // pve_vm_config.cc: the schema and privileges of config keys.
  // Checks config keys of a create/update: schema (400 errors) and
  // privileges (403). Fills `normalized`.
  bool CheckConfigParams(const PveRequest& r, const Caller& c, int vmid,
                         bool create,
                         std::map<std::string, std::string>* normalized,
                         PveResponse* res) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // A disk value's storage and import source: errors by key, the
  // privileges it needs; false with the 403 in `res` for a filesystem path.
  bool CheckDiskValue(const std::string& key, const std::string& value,
                      const std::string& vm_path,
                      std::map<std::string, std::string>* errors,
                      std::set<std::pair<std::string, std::string>>* needed,
                      PveResponse* res) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const PveApiOptions options_;
  Scheduler& scheduler_;
  const LatencyModel& latency_;
  World& world_;
  World::SubscriptionId booted_subscription_ = 0;

  mutable absl::Mutex mu_;
  std::map<std::string, User> users_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::set<std::string>> roles_ ABSL_GUARDED_BY(mu_);
  std::set<std::string> builtin_roles_ ABSL_GUARDED_BY(mu_);
  std::vector<Acl> acls_ ABSL_GUARDED_BY(mu_);
  // (node, storage) -> volid -> volume
  std::map<std::pair<std::string, std::string>, std::map<std::string, Volume>>
      volumes_ ABSL_GUARDED_BY(mu_);
  std::map<int, Vm> vms_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, Task> tasks_ ABSL_GUARDED_BY(mu_);
  int64_t next_pid_ ABSL_GUARDED_BY(mu_) = 0x3a100;
  uint64_t random_state_ ABSL_GUARDED_BY(mu_) = 0x9e3779b97f4a7c15ULL;
};

// Privileges Proxmox VE 8 knows (the Administrator role has all).
const std::set<std::string>& PveKnownPrivileges();

// Proxmox tag normalisation: split on , ; or space, each must match
// [a-z0-9_][a-z0-9_+.-]* (case-insensitive), lower-cased, de-duplicated,
// sorted, joined with ';'. InvalidArgument naming the bad tag.
absl::StatusOr<std::string> NormalizePveTags(const std::string& tags);

// "key=v,key2=v2" -> map; a leading element without '=' is stored under
// `default_key` (e.g. "virtio=MAC" style values are left to the caller).
std::map<std::string, std::string> ParsePveProperties(
    const std::string& value, const std::string& default_key);

}  // namespace coldstart::lab

#endif  // COLDSTART_LAB_PVE_PVE_API_H_
