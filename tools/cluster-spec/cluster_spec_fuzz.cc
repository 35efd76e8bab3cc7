// Fuzzes the input path of every tool: parse a Cluster from text, validate
// it, and for a valid spec render the plan and the lab mapping. Nothing may
// crash, and a spec that validates must still validate after lab-map.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "lib/cli/cluster_textproto.h"
#include "lib/cli/spec_validation.h"
#include "tools/cluster-spec/lab_map.h"
#include "tools/cluster-spec/plan.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<coldstart::ParsedCluster> parsed =
      coldstart::ParseClusterText(text, "fuzz");
  if (!parsed.ok()) return 0;
  const std::vector<coldstart::SpecProblem> problems =
      coldstart::ValidateCluster(parsed->cluster);
  (void)coldstart::FormatProblems(*parsed, problems);
  if (!problems.empty()) return 0;
  (void)coldstart::RenderPlan(parsed->cluster);
  (void)coldstart::RenderPlanJson(parsed->cluster);
  absl::StatusOr<coldstart::v1::Cluster> lab =
      coldstart::LabMap(parsed->cluster, "ca.pem");
  if (lab.ok() && !coldstart::ValidateCluster(*lab).empty()) std::abort();
  return 0;
}
