#include "lab/world/latency.h"

#include <cmath>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace coldstart::lab {

const std::vector<StepLatency>& DefaultLatencies() {
  static const auto* const kLatencies = new std::vector<StepLatency>{
      {Step::kImageDownload, "image-download", absl::Seconds(30),
       "facts: image download ~30 s"},
      {Step::kVmCreate, "vm-create", absl::Seconds(15),
       "facts: VM create ~15 s"},
      {Step::kBoot, "boot", absl::Seconds(38), "facts: Talos boot ~38 s"},
      {Step::kConfigApply, "config-apply", absl::Seconds(5),
       "lab split of 'Ready ~75 s after apply'"},
      {Step::kEtcdBootstrap, "etcd-bootstrap", absl::Seconds(20),
       "lab split of 'Ready ~75 s after apply'"},
      {Step::kVipUp, "vip-up", absl::Seconds(10),
       "lab split of 'Ready ~75 s after apply'"},
      {Step::kCniRollout, "cni-ready", absl::Seconds(40),
       "lab split of 'Ready ~75 s after apply'"},
  };
  return *kLatencies;
}

absl::StatusOr<LatencyModel> LatencyModel::Create(double time_scale) {
  if (!std::isfinite(time_scale) || time_scale < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "time scale must be a finite number >= 0, got ", time_scale));
  }
  return LatencyModel(time_scale);
}

absl::Duration LatencyModel::Base(Step step) const {
  for (const StepLatency& s : DefaultLatencies()) {
    if (s.step == step) return s.base;
  }
  return absl::ZeroDuration();
}

absl::Duration LatencyModel::Delay(Step step) const {
  return Scale(Base(step));
}

absl::Duration LatencyModel::Scale(absl::Duration d) const {
  return d * time_scale_;
}

std::vector<PathSegment> LatencyModel::CriticalPath() const {
  std::vector<PathSegment> path;
  absl::Duration at = absl::ZeroDuration();
  for (const StepLatency& s : DefaultLatencies()) {
    absl::Duration d = Scale(s.base);
    path.push_back({s.step, s.name, at, at + d});
    at += d;
  }
  return path;
}

std::string LatencyModel::FormatCriticalPath() const {
  std::vector<PathSegment> path = CriticalPath();
  std::string out = absl::StrFormat(
      "# ideal cold-start critical path, time scale %g\n", time_scale_);
  absl::StrAppendFormat(&out, "%-16s %10s %10s %10s\n", "step", "start", "end",
                        "duration");
  for (const PathSegment& p : path) {
    absl::StrAppendFormat(
        &out, "%-16s %10s %10s %10s\n", p.name, absl::FormatDuration(p.start),
        absl::FormatDuration(p.end), absl::FormatDuration(p.end - p.start));
  }
  absl::StrAppendFormat(&out, "%-16s %10s %10s %10s\n", "total", "", "",
                        absl::FormatDuration(path.empty() ? absl::ZeroDuration()
                                                          : path.back().end));
  return out;
}

}  // namespace coldstart::lab
