// A Clock for tests: time stands still until a test moves `now` or code under
// test sleeps, which advances `now` by the sleep and records it.
#ifndef COLDSTART_LIB_TESTING_FAKE_CLOCK_H_
#define COLDSTART_LIB_TESTING_FAKE_CLOCK_H_

#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "lib/base/clock.h"

namespace coldstart {

class FakeClock : public Clock {
 public:
  FakeClock() = default;
  explicit FakeClock(absl::Time start) : now(start) {}

  absl::Time Now() override {
    absl::MutexLock lock(&mu_);
    return now;
  }
  void SleepFor(absl::Duration duration) override {
    absl::MutexLock lock(&mu_);
    if (duration > absl::ZeroDuration()) now += duration;
    sleeps.push_back(duration);
  }

  // Public so tests can set and move time directly (single-threaded tests;
  // code under test reaches it only through Now/SleepFor).
  absl::Time now = absl::FromUnixSeconds(1735689600);  // 2025-01-01
  std::vector<absl::Duration> sleeps;

 private:
  absl::Mutex mu_;
};

}  // namespace coldstart

#endif  // COLDSTART_LIB_TESTING_FAKE_CLOCK_H_
