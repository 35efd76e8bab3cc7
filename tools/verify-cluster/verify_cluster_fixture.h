// The fixture of verify-cluster's tests: the lab's Kubernetes API simulator
// with the lab spec's nodes registered, the lab spec as --in, scenarios
// played on a fake clock, and RealMain run with captured stdout/stderr.
#ifndef COLDSTART_TOOLS_VERIFY_CLUSTER_VERIFY_CLUSTER_FIXTURE_H_
#define COLDSTART_TOOLS_VERIFY_CLUSTER_VERIFY_CLUSTER_FIXTURE_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "lab/kube/scenario.h"
#include "lab/kube/test_server.h"
#include "lib/testing/fake_clock.h"
#include "nlohmann/json.hpp"
#include "proto/coldstart/v1/cluster.pb.h"
#include "tools/verify-cluster/verify_cluster.h"

namespace coldstart {

// The lab spec's node `node` as its kubelet registers it.
nlohmann::json NodeObject(const v1::Node& node, bool ready);

// A FakeClock that also moves scenario time: every sleep calls `on_sleep`.
class ScenarioClock : public FakeClock {
 public:
  void SleepFor(absl::Duration duration) override {
    FakeClock::SleepFor(duration);
    if (on_sleep) on_sleep(duration);
  }
  std::function<void(absl::Duration)> on_sleep;
};

class VerifyClusterFixture : public ::testing::Test {
 protected:
  void SetUp() override;

  // Plays `scenario` (lab/kube/testdata/scenarios/) up to scenario time
  // `until`; later steps stay pending. With `follow_clock`, each sleep of
  // the run moves scenario time on by as much.
  void Play(const std::string& scenario, absl::Duration until,
            bool follow_clock = false);
  void AdvanceTo(absl::Duration scenario_time);

  // --in the lab spec, --kubeconfig the simulator's.
  VerifyOptions Options() const;
  // RealMain; stdout into out_, stderr into err_, `cluster` parsed from
  // stdout when given.
  absl::Status Verify(const VerifyOptions& options,
                      v1::Cluster* cluster = nullptr);

  std::string dir_, spec_text_, in_path_, out_, err_;
  std::unique_ptr<lab::TestKubeApi> sim_;
  v1::Cluster cluster_;
  ScenarioClock clock_;
  std::vector<lab::LoadedStep> pending_;
  absl::Duration scenario_time_;
};

}  // namespace coldstart

#endif  // COLDSTART_TOOLS_VERIFY_CLUSTER_VERIFY_CLUSTER_FIXTURE_H_
