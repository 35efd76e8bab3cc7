// Delayed work for the lab: "this happens 0.38 s from now". Two clocks behind
// one interface: ThreadScheduler (real time, one background thread; labd) and
// VirtualScheduler (time moves only when a test advances it, so tests can
// assert exact scheduled times without sleeping).
//
// Contract of both: a callback runs once, on the scheduler's thread (virtual:
// the thread that advances), no earlier than its due time; callbacks due at
// the same time run in the order they were scheduled. Callbacks may schedule
// more work. Thread-safe.
#ifndef COLDSTART_LAB_WORLD_SCHEDULER_H_
#define COLDSTART_LAB_WORLD_SCHEDULER_H_

#include <cstdint>
#include <functional>
#include <map>
#include <thread>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace coldstart::lab {

class Scheduler {
 public:
  virtual ~Scheduler() = default;
  virtual absl::Time Now() const = 0;
  // Runs `fn` at Now() + max(delay, 0).
  virtual void ScheduleAfter(absl::Duration delay,
                             std::function<void()> fn) = 0;
};

// Time stands still until AdvanceBy / RunUntilIdle.
class VirtualScheduler : public Scheduler {
 public:
  explicit VirtualScheduler(absl::Time start = absl::UnixEpoch());

  absl::Time Now() const override;
  void ScheduleAfter(absl::Duration delay, std::function<void()> fn) override;

  // Runs every callback due up to Now() + d (moving Now() to each one's due
  // time as it runs), then sets Now() to the old Now() + d. Returns how many
  // ran.
  int AdvanceBy(absl::Duration d);
  // Runs callbacks in time order until none is left (Now() ends at the last
  // one's due time). Returns how many ran.
  int RunUntilIdle();
  int pending() const;

 private:
  // Pops the earliest callback due at or before `limit`; false if none.
  bool PopDue(absl::Time limit, std::function<void()>* fn);

  mutable absl::Mutex mu_;
  absl::Time now_ ABSL_GUARDED_BY(mu_);
  uint64_t next_order_ ABSL_GUARDED_BY(mu_) = 0;
  std::map<std::pair<absl::Time, uint64_t>, std::function<void()>> queue_
      ABSL_GUARDED_BY(mu_);
};

// Real time; callbacks run on one background thread. Destruction (or
// Shutdown) stops the thread and drops callbacks not yet due.
class ThreadScheduler : public Scheduler {
 public:
  ThreadScheduler();
  ~ThreadScheduler() override;
  ThreadScheduler(const ThreadScheduler&) = delete;
  ThreadScheduler& operator=(const ThreadScheduler&) = delete;

  absl::Time Now() const override;
  void ScheduleAfter(absl::Duration delay, std::function<void()> fn) override;
  // Waits for a running callback to finish; idempotent. Must not be called
  // from a callback.
  void Shutdown();

 private:
  void Run();

  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t next_order_ ABSL_GUARDED_BY(mu_) = 0;
  std::map<std::pair<absl::Time, uint64_t>, std::function<void()>> queue_
      ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

}  // namespace coldstart::lab

#endif  // COLDSTART_LAB_WORLD_SCHEDULER_H_
