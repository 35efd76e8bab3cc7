#include "lab/world/world.h"

#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace coldstart::lab {
namespace {

using ::testing::ElementsAre;

TEST(WorldTest, TypedSubscriberSeesOnlyItsType) {
  World world([] { return absl::UnixEpoch(); });
  std::vector<int> started;
  world.Subscribe<VmStarted>(
      [&](const VmStarted& e) { started.push_back(e.vmid); });
  world.Publish(VmCreated{1500, "ctrl-1"});
  world.Publish(VmStarted{1500, "ctrl-1"});
  world.Publish(VmStopped{1500, "ctrl-1"});
  world.Publish(VmStarted{1501, "ctrl-2"});
  EXPECT_THAT(started, ElementsAre(1500, 1501));
}

TEST(WorldTest, SequenceNumbersAndHistoryFollowPublishOrder) {
  World world([] { return absl::UnixEpoch() + absl::Seconds(7); });
  EXPECT_EQ(world.Publish(VmCreated{1, "a"}), 1u);
  EXPECT_EQ(world.Publish(VmStarted{1, "a"}), 2u);
  EXPECT_EQ(world.Publish(NodeBooted{"a", "127.0.1.1"}), 3u);
  std::vector<std::string> lines;
  for (const Event& e : world.History()) {
    EXPECT_EQ(e.time, absl::UnixEpoch() + absl::Seconds(7));
    lines.push_back(std::to_string(e.seq) + " " + Describe(e.payload));
  }
  EXPECT_THAT(lines, ElementsAre("1 VmCreated vmid=1 name=a",
                                 "2 VmStarted vmid=1 name=a",
                                 "3 NodeBooted node=a ip=127.0.1.1"));
}

TEST(WorldTest, EventPublishedBySubscriberIsDeliveredAfterCurrentEvent) {
  World world([] { return absl::UnixEpoch(); });
  std::vector<std::string> seen;
  // First subscriber reacts to VmStarted by publishing NodeBooted.
  world.SubscribeAll([&](const Event& e) {
    seen.push_back("first:" + Describe(e.payload));
    if (std::holds_alternative<VmStarted>(e.payload)) {
      world.Publish(NodeBooted{"a", "127.0.1.1"});
    }
  });
  world.SubscribeAll(
      [&](const Event& e) { seen.push_back("second:" + Describe(e.payload)); });
  world.Publish(VmStarted{1, "a"});
  // Both subscribers saw VmStarted before anyone saw NodeBooted.
  EXPECT_THAT(seen, ElementsAre("first:VmStarted vmid=1 name=a",
                                "second:VmStarted vmid=1 name=a",
                                "first:NodeBooted node=a ip=127.0.1.1",
                                "second:NodeBooted node=a ip=127.0.1.1"));
}

TEST(WorldTest, UnsubscribedReceivesNothingMore) {
  World world([] { return absl::UnixEpoch(); });
  int calls = 0;
  World::SubscriptionId id =
      world.Subscribe<CniRolledOut>([&](const CniRolledOut&) { ++calls; });
  world.Publish(CniRolledOut{});
  world.Unsubscribe(id);
  world.Publish(CniRolledOut{});
  EXPECT_EQ(calls, 1);
}

TEST(WorldTest, SubscriberAddedLaterSeesOnlyLaterEvents) {
  World world([] { return absl::UnixEpoch(); });
  world.Publish(VipUp{"127.0.3.1"});
  std::vector<std::string> vips;
  world.Subscribe<VipUp>([&](const VipUp& e) { vips.push_back(e.address); });
  world.Publish(VipUp{"127.0.3.2"});
  EXPECT_THAT(vips, ElementsAre("127.0.3.2"));
}

TEST(WorldTest, StateFollowsEvents) {
  World world([] { return absl::UnixEpoch(); });
  world.Publish(VmCreated{1500, "ctrl-1"});
  world.Publish(VmStarted{1500, "ctrl-1"});
  world.Publish(NodeBooted{"ctrl-1", "127.0.1.1"});
  world.Publish(ConfigApplied{"ctrl-1", true});
  world.Publish(EtcdBootstrapped{"ctrl-1"});
  world.Publish(VipUp{"127.0.3.1"});
  world.Publish(VipUp{"127.0.3.1"});
  ClusterCas cas;
  cas.kubernetes_ca_cert_pem = "CERT";
  cas.kubernetes_ca_key_pem = "KEY";
  world.Publish(ClusterCasShared{cas});
  WorldState s = world.State();
  ASSERT_EQ(s.vms.count(1500), 1u);
  EXPECT_TRUE(s.vms[1500].running);
  EXPECT_EQ(s.vms[1500].started_seq, 2u);
  EXPECT_EQ(s.nodes["ctrl-1"].stage, NodeStage::kConfigured);
  EXPECT_EQ(s.nodes["ctrl-1"].ip, "127.0.1.1");
  EXPECT_TRUE(s.nodes["ctrl-1"].control_plane);
  EXPECT_EQ(s.etcd_bootstrapped_on, "ctrl-1");
  EXPECT_THAT(s.vips_up, ElementsAre("127.0.3.1"));
  ASSERT_TRUE(s.cas.has_value());
  EXPECT_EQ(s.cas->kubernetes_ca_cert_pem, "CERT");

  world.Publish(VmStopped{1500, "ctrl-1"});
  s = world.State();
  EXPECT_FALSE(s.vms[1500].running);
  EXPECT_EQ(s.nodes["ctrl-1"].stage, NodeStage::kOff);
  world.Publish(VmDeleted{1500, "ctrl-1"});
  s = world.State();
  EXPECT_EQ(s.vms.count(1500), 0u);
  EXPECT_EQ(s.nodes.count("ctrl-1"), 0u);
}

TEST(WorldTest, DescribeNeverPrintsKeyMaterial) {
  ClusterCas cas;
  cas.talos_ca_key_pem = "-----BEGIN PRIVATE KEY-----secret";
  EXPECT_EQ(Describe(ClusterCasShared{cas}),
            "ClusterCasShared talos kubernetes etcd");
}

// Many threads publish at once: every subscriber sees every event exactly
// once, all in the same order, and that order is the sequence order.
TEST(WorldTest, ConcurrentPublishersDeliverInSequenceOrderToEverySubscriber) {
  World world([] { return absl::UnixEpoch(); });
  absl::Mutex mu;
  std::vector<uint64_t> a, b;
  world.SubscribeAll([&](const Event& e) {
    absl::MutexLock lock(&mu);
    a.push_back(e.seq);
  });
  world.SubscribeAll([&](const Event& e) {
    absl::MutexLock lock(&mu);
    b.push_back(e.seq);
  });
  constexpr int kThreads = 8;
  constexpr int kPerThread = 200;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&world, t] {
      for (int i = 0; i < kPerThread; ++i) {
        world.Publish(VmCreated{t * 1000 + i, "vm"});
      }
    });
  }
  for (std::thread& t : threads) t.join();
  absl::MutexLock lock(&mu);
  ASSERT_EQ(a.size(), static_cast<size_t>(kThreads * kPerThread));
  EXPECT_EQ(a, b);
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i], i + 1);
}

}  // namespace
}  // namespace coldstart::lab
