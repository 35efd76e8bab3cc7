#include "tools/talos-bootstrap/run_steps.h"

namespace coldstart {

absl::Status RunStep(ToolRun& run, absl::string_view step,
                     absl::string_view node,
                     absl::FunctionRef<absl::Status()> body) {
  const Events::StepId id = run.events().Start(step, node);
  absl::Status status = body();
  run.events().End(id, status);
  return status;
}

bool IsRetriedWhileConverging(const absl::Status& status) {
  return absl::IsUnavailable(status) || absl::IsDeadlineExceeded(status) ||
         absl::IsCancelled(status) || absl::IsAborted(status);
}

PollOptions ConvergenceWait(ToolRun& run, absl::string_view what,
                            absl::Time deadline, const StopSignal* stop) {
  PollOptions options = run.PollFor(what, deadline - run.clock().Now());
  options.deadline = deadline;
  options.retryable = IsRetriedWhileConverging;
  options.stop = stop;
  options.backoff.initial = absl::Milliseconds(50);
  options.backoff.max = absl::Seconds(2);
  options.backoff.jitter = 0.2;
  return options;
}

}  // namespace coldstart
