// The lab's latency model: how long each step of a cold start takes on real
// hardware (the facts sheets' measured figures), times --time-scale. Every
// simulated delay in the lab comes from here, so one flag speeds up or slows
// down the whole world consistently, and the benchmark can compare a measured
// cold start against the ideal critical path this model implies.
#ifndef COLDSTART_LAB_WORLD_LATENCY_H_
#define COLDSTART_LAB_WORLD_LATENCY_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace coldstart::lab {

// The steps of a cold start, in critical-path order.
enum class Step {
  // Proxmox download-url of the Talos nocloud image (~30 s). It comes first:
  // VMs are created with import-from the downloaded image.
  kImageDownload,
  // Proxmox create/clone task incl. the disk import (~15 s; all VMs in
  // parallel).
  kVmCreate,
  // VM start -> Talos answers in maintenance mode (~38 s).
  kBoot,
  // ApplyConfiguration -> the node's API serves the config's PKI.
  kConfigApply,
  // Bootstrap -> etcd healthy.
  kEtcdBootstrap,
  // etcd healthy -> the API VIP answers.
  kVipUp,
  // CNI manifest applied -> nodes Ready.
  kCniRollout,
};

struct StepLatency {
  Step step;
  // Short name, e.g. "boot".
  const char* name;
  // Real-world duration (time scale 1).
  absl::Duration base;
  // Where the figure comes from.
  const char* source;
};

// Every step with its real-world default, in critical-path order. The facts
// sheets give "Ready ~75 s after apply" as one figure; the split of those
// 75 s into apply (5) + etcd (20) + VIP (10) + CNI (40) is the lab's
// assumption.
const std::vector<StepLatency>& DefaultLatencies();

struct PathSegment {
  Step step;
  std::string name;
  // Offsets from the start of the cold start, scaled.
  absl::Duration start;
  absl::Duration end;
};

class LatencyModel {
 public:
  // `time_scale` multiplies every latency: 0.01 makes the 38 s boot 0.38 s; 0
  // makes everything immediate. InvalidArgument for a negative or non-finite
  // scale.
  static absl::StatusOr<LatencyModel> Create(double time_scale);

  double time_scale() const { return time_scale_; }
  // Real-world duration of `step`.
  absl::Duration Base(Step step) const;
  // Base(step) * time_scale.
  absl::Duration Delay(Step step) const;
  // Any duration (e.g. a module's own task time) * time_scale.
  absl::Duration Scale(absl::Duration d) const;

  // The ideal cold start: every step in order, parallel per-VM work counted
  // once (VMs are created, booted and configured in parallel).
  std::vector<PathSegment> CriticalPath() const;
  // CriticalPath() as a table for people, ending in the total, e.g.
  //   step            start      end  duration
  //   image-download     0s      30s       30s
  //   ...
  //   total                            158s
  std::string FormatCriticalPath() const;

 private:
  explicit LatencyModel(double time_scale) : time_scale_(time_scale) {}
  double time_scale_;
};

}  // namespace coldstart::lab

#endif  // COLDSTART_LAB_WORLD_LATENCY_H_
