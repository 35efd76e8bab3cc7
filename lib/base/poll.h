// One polling loop for every wait and retry in coldstart: a deadline,
// exponential backoff with jitter, a retryable predicate, an early stop, and
// an injectable clock. The first attempt is immediate.
//
//   PollOptions options;
//   options.what = "VM 1500 (ctrl-1) to run";
//   options.timeout = absl::Minutes(5);
//   RETURN_IF_ERROR(Poll(options, [&](PollAttempt& attempt) -> absl::Status {
//     ASSIGN_OR_RETURN(std::string state, ReadPowerState());
//     if (state != "running") return absl::UnavailableError("state " + state);
//     return absl::OkStatus();
//   }));
#ifndef COLDSTART_LIB_BASE_POLL_H_
#define COLDSTART_LIB_BASE_POLL_H_

#include <functional>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "lib/base/clock.h"

namespace coldstart {

// Delay before retry number n (1 = after the first attempt):
// min(max, initial * multiplier^(n-1)) * (1 - jitter * U[0,1)).
struct Backoff {
  absl::Duration initial = absl::Milliseconds(100);
  absl::Duration max = absl::Seconds(5);
  double multiplier = 2.0;
  // Fraction of each delay drawn at random, in [0, 1].
  double jitter = 0.0;

  absl::Duration Delay(int retry, double uniform01) const;
};

// A stop request shared between a poller and whoever decides the wait is
// pointless (e.g. a failed control plane stops the workers' waits). Once
// stopped it stays stopped; a sleeping Poll wakes at once. Thread-safe.
class StopSignal {
 public:
  // The first reason wins; later calls do nothing.
  void Stop(absl::Status why);
  bool stopped() const;
  // The reason given to Stop (OK while not stopped).
  absl::Status reason() const;
  // Sleeps on `clock` for up to `duration`, returning early (true) when
  // stopped. With a non-real clock the sleep is delegated to it whole.
  bool SleepFor(Clock& clock, absl::Duration duration) const;

 private:
  mutable absl::Mutex mu_;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status reason_ ABSL_GUARDED_BY(mu_);
};

// What an attempt may tell the loop beyond its Status.
struct PollAttempt {
  // 1 for the first attempt.
  int number = 1;
  // Time left until the deadline when the attempt started.
  absl::Duration remaining = absl::InfiniteDuration();
  // Set by the attempt to wait at least this long before the next one (an
  // HTTP Retry-After).
  std::optional<absl::Duration> retry_after;
};

// True for Unavailable and DeadlineExceeded: the default retryable predicate.
bool IsTransient(const absl::Status& status);

struct PollOptions {
  // What is awaited, for progress lines and errors ("VM 1500 to run").
  std::string what;
  // Overall limit from the first attempt. `deadline`, when set, is used
  // instead (a deadline shared by several waits).
  absl::Duration timeout = absl::Minutes(5);
  std::optional<absl::Time> deadline;
  // Attempts in all; 0 means no limit but the deadline.
  int max_attempts = 0;
  Backoff backoff;
  // Which attempt errors are retried; default IsTransient. The others end
  // the poll at once with that error.
  std::function<bool(const absl::Status&)> retryable;
  // Early stop; may be null.
  const StopSignal* stop = nullptr;
  // nullptr: Clock::Real().
  Clock* clock = nullptr;
  // Uniform random in [0, 1) for jitter; default absl::BitGen.
  std::function<double()> uniform01;
  // Called with a human line ("waiting for VM 1500 to run: 3s so far; last:
  // state stopped") once the wait has lasted more than a second and then
  // every `progress_every`; may be empty.
  std::function<void(absl::string_view line)> progress;
  absl::Duration progress_every = absl::Seconds(10);
};

// Calls `attempt` until it returns OK (→ OK), a non-retryable error (→ that
// error unchanged), the deadline would pass before the next attempt (→
// DeadlineExceeded "WHAT: gave up after N attempts over T; last: MESSAGE"),
// max_attempts is reached (→ Unavailable, same shape), or `stop` fires (→
// Cancelled "WHAT: stopped: REASON"). The deadline is checked before each
// sleep, so no attempt starts after it.
absl::Status Poll(const PollOptions& options,
                  absl::FunctionRef<absl::Status(PollAttempt&)> attempt);

}  // namespace coldstart

#endif  // COLDSTART_LIB_BASE_POLL_H_
