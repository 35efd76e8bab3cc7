#include "tools/verify-cluster/verify_cluster.h"

#include <sys/wait.h>

#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lab/kube/scenario.h"
#include "lab/kube/test_server.h"
#include "lib/cli/cluster_textproto.h"
#include "nlohmann/json.hpp"

namespace coldstart {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using Json = nlohmann::json;

std::string Runfile(const std::string& rel) {
  return absl::StrCat(std::getenv("TEST_SRCDIR"), "/",
                      std::getenv("TEST_WORKSPACE"), "/", rel);
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The lab spec's nodes as the kubelets register them.
Json NodeObject(const v1::Node& n, bool ready) {
  Json labels = {{"kubernetes.io/hostname", n.name()}};
  if (n.role() == v1::NODE_ROLE_CONTROL_PLANE) {
    labels["node-role.kubernetes.io/control-plane"] = "";
  }
  return {{"apiVersion", "v1"},
          {"kind", "Node"},
          {"metadata", {{"name", n.name()}, {"labels", labels}}},
          {"status",
           {{"conditions",
             {{{"type", "Ready"},
               {"status", ready ? "True" : "False"},
               {"reason", ready ? "KubeletReady" : "KubeletNotReady"}}}},
            {"nodeInfo", {{"kubeletVersion", "v1.32.1"}}}}}};
}

class VerifyClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = absl::StrCat(
        std::getenv("TEST_TMPDIR"), "/",
        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    ASSERT_EQ(
        system(absl::StrCat("rm -rf ", dir_, "; mkdir -p ", dir_).c_str()), 0);
    auto sim = lab::StartTestKubeApi(dir_);
    ASSERT_TRUE(sim.ok()) << sim.status();
    sim_ = std::move(*sim);
    auto spec = ReadClusterFile(Runfile("testdata/lab.txtpb"));
    ASSERT_TRUE(spec.ok()) << spec.status();
    cluster_ = spec->cluster;
    for (const v1::Node& n : cluster_.spec().nodes()) {
      ASSERT_TRUE(sim_->api->Apply(NodeObject(n, true)).ok());
    }
    in_path_ = absl::StrCat(dir_, "/in.txtpb");
    std::ofstream(in_path_) << ReadAll(Runfile("testdata/lab.txtpb"));
  }

  // Plays `scenario` up to scenario time `until`; later steps stay pending.
  void Play(const std::string& scenario, absl::Duration until) {
    auto loaded = lab::LoadScenarioFile(
        Runfile(absl::StrCat("lab/kube/testdata/scenarios/", scenario)));
    ASSERT_TRUE(loaded.ok()) << loaded.status();
    pending_ = loaded->steps;
    AdvanceTo(until);
  }
  void AdvanceTo(absl::Duration t) {
    while (!pending_.empty() && pending_.front().at <= t) {
      absl::Status s = lab::ApplyStep(*sim_->api, pending_.front());
      ASSERT_TRUE(s.ok()) << s;
      pending_.erase(pending_.begin());
    }
  }

  VerifyOptions Options() {
    VerifyOptions o;
    o.common.in = in_path_;
    o.kubeconfig = sim_->kubeconfig_path;
    return o;
  }

  absl::Status Verify(VerifyOptions o, v1::Cluster* out_cluster = nullptr) {
    std::ostringstream out, err;
    absl::Status s = RealMain(o, out, err);
    table_ = err.str();
    if (out_cluster != nullptr) {
      auto parsed = ParseClusterText(out.str(), "<out>");
      EXPECT_TRUE(parsed.ok()) << parsed.status();
      if (parsed.ok()) *out_cluster = parsed->cluster;
    }
    return s;
  }

  std::string dir_, in_path_, table_;
  std::unique_ptr<lab::TestKubeApi> sim_;
  v1::Cluster cluster_;
  std::vector<lab::LoadedStep> pending_;
};

TEST_F(VerifyClusterTest, HealthyScenarioPassesEveryCheck) {
  Play("healthy.txtpb", absl::Hours(1));
  v1::Cluster out;
  absl::Status s = Verify(Options(), &out);
  ASSERT_TRUE(s.ok()) << s << "\n" << table_;
  ASSERT_EQ(out.status().verify().results_size(), 9);
  EXPECT_TRUE(out.status().verify().passed());
  for (const v1::CheckResult& r : out.status().verify().results()) {
    EXPECT_EQ(r.outcome(), v1::OUTCOME_OK) << r.name() << ": " << r.message();
  }
  EXPECT_THAT(table_, HasSubstr("nodes-ready"));
  EXPECT_THAT(table_, HasSubstr("5 nodes Ready (3 control-plane, 2 worker), "
                                "kubelet v1.32.1"));
}

TEST_F(VerifyClusterTest, DefaultChecksPassOnHealthyScenario) {
  Play("healthy.txtpb", absl::Hours(1));
  cluster_.mutable_spec()->clear_verify();
  std::ofstream(in_path_) << *FormatCluster(cluster_, OutputFormat::kTextproto);
  v1::Cluster out;
  absl::Status s = Verify(Options(), &out);
  ASSERT_TRUE(s.ok()) << s << "\n" << table_;
  EXPECT_EQ(out.status().verify().results_size(), 11);
}

TEST_F(VerifyClusterTest, NoLayer2FailsWithReasons) {
  absl::Status s = Verify(Options());
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(table_, HasSubstr("gitrepositories.source.toolkit.fluxcd.io not "
                                "served: Flux"));
  EXPECT_THAT(table_, HasSubstr("StorageClass proxmox-csi: not found"));
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
  EXPECT_TRUE(Verify(o, &out).ok()) << table_;
  EXPECT_EQ(out.status().verify().results_size(), 2);
  o.gates = {"nope"};
  absl::Status bad = Verify(o);
  EXPECT_EQ(bad.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.message(), HasSubstr("selects no check"));
}

TEST_F(VerifyClusterTest, WaitTurnsGreenWhenScenarioHeals) {
  Play("heals.txtpb", absl::Seconds(40));  // vault-0 crash-looping
  absl::Time now = absl::UnixEpoch();
  absl::Duration scenario_time = absl::Seconds(40);
  VerifyOptions o = Options();
  o.wait = absl::Minutes(2);
  o.now = [&] { return now; };
  o.sleep = [&](absl::Duration d) {
    now += d;
    scenario_time += d;
    AdvanceTo(scenario_time);
  };
  v1::Cluster out;
  absl::Status s = Verify(o, &out);
  ASSERT_TRUE(s.ok()) << s << "\n" << table_;
  EXPECT_GT(out.status().verify().results(0).attempts(), 1u);
  EXPECT_THAT(table_, HasSubstr("check(s) failing; retrying"));
}

TEST_F(VerifyClusterTest, WaitReportsLastFailureAtDeadline) {
  Play("heals.txtpb", absl::Seconds(40));
  absl::Time now = absl::UnixEpoch();
  absl::Duration scenario_time = absl::Seconds(40);
  VerifyOptions o = Options();
  o.wait = absl::Seconds(30);  // heals at 100 s: too late
  o.now = [&] { return now; };
  o.sleep = [&](absl::Duration d) {
    now += d;
    scenario_time += d;
    AdvanceTo(scenario_time);
  };
  absl::Status s = Verify(o);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("after waiting 30s"));
  EXPECT_THAT(s.message(),
              HasSubstr("vault/vault-0: Running/CrashLoopBackOff"));
}

