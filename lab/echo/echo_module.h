// The example module (and the frame's test subject): a trivial HTTP API with
// an async task, wired the way every simulator is (lab/README.md).
//
// Listens on option "address" (default 127.0.10.250:8080; port 0 under
// any_port):
//   GET  /echo?msg=X     200, body X (text/plain)
//   POST /things         form vmid=N&name=S -> {"data":"UPID:lab:<n>:echo:N:"}
//                        a task that ends after 1 s x time scale; on success
//                        the world gets VmCreated{N, S}
//   GET  /tasks/<upid>   {"data":{"status":"running"|"stopped",
//                        "exitstatus":"OK"|<error>}}; 404 for unknown ids
//   GET  /vms            {"data":[{"vmid":N,"name":S,"running":b}, ...]}
//                        from the world state
// Faults: every frame kind; task_error and proxmox_lock_timeout SHAPE_TASK end
// the /things task with their text.
// Option "child": an executable started (no arguments) as child "echo-child",
// stopped with the module. Option "child_secret_env": the name of an
// environment variable of labd whose value the child gets on stdin (the
// pattern for handing a child a secret without putting it in any argv).
#ifndef COLDSTART_LAB_ECHO_ECHO_MODULE_H_
#define COLDSTART_LAB_ECHO_ECHO_MODULE_H_

#include <map>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "lab/http/module_server.h"
#include "lab/module.h"

namespace coldstart::lab {

inline constexpr char kEchoDefaultAddress[] = "127.0.10.250:8080";

class EchoModule : public Module {
 public:
  EchoModule() = default;
  ~EchoModule() override;

  absl::Status Start(ModuleContext& context) override;
  std::map<std::string, std::string> Listeners() const override;
  void Stop() override;

 private:
  struct Task {
    bool done = false;
    std::string exitstatus;
  };

  ModuleContext* context_ = nullptr;
  std::unique_ptr<ModuleServer> server_;
  bool child_started_ = false;
  absl::Mutex mu_;
  int next_task_ ABSL_GUARDED_BY(mu_) = 1;
  std::map<std::string, Task> tasks_ ABSL_GUARDED_BY(mu_);
};

}  // namespace coldstart::lab

#endif  // COLDSTART_LAB_ECHO_ECHO_MODULE_H_
