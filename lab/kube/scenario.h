// Plays a layer-2 scenario (scenario.proto) into an ApiServer over time.
#ifndef COLDSTART_LAB_KUBE_SCENARIO_H_
#define COLDSTART_LAB_KUBE_SCENARIO_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "lab/kube/api_server.h"
#include "lab/kube/scenario.pb.h"
#include "lab/world/scheduler.h"

namespace coldstart::lab {

struct LoadedStep {
  // Real-world offset from the start (unscaled).
  absl::Duration at;
  std::vector<Json> apply;
  std::vector<kube::ObjectRef> remove;
  std::string note;
};

struct LoadedScenario {
  kube::ObjectRef trigger;
  // Ordered by `at` (stable: file order within one time).
  std::vector<LoadedStep> steps;
};

// Reads a scenario text file, its includes and every apply_file.
// InvalidArgument with file:line:col for malformed text or YAML, NotFound
// for a missing file, InvalidArgument for an include cycle.
absl::StatusOr<LoadedScenario> LoadScenarioFile(const std::string& path);

// Applies one step now. Errors name the step's note and the object.
absl::Status ApplyStep(ApiServer& api, const LoadedStep& step);

// Schedules every step at start + at * time_scale on `scheduler`; `log`
// gets one line per step (may be null). Failures of a step are logged, not
// fatal. `api`, `scheduler` must outlive the scheduled callbacks.
void PlayScenario(const LoadedScenario& scenario, ApiServer& api,
                  Scheduler& scheduler, double time_scale,
                  std::function<void(const std::string&)> log);

}  // namespace coldstart::lab

#endif  // COLDSTART_LAB_KUBE_SCENARIO_H_
