// How talos-bootstrap reports its steps and waits, on the run frame
// (lib/cli/tool_run.h): every step is a start/end pair in run.events() (with
// the node name for per-node steps), every wait one lib/base/poll.h Poll.
#ifndef COLDSTART_TOOLS_TALOS_BOOTSTRAP_RUN_STEPS_H_
#define COLDSTART_TOOLS_TALOS_BOOTSTRAP_RUN_STEPS_H_

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "lib/base/poll.h"
#include "lib/cli/tool_run.h"

namespace coldstart {

// Runs `body` as the step `step` (of `node`, empty for cluster-wide steps):
// a start record, then an end record with body's outcome, which is returned.
absl::Status RunStep(ToolRun& run, absl::string_view step,
                     absl::string_view node,
                     absl::FunctionRef<absl::Status()> body);

// True for the errors a converging cluster gives while it is still coming
// up, which talos-bootstrap waits out: Unavailable and DeadlineExceeded (not
// answering yet), Cancelled and Aborted (apid or the API server restarting
// mid-call).
bool IsRetriedWhileConverging(const absl::Status& status);

// Poll options for a wait of talos-bootstrap: the run's clock and progress
// lines, the phase's `deadline` (shared by the waits of one phase), the
// IsRetriedWhileConverging predicate, and `stop` (may be null) to end the
// wait early.
PollOptions ConvergenceWait(ToolRun& run, absl::string_view what,
                            absl::Time deadline,
                            const StopSignal* stop = nullptr);

}  // namespace coldstart

#endif  // COLDSTART_TOOLS_TALOS_BOOTSTRAP_RUN_STEPS_H_
