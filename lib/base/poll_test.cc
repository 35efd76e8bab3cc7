#include "lib/base/poll.h"

#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/testing/fake_clock.h"

namespace coldstart {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

PollOptions FakeOptions(FakeClock& clock) {
  PollOptions options;
  options.what = "the thing";
  options.clock = &clock;
  options.backoff.initial = absl::Milliseconds(100);
  options.backoff.max = absl::Seconds(1);
  return options;
}

TEST(PollTest, FirstAttemptIsImmediateAndSuccessEndsThePoll) {
  FakeClock clock;
  int calls = 0;
  absl::Status status = Poll(FakeOptions(clock), [&](PollAttempt&) {
    ++calls;
    return absl::OkStatus();
  });
  EXPECT_TRUE(status.ok());
  EXPECT_EQ(calls, 1);
  EXPECT_TRUE(clock.sleeps.empty());
}

TEST(PollTest, TransientErrorsAreRetriedWithExponentialBackoffCappedAtMax) {
  FakeClock clock;
  int calls = 0;
  absl::Status status = Poll(FakeOptions(clock), [&](PollAttempt& attempt) {
    EXPECT_EQ(attempt.number, calls + 1);
    return ++calls < 6 ? absl::UnavailableError("not yet") : absl::OkStatus();
  });
  EXPECT_TRUE(status.ok()) << status;
  EXPECT_THAT(clock.sleeps,
              ElementsAre(absl::Milliseconds(100), absl::Milliseconds(200),
                          absl::Milliseconds(400), absl::Milliseconds(800),
                          absl::Seconds(1)));
}

TEST(PollTest, NonRetryableErrorIsReturnedUnchangedAtOnce) {
  FakeClock clock;
  int calls = 0;
  absl::Status status = Poll(FakeOptions(clock), [&](PollAttempt&) {
    ++calls;
    return absl::PermissionDeniedError("no");
  });
  EXPECT_EQ(status, absl::PermissionDeniedError("no"));
  EXPECT_EQ(calls, 1);
}

TEST(PollTest, CustomRetryablePredicateDecides) {
  FakeClock clock;
  PollOptions options = FakeOptions(clock);
  options.retryable = [](const absl::Status& s) {
    return s.code() == absl::StatusCode::kNotFound;
  };
  int calls = 0;
  absl::Status status = Poll(options, [&](PollAttempt&) {
    ++calls;
    return calls == 1 ? absl::NotFoundError("missing")
                      : absl::UnavailableError("down");
  });
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(calls, 2);
}

TEST(PollTest, DeadlineEndsThePollWithTheLastReason) {
  FakeClock clock;
  PollOptions options = FakeOptions(clock);
  options.timeout = absl::Seconds(3);
  absl::Status status = Poll(options, [&](PollAttempt&) {
    return absl::UnavailableError("state stopped");
  });
  EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_THAT(status.message(), HasSubstr("the thing: gave up after"));
  EXPECT_THAT(status.message(), HasSubstr("last: state stopped"));
  absl::Duration slept;
  for (absl::Duration d : clock.sleeps) slept += d;
  EXPECT_LT(slept, absl::Seconds(3));
}

TEST(PollTest, SharedAbsoluteDeadlineWinsOverTimeout) {
  FakeClock clock;
  PollOptions options = FakeOptions(clock);
  options.timeout = absl::Hours(1);
  options.deadline = clock.now + absl::Milliseconds(250);
  int calls = 0;
  absl::Status status = Poll(options, [&](PollAttempt&) {
    ++calls;
    return absl::UnavailableError("x");
  });
  EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(calls, 2);  // at 0 and 100 ms; the next (300 ms) is past 250 ms
}

TEST(PollTest, MaxAttemptsGivesUpAsUnavailable) {
  FakeClock clock;
  PollOptions options = FakeOptions(clock);
  options.max_attempts = 3;
  int calls = 0;
  absl::Status status = Poll(options, [&](PollAttempt&) {
    ++calls;
    return absl::DeadlineExceededError("slow");
  });
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(status.message(), HasSubstr("after 3 attempts"));
  EXPECT_EQ(calls, 3);
}

TEST(PollTest, RetryAfterLengthensTheNextDelay) {
  FakeClock clock;
  int calls = 0;
  absl::Status status = Poll(FakeOptions(clock), [&](PollAttempt& attempt) {
    if (++calls == 1) {
      attempt.retry_after = absl::Seconds(7);
      return absl::UnavailableError("429");
    }
    return absl::OkStatus();
  });
  EXPECT_TRUE(status.ok());
  EXPECT_THAT(clock.sleeps, ElementsAre(absl::Seconds(7)));
}

TEST(PollTest, JitterShortensDelaysByAtMostItsFraction) {
  Backoff backoff;
  backoff.initial = absl::Seconds(1);
  backoff.max = absl::Seconds(10);
  backoff.jitter = 0.25;
  EXPECT_EQ(backoff.Delay(1, 0.0), absl::Seconds(1));
  EXPECT_EQ(backoff.Delay(1, 1.0), absl::Milliseconds(750));
  EXPECT_EQ(backoff.Delay(3, 0.5), absl::Milliseconds(3500));
  EXPECT_EQ(backoff.Delay(60, 0.0), absl::Seconds(10));
}

TEST(PollTest, StopBeforeAnAttemptIsCancelledWithTheReason) {
  FakeClock clock;
  StopSignal stop;
  PollOptions options = FakeOptions(clock);
  options.stop = &stop;
  int calls = 0;
  absl::Status status = Poll(options, [&](PollAttempt&) {
    if (++calls == 2) stop.Stop(absl::AbortedError("ctrl-1 failed"));
    return absl::UnavailableError("booting");
  });
  EXPECT_EQ(status.code(), absl::StatusCode::kCancelled);
  EXPECT_THAT(status.message(), HasSubstr("stopped: ctrl-1 failed"));
  EXPECT_EQ(calls, 2);
}

TEST(PollTest, StopWakesARealSleepAtOnce) {
  StopSignal stop;
  PollOptions options;
  options.what = "workers";
  options.timeout = absl::Hours(2);
  options.backoff.initial = absl::Hours(1);  // would sleep an hour
  options.backoff.max = absl::Hours(1);
  options.stop = &stop;
  std::thread stopper([&] {
    absl::SleepFor(absl::Milliseconds(50));
    stop.Stop(absl::AbortedError("control plane failed"));
  });
  absl::Status status = Poll(options, [&](PollAttempt&) {
    return absl::UnavailableError("not ready");
  });
  stopper.join();
  EXPECT_EQ(status.code(), absl::StatusCode::kCancelled);
}

TEST(PollTest, ProgressLinesAfterOneSecondThenEveryInterval) {
  FakeClock clock;
  PollOptions options = FakeOptions(clock);
  options.timeout = absl::Seconds(30);
  options.backoff.initial = absl::Seconds(1);
  options.backoff.max = absl::Seconds(1);
  options.progress_every = absl::Seconds(10);
  std::vector<std::string> lines;
  options.progress = [&](absl::string_view line) { lines.emplace_back(line); };
  int calls = 0;
  ASSERT_TRUE(Poll(options, [&](PollAttempt&) {
                return ++calls < 15 ? absl::UnavailableError("booting")
                                    : absl::OkStatus();
              }).ok());
  ASSERT_EQ(lines.size(), 2u);  // at 1 s and at 11 s
  EXPECT_THAT(lines[0], HasSubstr("waiting for the thing: 1s so far; last: "
                                  "booting"));
}

TEST(PollTest, NoProgressLineForAShortWait) {
  FakeClock clock;
  PollOptions options = FakeOptions(clock);
  int lines = 0;
  options.progress = [&](absl::string_view) { ++lines; };
  int calls = 0;
  ASSERT_TRUE(Poll(options, [&](PollAttempt&) {
                return ++calls < 3 ? absl::UnavailableError("x")
                                   : absl::OkStatus();
              }).ok());
  EXPECT_EQ(lines, 0);
}

}  // namespace
}  // namespace coldstart
