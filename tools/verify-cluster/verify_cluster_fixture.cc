#include "tools/verify-cluster/verify_cluster_fixture.h"

#include <sstream>
#include <utility>

#include "absl/strings/str_cat.h"
#include "lib/base/environment.h"
#include "lib/cli/cluster_textproto.h"
#include "lib/cli/tool_run.h"
#include "lib/testing/files.h"

namespace coldstart {

using ::coldstart::testing::MakeTempDir;
using ::coldstart::testing::ReadTestFile;
using ::coldstart::testing::RunfilePath;
using ::coldstart::testing::WriteTestFile;

nlohmann::json NodeObject(const v1::Node& node, bool ready) {
  nlohmann::json labels = {{"kubernetes.io/hostname", node.name()}};
  if (node.role() == v1::NODE_ROLE_CONTROL_PLANE) {
    labels["node-role.kubernetes.io/control-plane"] = "";
  }
  return {{"apiVersion", "v1"},
          {"kind", "Node"},
          {"metadata", {{"name", node.name()}, {"labels", labels}}},
          {"status",
           {{"conditions",
             {{{"type", "Ready"},
               {"status", ready ? "True" : "False"},
               {"reason", ready ? "KubeletReady" : "KubeletNotReady"}}}},
            {"nodeInfo", {{"kubeletVersion", "v1.32.1"}}}}}};
}

void VerifyClusterFixture::SetUp() {
  dir_ = MakeTempDir("verify_cluster");
  absl::StatusOr<std::unique_ptr<lab::TestKubeApi>> sim =
      lab::StartTestKubeApi(dir_);
  ASSERT_TRUE(sim.ok()) << sim.status();
  sim_ = *std::move(sim);
  spec_text_ = ReadTestFile(RunfilePath("testdata/lab.txtpb"));
  absl::StatusOr<ParsedCluster> parsed = ParseClusterText(spec_text_, "lab");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  cluster_ = parsed->cluster;
  for (const v1::Node& node : cluster_.spec().nodes()) {
    ASSERT_TRUE(sim_->api->Apply(NodeObject(node, true)).ok());
  }
  in_path_ = absl::StrCat(dir_, "/in.txtpb");
  WriteTestFile(in_path_, spec_text_);
}

void VerifyClusterFixture::Play(const std::string& scenario,
                                absl::Duration until, bool follow_clock) {
  absl::StatusOr<lab::LoadedScenario> loaded = lab::LoadScenarioFile(
      RunfilePath(absl::StrCat("lab/kube/testdata/scenarios/", scenario)));
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  pending_ = loaded->steps;
  AdvanceTo(until);
  if (follow_clock) {
    clock_.on_sleep = [this](absl::Duration slept) {
      AdvanceTo(scenario_time_ + slept);
    };
  }
}

void VerifyClusterFixture::AdvanceTo(absl::Duration scenario_time) {
  scenario_time_ = scenario_time;
  while (!pending_.empty() && pending_.front().at <= scenario_time) {
    absl::Status applied = lab::ApplyStep(*sim_->api, pending_.front());
    ASSERT_TRUE(applied.ok()) << applied;
    pending_.erase(pending_.begin());
  }
}

VerifyOptions VerifyClusterFixture::Options() const {
  VerifyOptions options;
  options.common.in = in_path_;
  options.kube.kubeconfig = sim_->kubeconfig_path;
  return options;
}

absl::Status VerifyClusterFixture::Verify(const VerifyOptions& options,
                                          v1::Cluster* cluster) {
  std::ostringstream out, err;
  ToolIo io{out, err};
  io.clock = &clock_;
  io.environment = FixedEnvironment({});
  absl::Status status = RealMain(options, io);
  out_ = out.str();
  err_ = err.str();
  if (cluster != nullptr) {
    absl::StatusOr<ParsedCluster> parsed = ParseClusterText(out_, "<out>");
    EXPECT_TRUE(parsed.ok()) << parsed.status();
    if (parsed.ok()) *cluster = parsed->cluster;
  }
  return status;
}

}  // namespace coldstart
