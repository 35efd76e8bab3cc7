#include "lib/base/poll.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "absl/random/random.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace coldstart {

absl::Duration Backoff::Delay(int retry, double uniform01) const {
  const double factor = std::pow(multiplier, std::max(0, retry - 1));
  absl::Duration delay = initial * factor;
  if (!(delay < max)) delay = max;  // also catches overflow to infinity
  const double j = std::clamp(jitter, 0.0, 1.0);
  return delay * (1.0 - j * std::clamp(uniform01, 0.0, 1.0));
}

void StopSignal::Stop(absl::Status why) {
  absl::MutexLock lock(&mu_);
  if (stopped_) return;
  stopped_ = true;
  reason_ = why.ok() ? absl::CancelledError("stopped") : std::move(why);
}

bool StopSignal::stopped() const {
  absl::MutexLock lock(&mu_);
  return stopped_;
}

absl::Status StopSignal::reason() const {
  absl::MutexLock lock(&mu_);
  return reason_;
}

bool StopSignal::SleepFor(Clock& clock, absl::Duration duration) const {
  if (&clock != Clock::Real()) {
    if (stopped()) return true;
    clock.SleepFor(duration);
    return stopped();
  }
  absl::MutexLock lock(&mu_);
  const bool* stopped = &stopped_;
  return mu_.AwaitWithTimeout(absl::Condition(stopped), duration);
}

bool IsTransient(const absl::Status& status) {
  return status.code() == absl::StatusCode::kUnavailable ||
         status.code() == absl::StatusCode::kDeadlineExceeded;
}

namespace {

std::string Seconds(absl::Duration d) {
  return absl::FormatDuration(absl::Trunc(d, absl::Milliseconds(100)));
}

absl::Status Stopped(const PollOptions& options) {
  return absl::CancelledError(absl::StrCat(
      options.what, ": stopped: ", options.stop->reason().message()));
}

}  // namespace

absl::Status Poll(const PollOptions& options,
                  absl::FunctionRef<absl::Status(PollAttempt&)> attempt) {
  Clock& clock = options.clock != nullptr ? *options.clock : *Clock::Real();
  absl::BitGen gen;
  auto uniform = [&] {
    return options.uniform01 ? options.uniform01()
                             : absl::Uniform<double>(gen, 0.0, 1.0);
  };
  auto retryable = [&](const absl::Status& s) {
    return options.retryable ? options.retryable(s) : IsTransient(s);
  };
  const absl::Time start = clock.Now();
  const absl::Time deadline =
      options.deadline.value_or(start + options.timeout);
  absl::Time next_progress = start + absl::Seconds(1);

  for (int number = 1;; ++number) {
    if (options.stop != nullptr && options.stop->stopped()) {
      return Stopped(options);
    }
    PollAttempt state;
    state.number = number;
    state.remaining = deadline - clock.Now();
    absl::Status outcome = attempt(state);
    if (outcome.ok() || !retryable(outcome)) return outcome;

    const absl::Time now = clock.Now();
    auto give_up = [&](absl::StatusCode code, absl::string_view why) {
      return absl::Status(
          code, absl::StrCat(options.what, ": gave up after ", number,
                             number == 1 ? " attempt" : " attempts", " over ",
                             Seconds(now - start), " (", why,
                             "); last: ", outcome.message()));
    };
    if (options.max_attempts > 0 && number >= options.max_attempts) {
      return give_up(absl::StatusCode::kUnavailable,
                     absl::StrCat("max ", options.max_attempts, " attempts"));
    }
    absl::Duration delay = options.backoff.Delay(number, uniform());
    if (state.retry_after.has_value()) {
      delay = std::max(delay, *state.retry_after);
    }
    if (now + delay >= deadline) {
      return give_up(absl::StatusCode::kDeadlineExceeded,
                     absl::StrCat("deadline reached; next attempt was due in ",
                                  Seconds(delay)));
    }
    if (options.progress && now >= next_progress) {
      options.progress(absl::StrCat("waiting for ", options.what, ": ",
                                    Seconds(now - start),
                                    " so far; last: ", outcome.message()));
      next_progress = now + options.progress_every;
    }
    if (options.stop != nullptr) {
      if (options.stop->SleepFor(clock, delay)) return Stopped(options);
    } else {
      clock.SleepFor(delay);
    }
  }
}

}  // namespace coldstart
