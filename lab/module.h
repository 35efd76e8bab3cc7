// The module boundary of the lab (lab/README.md, "Modules"). A module is one
// simulator (pve, factory, talos, kube, ...). It gets everything it may use
// through ModuleContext; it talks to other modules only through the World
// (publish what happened, subscribe to what it reacts to), never directly.
#ifndef COLDSTART_LAB_MODULE_H_
#define COLDSTART_LAB_MODULE_H_

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "lab/faults/fault_injector.h"
#include "lab/http/request_log.h"
#include "lab/process/supervisor.h"
#include "lab/world/latency.h"
#include "lab/world/scheduler.h"
#include "lab/world/world.h"
#include "proto/coldstart/v1/cluster.pb.h"

namespace coldstart::lab {

// Everything a module may use. Pointers are owned by the Lab and outlive the
// module.
struct ModuleContext {
  // The lab's spec (normally testdata/lab.txtpb): addresses to listen on.
  const coldstart::v1::Cluster* spec = nullptr;
  World* world = nullptr;
  // Delayed work; use latency for every simulated duration.
  Scheduler* scheduler = nullptr;
  const LatencyModel* latency = nullptr;
  // Never null (empty when labd runs without --faults).
  FaultInjector* faults = nullptr;
  // Real child servers; their logs go to <workdir>/logs/.
  Supervisor* processes = nullptr;
  // This module's request log (<workdir>/requests/<module>.jsonl).
  RequestLog* requests = nullptr;
  std::string workdir;
  // Bind port 0 (any free port) instead of the spec's port: for tests, so
  // labs never collide. The real ports are in Listeners() / the ready file.
  bool any_port = false;
  // This module's --module_opt values ("echo.child=X" -> {"child", "X"}).
  std::map<std::string, std::string> options;
  // One line to the lab log (stderr and <workdir>/lab.log). Never secrets.
  std::function<void(const std::string&)> log;
};

class Module {
 public:
  virtual ~Module() = default;
  // Starts listening (and any child servers). Returns when every listener
  // accepts connections. The context outlives the module.
  virtual absl::Status Start(ModuleContext& context) = 0;
  // Listener name -> "address:port" actually bound, e.g. {"http":
  // "127.0.10.250:8080"}. Valid after Start.
  virtual std::map<std::string, std::string> Listeners() const = 0;
  // Stops listeners and children; idempotent.
  virtual void Stop() = 0;
};

struct ModuleRegistration {
  // Module name: in fault endpoints, request logs, --modules, the ready file.
  std::string name;
  // One line for `labd --list_modules` and the README.
  std::string summary;
  std::function<std::unique_ptr<Module>()> create;
};

}  // namespace coldstart::lab

#endif  // COLDSTART_LAB_MODULE_H_
