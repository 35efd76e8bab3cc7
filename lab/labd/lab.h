// The lab daemon's core: reads the spec, starts every registered module on the
// spec's loopback addresses around one World, serves the admin endpoint,
// writes the ready file, and stops everything cleanly (lab/README.md).
//
//   ASSIGN_OR_RETURN(auto lab, Lab::Create(options));
//   RETURN_IF_ERROR(lab->Start());   // listening + ready file written
//   ...
//   lab->Stop();                     // modules, children, scheduler
#ifndef COLDSTART_LAB_LABD_LAB_H_
#define COLDSTART_LAB_LABD_LAB_H_

#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "lab/faults/fault_injector.h"
#include "lab/http/module_server.h"
#include "lab/http/request_log.h"
#include "lab/module.h"
#include "lab/process/supervisor.h"
#include "lab/world/latency.h"
#include "lab/world/scheduler.h"
#include "lab/world/world.h"
#include "proto/coldstart/v1/cluster.pb.h"

namespace coldstart::lab {

inline constexpr char kDefaultAdminAddress[] = "127.0.10.254:8099";

struct LabOptions {
  // Cluster spec with loopback addresses (testdata/lab.txtpb).
  std::string spec_path;
  // Logs, request logs, child logs. Created if missing.
  std::string workdir;
  double time_scale = 1.0;
  // Fault file (lab/faults/faults.proto); empty: no faults.
  std::string faults_path;
  // Written (atomically) with every listener once all are up; empty: none.
  std::string ready_file;
  // HOST:PORT of the admin endpoint.
  std::string admin_address = kDefaultAdminAddress;
  // Bind every listener to port 0 (tests); real ports in the ready file.
  bool any_port = false;
  // Modules to run; empty: all registered.
  std::vector<std::string> modules;
  // "module.key" -> value (--module_opt).
  std::map<std::string, std::string> module_options;
};

class Lab {
 public:
  // Reads spec and fault file, checks options. InvalidArgument for bad input
  // (parse errors with FILE:LINE:COL, an unknown module, a bad time scale).
  static absl::StatusOr<std::unique_ptr<Lab>> Create(const LabOptions& options);
  ~Lab();
  Lab(const Lab&) = delete;
  Lab& operator=(const Lab&) = delete;

  // Starts modules (in registry order) and the admin endpoint, then writes
  // the ready file. On error everything started is stopped again.
  absl::Status Start();
  // Stops the admin endpoint, modules (reverse order), the scheduler and all
  // child processes. Idempotent.
  void Stop();

  // {"pid":N,"admin":"H:P","workdir":"...","time_scale":x,
  //  "modules":{"echo":{"http":"H:P"}}}
  std::string ReadyJson() const;

  World& world() { return *world_; }
  FaultInjector& faults() { return *faults_; }
  // nullptr for a module that is not running.
  RequestLog* requests(const std::string& module);
  const LatencyModel& latency() const { return latency_; }
  // One line to stderr and <workdir>/lab.log.
  void Log(const std::string& line);

 private:
  struct RunningModule {
    std::string name;
    std::unique_ptr<RequestLog> requests;
    ModuleContext context;
    std::unique_ptr<Module> module;
  };

  Lab(LabOptions options, LatencyModel latency);
  void StartAdmin();

  LabOptions options_;
  coldstart::v1::Cluster spec_;
  LatencyModel latency_;
  std::unique_ptr<FaultInjector> faults_;
  std::unique_ptr<ThreadScheduler> scheduler_;
  std::unique_ptr<World> world_;
  std::unique_ptr<Supervisor> processes_;
  std::vector<std::unique_ptr<RunningModule>> modules_;
  std::unique_ptr<ModuleServer> admin_;
  bool stopped_ = false;
  absl::Mutex log_mu_;
  std::FILE* log_file_ ABSL_GUARDED_BY(log_mu_) = nullptr;
};

}  // namespace coldstart::lab

#endif  // COLDSTART_LAB_LABD_LAB_H_
