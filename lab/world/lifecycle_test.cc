#include "lab/world/lifecycle.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace coldstart::lab {
namespace {

using ::testing::ElementsAre;

const absl::Time kStart = absl::UnixEpoch();

// The world on a virtual clock, time scale 0.5, and a log "offset event" of
// everything that happens.
class LifecycleTest : public ::testing::Test {
 protected:
  LifecycleTest()
      : scheduler_(kStart),
        world_([this] { return scheduler_.Now(); }),
        latency_(*LatencyModel::Create(0.5)) {
    InstallLifecycle(
        {{{"ctrl-1", "127.0.1.1"}, {"worker-1", "127.0.2.1"}}, "127.0.3.1"},
        world_, scheduler_, latency_);
    world_.SubscribeAll([this](const Event& e) {
      log_.push_back(absl::StrCat(absl::FormatDuration(e.time - kStart), " ",
                                  Describe(e.payload)));
    });
  }

  VirtualScheduler scheduler_;
  World world_;
  LatencyModel latency_;
  std::vector<std::string> log_;
};

TEST_F(LifecycleTest, ColdStartHappensInCausalOrderAtScaledTimes) {
  world_.Publish(VmStarted{1500, "ctrl-1"});
  scheduler_.AdvanceBy(absl::Seconds(5));
  world_.Publish(VmStarted{2000, "worker-1"});
  scheduler_.RunUntilIdle();  // both boot: 19 s and 24 s
  world_.Publish(ConfigApplied{"ctrl-1", true});
  world_.Publish(EtcdBootstrapped{"ctrl-1"});
  scheduler_.RunUntilIdle();  // VIP 5 s later
  world_.Publish(CniRolledOut{});
  scheduler_.AdvanceBy(absl::Seconds(1));
  world_.Publish(ConfigApplied{"worker-1", false});  // applied after the CNI
  scheduler_.RunUntilIdle();
  EXPECT_THAT(
      log_,
      ElementsAre("0 VmStarted vmid=1500 name=ctrl-1",
                  "5s VmStarted vmid=2000 name=worker-1",
                  "19s NodeBooted node=ctrl-1 ip=127.0.1.1",
                  "24s NodeBooted node=worker-1 ip=127.0.2.1",
                  "24s ConfigApplied node=ctrl-1 control_plane=1",
                  "24s EtcdBootstrapped node=ctrl-1",
                  "29s VipUp address=127.0.3.1", "29s CniRolledOut",
                  "30s ConfigApplied node=worker-1 control_plane=0",
                  "49s NodeReady node=ctrl-1", "50s NodeReady node=worker-1"));
  EXPECT_EQ(world_.State().nodes["worker-1"].stage, NodeStage::kReady);
}

TEST_F(LifecycleTest, StoppedVmNeverBoots) {
  world_.Publish(VmStarted{1500, "ctrl-1"});
  scheduler_.AdvanceBy(absl::Seconds(10));
  world_.Publish(VmStopped{1500, "ctrl-1"});
  scheduler_.RunUntilIdle();
  EXPECT_THAT(log_, ElementsAre("0 VmStarted vmid=1500 name=ctrl-1",
                                "10s VmStopped vmid=1500 name=ctrl-1"));
}

TEST_F(LifecycleTest, RestartedVmBootsOnceFromItsLastStart) {
  world_.Publish(VmStarted{1500, "ctrl-1"});
  scheduler_.AdvanceBy(absl::Seconds(10));
  world_.Publish(VmStopped{1500, "ctrl-1"});
  world_.Publish(VmStarted{1500, "ctrl-1"});
  scheduler_.RunUntilIdle();
  EXPECT_THAT(log_, ElementsAre("0 VmStarted vmid=1500 name=ctrl-1",
                                "10s VmStopped vmid=1500 name=ctrl-1",
                                "10s VmStarted vmid=1500 name=ctrl-1",
                                "29s NodeBooted node=ctrl-1 ip=127.0.1.1"));
}

}  // namespace
}  // namespace coldstart::lab
