// Decides, per call to a simulator, whether a fault rule (faults.proto) fires,
// and keeps a record of every firing.
//
//   ASSIGN_OR_RETURN(FaultFile file, ReadFaultFile("faults.txtpb"));
//   ASSIGN_OR_RETURN(auto faults, FaultInjector::Create(file));
//   FaultDecision d = faults->Decide("pve", "POST",
//   "/api2/json/nodes/pve/qemu"); if (d.fired()) ...   // apply d.rule's kind
//
// HTTP modules get this done by lab/http's ModuleServer; gRPC and task-based
// modules call Decide themselves and apply the kinds the HTTP frame cannot
// (task_error, proxmox_lock_timeout SHAPE_TASK, grpc_status, and drop_reply
// through RunWithGrpcFault in lab/faults/grpc_fault.h).
#ifndef COLDSTART_LAB_FAULTS_FAULT_INJECTOR_H_
#define COLDSTART_LAB_FAULTS_FAULT_INJECTOR_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "lab/faults/faults.pb.h"
#include "re2/re2.h"

namespace coldstart::lab {

// Parses a fault file (text format). InvalidArgument with FILE:LINE:COL for
// parse errors, NotFound if it cannot be read.
absl::StatusOr<FaultFile> ReadFaultFile(const std::string& path);
absl::StatusOr<FaultFile> ParseFaultFile(absl::string_view text,
                                         absl::string_view filename);

// The exact Proxmox lock-timeout text for `vmid`.
std::string ProxmoxLockTimeoutText(int vmid);

// A glob of faults.proto (`*`, `**`, `?`) as an RE2 pattern.
std::string GlobToRegex(absl::string_view glob);

struct FaultDecision {
  // The rule that fired; nullopt when none did.
  std::optional<FaultRule> rule;
  // Which watched call of that rule this was (1-based).
  uint64_t call = 0;

  bool fired() const { return rule.has_value(); }
  // The error text a task started by this call must end with: the
  // task_error message, or the Proxmox lock text for proxmox_lock_timeout
  // in SHAPE_TASK (with `vmid` when the rule names none). Empty when this
  // decision does not fail a task.
  std::string TaskErrorText(int vmid) const;
};

struct FaultFiring {
  std::string rule;
  std::string module;
  std::string method;
  std::string path;
  uint64_t call = 0;
  // The rule's kind, e.g. "http_status", "delay".
  std::string kind;
  absl::Time time;
};

// One line for the lab log, e.g. `fault "x" (http_status) fired on call 2:
// echo:GET /echo`.
std::string Describe(const FaultFiring& firing);
// Kind name of a rule ("http_status", "connection_reset", ...).
std::string KindName(const FaultRule& rule);

class FaultInjector {
 public:
  // Validates the rules: InvalidArgument for a missing/duplicate name, both
  // or neither of endpoint/endpoint_regex, a bad regex, a probability
  // outside [0, 1], a nth_call of 0, a missing kind.
  static absl::StatusOr<std::unique_ptr<FaultInjector>> Create(
      const FaultFile& file);

  // Called (outside the injector's lock) for every firing, in firing order
  // per thread. Set before the first Decide.
  void set_on_fire(std::function<void(const FaultFiring&)> on_fire) {
    on_fire_ = std::move(on_fire);
  }

  // Counts the call for every rule that watches it and returns the first
  // rule (in file order) that fires. Thread-safe.
  FaultDecision Decide(absl::string_view module, absl::string_view method,
                       absl::string_view path);

  std::vector<FaultFiring> Firings() const;
  // How often the rule named `rule` fired.
  int FiredCount(absl::string_view rule) const;

 private:
  struct CompiledRule {
    FaultRule rule;
    std::unique_ptr<RE2> pattern;
    uint64_t calls = 0;
    std::mt19937_64 random;
  };

  FaultInjector() = default;

  mutable absl::Mutex mu_;
  std::vector<CompiledRule> rules_ ABSL_GUARDED_BY(mu_);
  std::vector<FaultFiring> firings_ ABSL_GUARDED_BY(mu_);
  std::function<void(const FaultFiring&)> on_fire_;
};

}  // namespace coldstart::lab

#endif  // COLDSTART_LAB_FAULTS_FAULT_INJECTOR_H_
