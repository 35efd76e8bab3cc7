// The time source and sleep every wait in coldstart goes through, so tests
// can run hours of backoff in microseconds with a fake clock
// (lib/testing/fake_clock.h).
#ifndef COLDSTART_LIB_BASE_CLOCK_H_
#define COLDSTART_LIB_BASE_CLOCK_H_

#include "absl/time/time.h"

namespace coldstart {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual absl::Time Now() = 0;
  // Blocks for `duration` (a fake clock advances instead). Non-positive
  // durations return at once.
  virtual void SleepFor(absl::Duration duration) = 0;
  // The process-wide real clock (absl::Now, absl::SleepFor); never null.
  static Clock* Real();
};

}  // namespace coldstart

#endif  // COLDSTART_LIB_BASE_CLOCK_H_
