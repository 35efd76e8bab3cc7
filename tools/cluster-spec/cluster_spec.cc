#include "tools/cluster-spec/cluster_spec.h"

#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "lib/base/file.h"
#include "lib/base/status_macros.h"
#include "lib/cli/cli.h"
#include "lib/cli/events.h"
#include "lib/cli/spec_validation.h"
#include "tools/cluster-spec/lab_map.h"
#include "tools/cluster-spec/plan.h"

namespace coldstart {
namespace {

constexpr char kTool[] = "cluster-spec";

absl::Status CheckOptions(const ClusterSpecOptions& options) {
  if (options.command != "validate" && options.command != "plan" &&
      options.command != "lab-map") {
    return absl::InvalidArgumentError(
        absl::StrCat(kTool, ": unknown command \"", Abbreviate(options.command),
                     "\" (use validate, plan or lab-map; see --help)"));
  }
  if (options.command == "lab-map" && !options.common.state.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        kTool,
        ": lab-map does not take --state (it would replace the spec with its "
        "lab copy); use --in FILE and redirect stdout"));
  }
  return CheckCommonOptions(options.common);
}

// Events of the run, to --events only: cluster-spec's stderr is for
// problems.
absl::StatusOr<std::unique_ptr<Events>> OpenEvents(
    const ClusterSpecOptions& options, ToolIo& io) {
  EventsOptions events;
  events.tool = kTool;
  events.stderr_stream = nullptr;
  events.events_path = options.common.events;
  events.clock = io.clock;
  absl::StatusOr<std::unique_ptr<Events>> created =
      Events::Create(std::move(events));
  if (!created.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--events: ", created.status().message()));
  }
  return created;
}

absl::Status WritePlan(const v1::Cluster& cluster, OutputFormat format,
                       std::ostream& out) {
  out << (format == OutputFormat::kJson ? RenderPlanJson(cluster)
                                        : RenderPlan(cluster));
  out.flush();
  if (!out) return absl::UnavailableError("writing to stdout failed");
  return absl::OkStatus();
}

absl::Status WriteLabMap(ClusterSession& session, const std::string& ca_file,
                         std::ostream& out) {
  ASSIGN_OR_RETURN(v1::Cluster lab, LabMap(session.input().cluster, ca_file));
  std::vector<SpecProblem> problems = ValidateCluster(lab);
  if (!problems.empty()) {
    return absl::InternalError(
        absl::StrCat("lab-map produced an invalid spec (a bug): ",
                     problems[0].path.ToString(), ": ", problems[0].message));
  }
  return session.Write(lab, out);
}

absl::Status RunCommand(const ClusterSpecOptions& options, std::ostream& out) {
  ASSIGN_OR_RETURN(ClusterSession session,
                   ClusterSession::Open(options.common));
  if (options.command == "plan") {
    return WritePlan(session.input().cluster, options.common.output, out);
  }
  if (options.command == "lab-map") {
    return WriteLabMap(session, options.lab_ca_file, out);
  }
  // validate: a dry run never writes the state file.
  if (options.common.dry_run && !options.common.state.empty()) {
    return absl::OkStatus();
  }
  return session.Write(session.input().cluster, out);
}

}  // namespace

absl::Status RealMain(const ClusterSpecOptions& options, ToolIo& io) {
  RETURN_IF_ERROR(CheckOptions(options));
  ASSIGN_OR_RETURN(std::unique_ptr<Events> events, OpenEvents(options, io));
  const Events::StepId step = events->Start(options.command);
  const absl::Status status = RunCommand(options, io.out);
  events->End(step, status);
  return status;
}

}  // namespace coldstart