TEST_F(VerifyClusterTest, JunitFile) {
  Play("missing_secret.txtpb", absl::Hours(1));
  VerifyOptions o = Options();
  o.junit_path = absl::StrCat(dir_, "/junit.xml");
  (void)Verify(o);
  std::string xml = ReadAll(o.junit_path);
  EXPECT_THAT(xml, HasSubstr("tests=\"9\" failures=\"1\""));
  EXPECT_THAT(xml, HasSubstr("<testcase classname=\"services\" "
                             "name=\"authentik-bootstrap\">"));
  EXPECT_THAT(xml, HasSubstr("not found</failure>"));
}

// The real binary: exit codes 0 / 1 / 2, table on stderr, JSON on stdout.
int RunBinary(const std::string& args, std::string* out, std::string* err,
              const std::string& dir) {
  std::string o = absl::StrCat(dir, "/bin.out"),
              e = absl::StrCat(dir, "/bin.err");
  int status =
      system(absl::StrCat(Runfile("tools/verify-cluster/verify-cluster"), " ",
                          args, " >", o, " 2>", e)
                 .c_str());
  *out = ReadAll(o);
  *err = ReadAll(e);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST_F(VerifyClusterTest, BinaryExitCodes) {
  Play("healthy.txtpb", absl::Hours(1));
  std::string out, err;
  std::string common =
      absl::StrCat("--in ", in_path_, " --kubeconfig ", sim_->kubeconfig_path);
  EXPECT_EQ(RunBinary(absl::StrCat(common, " -o json"), &out, &err, dir_), 0)
      << err;
  Json j = Json::parse(out);
  EXPECT_EQ(j["status"]["verify"]["passed"], true);
  EXPECT_THAT(err, HasSubstr("CHECK"));

  ASSERT_TRUE(
      sim_->api->Delete("v1", "Secret", "authentik", "authentik-bootstrap")
          .ok());
  EXPECT_EQ(RunBinary(common, &out, &err, dir_), 1);
  EXPECT_THAT(err, HasSubstr("FAILED  Secret authentik/authentik-bootstrap: "
                             "not found"));
  EXPECT_THAT(out, HasSubstr("outcome: OUTCOME_FAILED"));

  EXPECT_EQ(RunBinary(absl::StrCat(common, " --gate bogus"), &out, &err, dir_),
            2);
  EXPECT_EQ(RunBinary(absl::StrCat(common, " --wait xyz"), &out, &err, dir_),
            2);
  EXPECT_EQ(RunBinary(absl::StrCat("--in ", dir_, "/missing.txtpb"), &out, &err,
                      dir_),
            2);
}

}  // namespace
}  // namespace coldstart
