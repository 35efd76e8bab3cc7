#include "tools/verify-cluster/verify_cluster.h"

#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/cli/cluster_textproto.h"
#include "lib/testing/files.h"
#include "nlohmann/json.hpp"
#include "proto/coldstart/v1/cluster.pb.h"
#include "tools/verify-cluster/verify_cluster_fixture.h"

// The checks against the Kubernetes API simulator playing each scenario.
namespace coldstart {
namespace {

using ::coldstart::testing::ReadTestFile;
using ::coldstart::testing::WriteTestFile;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using Json = nlohmann::json;

using VerifyClusterTest = VerifyClusterFixture;

TEST_F(VerifyClusterTest, HealthyScenarioPassesEveryCheck) {
  Play("healthy.txtpb", absl::Hours(1));
  v1::Cluster out;
  absl::Status s = Verify(Options(), &out);
  ASSERT_TRUE(s.ok()) << s << "\n" << err_;
  ASSERT_EQ(out.status().verify().results_size(), 9);
  EXPECT_TRUE(out.status().verify().passed());
  for (const v1::CheckResult& r : out.status().verify().results()) {
    EXPECT_EQ(r.outcome(), v1::OUTCOME_OK) << r.name() << ": " << r.message();
  }
  EXPECT_THAT(err_, HasSubstr("nodes-ready"));
  EXPECT_THAT(err_, HasSubstr("5 nodes Ready (3 control-plane, 2 worker), "
                              "kubelet v1.32.1"));
}

TEST_F(VerifyClusterTest, DefaultChecksPassOnHealthyScenario) {
  Play("healthy.txtpb", absl::Hours(1));
  cluster_.mutable_spec()->clear_verify();
  WriteTestFile(in_path_, ClusterToText(cluster_));
  v1::Cluster out;
  absl::Status s = Verify(Options(), &out);
  ASSERT_TRUE(s.ok()) << s << "\n" << err_;
  EXPECT_EQ(out.status().verify().results_size(), 11);
}

TEST_F(VerifyClusterTest, NoLayer2FailsWithReasons) {
  absl::Status s = Verify(Options());
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(err_, HasSubstr("gitrepositories.source.toolkit.fluxcd.io not "
                              "served: Flux"));
  EXPECT_THAT(err_, HasSubstr("StorageClass proxmox-csi: not found"));
}

TEST_F(VerifyClusterTest, CrashLoopNamesThePod) {
  Play("crashloop.txtpb", absl::Hours(1));
  v1::Cluster out;
  absl::Status s = Verify(Options(), &out);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("pods-healthy: pod vault/vault-0: "
                                     "Running/CrashLoopBackOff, 7 restarts"));
  EXPECT_THAT(s.message(), HasSubstr("vault-pods: pod vault/vault-0"));
  int failed = 0;
  for (const v1::CheckResult& r : out.status().verify().results()) {
    if (r.outcome() == v1::OUTCOME_FAILED) ++failed;
  }
  EXPECT_EQ(failed, 2);
}

TEST_F(VerifyClusterTest, KustomizationFailureShowsMessage) {
  Play("kustomization_failed.txtpb", absl::Hours(1));
  absl::Status s = Verify(Options());
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(),
              HasSubstr("flux-ready: Kustomization flux-system/apps: "
                        "Ready=False BuildFailed: kustomize build failed"));
  EXPECT_THAT(s.message(), HasSubstr("1 of 9 checks failed"));
}

TEST_F(VerifyClusterTest, MissingSecret) {
  Play("missing_secret.txtpb", absl::Hours(1));
  absl::Status s = Verify(Options());
  EXPECT_THAT(s.message(), HasSubstr("authentik-bootstrap: Secret "
                                     "authentik/authentik-bootstrap: not "
                                     "found"));
  EXPECT_THAT(s.message(), HasSubstr("1 of 9 checks failed"));
}

TEST_F(VerifyClusterTest, WrongLoadBalancerIp) {
  Play("wrong_lb_ip.txtpb", absl::Hours(1));
  absl::Status s = Verify(Options());
  EXPECT_THAT(s.message(),
              HasSubstr("powerdns-external: Service dns-system/"
                        "powerdns-external: LoadBalancer IP 127.0.3.99, want "
                        "127.0.3.3"));
}

TEST_F(VerifyClusterTest, NodeNotReadyAndWrongVersion) {
  Play("healthy.txtpb", absl::Hours(1));
  Json n = NodeObject(cluster_.spec().nodes(4), false);
  n["status"]["nodeInfo"]["kubeletVersion"] = "v1.31.0";
  ASSERT_TRUE(sim_->api->Apply(n).ok());
  VerifyOptions o = Options();
  o.gates = {"nodes"};
  v1::Cluster out;
  absl::Status s = Verify(o, &out);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  ASSERT_EQ(out.status().verify().results_size(), 1);
  EXPECT_THAT(out.status().verify().results(0).failures(),
              ElementsAre("node worker-2: Ready=False KubeletNotReady",
                          "node worker-2: kubelet v1.31.0, want v1.32.1"));
}

TEST_F(VerifyClusterTest, GateSelectsSubsetAndUnknownGateIsBadInput) {
  Play("crashloop.txtpb", absl::Hours(1));
  VerifyOptions o = Options();
  o.gates = {"eso", "powerdns-external"};
  v1::Cluster out;
  EXPECT_TRUE(Verify(o, &out).ok()) << err_;
  EXPECT_EQ(out.status().verify().results_size(), 2);
  o.gates = {"nope"};
  absl::Status bad = Verify(o);
  EXPECT_EQ(bad.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.message(), HasSubstr("selects no check"));
}

TEST_F(VerifyClusterTest, WaitTurnsGreenWhenScenarioHeals) {
  // vault-0 crash-loops until scenario time 100 s.
  Play("heals.txtpb", absl::Seconds(40), /*follow_clock=*/true);
  VerifyOptions o = Options();
  o.wait = absl::Minutes(2);
  v1::Cluster out;
  absl::Status s = Verify(o, &out);
  ASSERT_TRUE(s.ok()) << s << "\n" << err_;
  EXPECT_GT(out.status().verify().results(0).attempts(), 1u);
  EXPECT_THAT(err_, HasSubstr("waiting for every selected check to pass"));
  EXPECT_GT(clock_.sleeps.size(), 1u);
}

TEST_F(VerifyClusterTest, WaitReportsLastFailureAtDeadline) {
  Play("heals.txtpb", absl::Seconds(40), /*follow_clock=*/true);
  VerifyOptions o = Options();
  o.wait = absl::Seconds(30);  // heals at 100 s: too late
  absl::Status s = Verify(o);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("(--wait 30s)"));
  EXPECT_THAT(s.message(),
              HasSubstr("vault/vault-0: Running/CrashLoopBackOff"));
}

TEST_F(VerifyClusterTest, JunitFile) {
  Play("missing_secret.txtpb", absl::Hours(1));
  VerifyOptions o = Options();
  o.junit_path = absl::StrCat(dir_, "/junit.xml");
  (void)Verify(o);
  std::string xml = ReadTestFile(o.junit_path);
  EXPECT_THAT(xml, HasSubstr("tests=\"9\" failures=\"1\""));
  EXPECT_THAT(xml, HasSubstr("<testcase classname=\"services\" "
                             "name=\"authentik-bootstrap\">"));
  EXPECT_THAT(xml, HasSubstr("not found</failure>"));
}

}  // namespace
}  // namespace coldstart
