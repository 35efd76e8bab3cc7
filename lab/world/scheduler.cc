#include "lab/world/scheduler.h"

#include <algorithm>

namespace coldstart::lab {

VirtualScheduler::VirtualScheduler(absl::Time start) : now_(start) {}

absl::Time VirtualScheduler::Now() const {
  absl::MutexLock lock(&mu_);
  return now_;
}

void VirtualScheduler::ScheduleAfter(absl::Duration delay,
                                     std::function<void()> fn) {
  absl::MutexLock lock(&mu_);
  queue_.emplace(std::make_pair(now_ + std::max(delay, absl::ZeroDuration()),
                                next_order_++),
                 std::move(fn));
}

bool VirtualScheduler::PopDue(absl::Time limit, std::function<void()>* fn) {
  absl::MutexLock lock(&mu_);
  if (queue_.empty() || queue_.begin()->first.first > limit) return false;
  auto it = queue_.begin();
  now_ = std::max(now_, it->first.first);
  *fn = std::move(it->second);
  queue_.erase(it);
  return true;
}

int VirtualScheduler::AdvanceBy(absl::Duration d) {
  absl::Time limit = Now() + d;
  int ran = 0;
  std::function<void()> fn;
  while (PopDue(limit, &fn)) {
    fn();
    ++ran;
  }
  absl::MutexLock lock(&mu_);
  now_ = std::max(now_, limit);
  return ran;
}

int VirtualScheduler::RunUntilIdle() {
  int ran = 0;
  std::function<void()> fn;
  while (PopDue(absl::InfiniteFuture(), &fn)) {
    fn();
    ++ran;
  }
  return ran;
}

int VirtualScheduler::pending() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(queue_.size());
}

ThreadScheduler::ThreadScheduler() : thread_([this] { Run(); }) {}

ThreadScheduler::~ThreadScheduler() { Shutdown(); }

absl::Time ThreadScheduler::Now() const { return absl::Now(); }

void ThreadScheduler::ScheduleAfter(absl::Duration delay,
                                    std::function<void()> fn) {
  absl::MutexLock lock(&mu_);
  if (stopping_) return;
  queue_.emplace(
      std::make_pair(absl::Now() + std::max(delay, absl::ZeroDuration()),
                     next_order_++),
      std::move(fn));
}

void ThreadScheduler::Shutdown() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    queue_.clear();
  }
  if (thread_.joinable()) thread_.join();
}

void ThreadScheduler::Run() {
  while (true) {
    std::function<void()> fn;
    {
      absl::MutexLock lock(&mu_);
      while (true) {
        if (stopping_) return;
        if (!queue_.empty() && queue_.begin()->first.first <= absl::Now()) {
          break;
        }
        // Wake when something is scheduled or stopping; re-check the
        // earliest due time at least every 10 ms.
        absl::Time wake = absl::Now() + absl::Milliseconds(10);
        if (!queue_.empty()) {
          wake = std::min(wake, queue_.begin()->first.first);
        }
        uint64_t seen = next_order_;
        auto changed = [this, seen]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
          return stopping_ || next_order_ != seen;
        };
        mu_.AwaitWithDeadline(absl::Condition(&changed), wake);
      }
      auto it = queue_.begin();
      fn = std::move(it->second);
      queue_.erase(it);
    }
    fn();
  }
}

}  // namespace coldstart::lab
