#include "lab/world/scheduler.h"

#include <string>
#include <vector>

#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace coldstart::lab {
namespace {

using ::testing::ElementsAre;

const absl::Time kStart = absl::UnixEpoch() + absl::Hours(1);

TEST(VirtualSchedulerTest, RunsInDueTimeOrderAtExactTimes) {
  VirtualScheduler scheduler(kStart);
  std::vector<std::string> ran;
  auto record = [&](std::string name) {
    return [&, name] {
      ran.push_back(name + "@" +
                    absl::FormatDuration(scheduler.Now() - kStart));
    };
  };
  scheduler.ScheduleAfter(absl::Seconds(38), record("boot"));
  scheduler.ScheduleAfter(absl::Seconds(15), record("create"));
  scheduler.ScheduleAfter(absl::Seconds(15), record("create-2"));
  scheduler.ScheduleAfter(-absl::Seconds(1), record("now"));
  EXPECT_EQ(scheduler.pending(), 4);
  EXPECT_EQ(scheduler.AdvanceBy(absl::Seconds(15)), 3);
  EXPECT_THAT(ran, ElementsAre("now@0", "create@15s", "create-2@15s"));
  EXPECT_EQ(scheduler.Now(), kStart + absl::Seconds(15));
  EXPECT_EQ(scheduler.AdvanceBy(absl::Seconds(22)), 0);
  EXPECT_EQ(scheduler.Now(), kStart + absl::Seconds(37));
  EXPECT_EQ(scheduler.AdvanceBy(absl::Seconds(10)), 1);
  EXPECT_EQ(ran.back(), "boot@38s");
  EXPECT_EQ(scheduler.Now(), kStart + absl::Seconds(47));
}

TEST(VirtualSchedulerTest, CallbacksMayScheduleMore) {
  VirtualScheduler scheduler(kStart);
  std::vector<absl::Duration> at;
  scheduler.ScheduleAfter(absl::Seconds(1), [&] {
    at.push_back(scheduler.Now() - kStart);
    scheduler.ScheduleAfter(absl::Seconds(2),
                            [&] { at.push_back(scheduler.Now() - kStart); });
  });
  EXPECT_EQ(scheduler.RunUntilIdle(), 2);
  EXPECT_THAT(at, ElementsAre(absl::Seconds(1), absl::Seconds(3)));
  EXPECT_EQ(scheduler.Now(), kStart + absl::Seconds(3));
}

TEST(ThreadSchedulerTest, RunsCallbacksInDueOrder) {
  ThreadScheduler scheduler;
  std::vector<int> order;
  absl::Mutex mu;
  absl::Notification done;
  // Later-due first; both due in the past or near future.
  scheduler.ScheduleAfter(absl::Milliseconds(30), [&] {
    absl::MutexLock lock(&mu);
    order.push_back(2);
    done.Notify();
  });
  scheduler.ScheduleAfter(absl::ZeroDuration(), [&] {
    absl::MutexLock lock(&mu);
    order.push_back(1);
  });
  done.WaitForNotification();
  absl::MutexLock lock(&mu);
  EXPECT_THAT(order, ElementsAre(1, 2));
}

TEST(ThreadSchedulerTest, ShutdownDropsPendingWork) {
  bool ran = false;
  {
    ThreadScheduler scheduler;
    scheduler.ScheduleAfter(absl::Hours(1), [&] { ran = true; });
    scheduler.Shutdown();
    scheduler.ScheduleAfter(absl::ZeroDuration(), [&] { ran = true; });
  }
  EXPECT_FALSE(ran);
}

}  // namespace
}  // namespace coldstart::lab
