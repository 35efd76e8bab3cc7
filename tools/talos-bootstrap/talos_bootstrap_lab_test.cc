// talos-bootstrap (the real binary) against labd (talos + headscale modules,
// nodes booted by talos.boot=all): a cold run on 5 nodes, a re-run that
// changes nothing, SIGKILL at several points then a converging re-run with
// etcd bootstrapped exactly once, and --dry-run.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "lab/testing/lab_fixture.h"
#include "lib/cluster_textproto.h"

namespace coldstart {
namespace {

using lab::LabProcess;
using lab::RequestRecord;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class TalosBootstrapLabTest : public ::testing::Test {
 protected:
  // Fault file for this test (text format); empty: none.
  virtual std::string Faults() { return ""; }

  void SetUp() override {
    lab::LabProcessOptions options;
    options.time_scale = 0.002;
    options.module_options = {"talos.boot=all"};
    options.faults = Faults();
    auto lab = LabProcess::Start(options);
    ASSERT_TRUE(lab.ok()) << lab.status();
    lab_ = std::move(*lab);
    dir_ = absl::StrCat(
        std::getenv("TEST_TMPDIR"), "/run-", getpid(), "-",
        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    mkdir(dir_.c_str(), 0700);
    // The spec with the lab's real ports.
    auto parsed = ParseClusterText(ReadFile("testdata/lab.txtpb"), "lab.txtpb");
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    coldstart::v1::Cluster cluster = parsed->cluster;
    const std::string talos = lab_->ModuleAddress("talos", "ctrl-1");
    ASSERT_FALSE(talos.empty());
    int port = std::stoi(talos.substr(talos.rfind(':') + 1));
    cluster.mutable_spec()->mutable_talos()->set_api_port(port);
    cluster.mutable_spec()->mutable_mesh()->set_headscale_url(
        "https://" + lab_->ModuleAddress("headscale", "https"));
    cluster.mutable_spec()->mutable_mesh()->set_ca_file(lab_->workdir() +
                                                        "/lab-ca.pem");
    cluster.mutable_spec()->mutable_talos()->set_kubeconfig_path(dir_ +
                                                                 "/kubeconfig");
    cluster.mutable_spec()->mutable_talos()->set_talosconfig_path(
        dir_ + "/talosconfig");
    cluster.mutable_spec()->mutable_talos()->clear_cilium_manifest();
    cluster.mutable_status()
        ->mutable_provision()
        ->mutable_image()
        ->set_schematic_id(
            "ce4c980550dd2ab1b17bbf2b08801c7eb59418eafe8f279833297925d67c7515");
    state_ = dir_ + "/state.txtpb";
    std::ofstream(state_) << ClusterToText(cluster);
    setenv("HEADSCALE_API_KEY",
           ReadFile(lab_->workdir() + "/headscale-api-key").c_str(), 1);
    setenv("COLDSTART_KEYSTORE", ("file:" + dir_ + "/keystore").c_str(), 1);
  }

  void TearDown() override {
    if (lab_) {
      auto exit = lab_->Stop();
      ASSERT_TRUE(exit.ok());
      EXPECT_EQ(exit->exit_code, 0);
      EXPECT_FALSE(exit->leftovers);
    }
  }

  // Starts the tool on the state file; returns its pid.
  pid_t Spawn(const std::vector<std::string>& extra = {}) {
    const std::string log = dir_ + "/tool.log";
    pid_t pid = fork();
    if (pid == 0) {
      int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
      dup2(fd, 2);
      int null = open("/dev/null", O_WRONLY);
      dup2(null, 1);
      std::vector<std::string> args = {
          lab::RunfilePath("tools/talos-bootstrap/talos-bootstrap"), "--state",
          state_, "--timeout", "60s"};
      args.insert(args.end(), extra.begin(), extra.end());
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
    return pid;
  }
  int RunTool(const std::vector<std::string>& extra = {}) {
    pid_t pid = Spawn(extra);
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  std::string ToolLog() { return ReadFile(dir_ + "/tool.log"); }

  int Count(const std::string& module, const std::string& path,
            int status = -1) {
    auto records = lab_->Requests(module);
    EXPECT_TRUE(records.ok());
    int n = 0;
    for (const RequestRecord& r : *records) {
      if (r.path == path && (status < 0 || r.status == status)) ++n;
    }
    return n;
  }
  int Writes(const std::string& module) {
    auto records = lab_->Requests(module);
    int n = 0;
    for (const RequestRecord& r : *records) {
      if (r.method == "POST" || r.method == "PUT" || r.method == "DELETE") ++n;
    }
    return n;
  }

  std::unique_ptr<LabProcess> lab_;
  std::string dir_, state_;
};

constexpr char kApply[] = "/machine.MachineService/ApplyConfiguration";
constexpr char kBootstrap[] = "/machine.MachineService/Bootstrap";

TEST_F(TalosBootstrapLabTest, ColdRunThenRerunChangesNothing) {
  ASSERT_EQ(RunTool(), 0) << ToolLog();
  EXPECT_EQ(Count("talos", kApply, 200), 5) << ToolLog();
  EXPECT_EQ(Count("talos", kBootstrap, 200), 1);
  EXPECT_GE(Count("headscale", "/api/v1/preauthkey", 200), 5);
  auto parsed = ParseClusterText(ReadFile(state_), "state");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  const auto& status = parsed->cluster.status().talos_bootstrap();
  EXPECT_TRUE(status.etcd_bootstrapped());
  EXPECT_EQ(status.bootstrap_node(), "ctrl-1");
  ASSERT_EQ(status.nodes_size(), 5);
  for (const auto& n : status.nodes()) {
    EXPECT_EQ(n.stage(), "configured") << n.name();
    EXPECT_EQ(n.config_sha256().size(), 64u);
  }
  // Outputs: 0600; kubeconfig server = the VIP; talosconfig endpoints = CPs.
  struct stat st;
  ASSERT_EQ(stat((dir_ + "/kubeconfig").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
  ASSERT_EQ(stat((dir_ + "/talosconfig").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
  EXPECT_TRUE(absl::StrContains(ReadFile(dir_ + "/kubeconfig"),
                                "server: https://127.0.3.1:6443"));
  const std::string talosconfig = ReadFile(dir_ + "/talosconfig");
  EXPECT_TRUE(absl::StrContains(
      talosconfig, "- 127.0.1.1\n      - 127.0.1.2\n      - 127.0.1.3\n"));
  EXPECT_FALSE(absl::StrContains(talosconfig, "127.0.3.1"));
  // Secrets stay out of the state and the log.
  EXPECT_FALSE(absl::StrContains(ReadFile(state_), "PRIVATE KEY"));
  EXPECT_FALSE(absl::StrContains(ToolLog(), "PRIVATE"));

  const int applies = Count("talos", kApply);
  const int hs_writes = Writes("headscale");
  ASSERT_EQ(RunTool(), 0) << ToolLog();
  EXPECT_EQ(Count("talos", kApply), applies) << "re-run applied a config";
  EXPECT_EQ(Count("talos", kBootstrap), 1);
  EXPECT_EQ(Writes("headscale"), hs_writes) << "re-run wrote to headscale";
  EXPECT_EQ(Count("talos", std::string(kApply) + "#dry-run"), 5);
}

TEST_F(TalosBootstrapLabTest, SigkillAnywhereThenRerunConverges) {
  for (int delay_ms : {30, 120, 250, 500, 900}) {
    pid_t pid = Spawn();
    absl::SleepFor(absl::Milliseconds(delay_ms));
    kill(pid, SIGKILL);
    int status;
    waitpid(pid, &status, 0);
  }
  ASSERT_EQ(RunTool(), 0) << ToolLog();
  EXPECT_EQ(Count("talos", kBootstrap, 200), 1) << ToolLog();
  EXPECT_EQ(Count("talos", kApply, 200), 5);
  const int applies = Count("talos", kApply);
  ASSERT_EQ(RunTool(), 0) << ToolLog();
  EXPECT_EQ(Count("talos", kApply), applies);
}

TEST_F(TalosBootstrapLabTest, DryRunPlansAndChangesNothing) {
  ASSERT_EQ(RunTool({"--dry-run"}), 0) << ToolLog();
  EXPECT_EQ(Count("talos", kApply), 0);
  EXPECT_EQ(Writes("headscale"), 0);
  EXPECT_TRUE(absl::StrContains(ToolLog(), "etcd bootstrap on ctrl-1: pending"))
      << ToolLog();
}

class TalosBootstrapFaultTest : public TalosBootstrapLabTest {
 protected:
  std::string Faults() override {
    const std::string* name = nullptr;
    (void)name;
    const std::string test =
        ::testing::UnitTest::GetInstance()->current_test_info()->name();
    if (test == "UnavailableDuringApplyIsRetried") {
      return R"(rules {
  name: "apply-unavailable"
  endpoint: "talos:GRPC /machine.MachineService/ApplyConfiguration"
  first_calls: 3
  grpc_status { code: 14 message: "connection closed while restarting" }
})";
    }
    return R"(rules {
  name: "apply-rejected"
  endpoint: "talos:GRPC /machine.MachineService/ApplyConfiguration"
  grpc_status { code: 3 message: "1 error occurred:\n\t* invalid machine token\n\n" }
})";
  }
};

TEST_F(TalosBootstrapFaultTest, UnavailableDuringApplyIsRetried) {
  ASSERT_EQ(RunTool(), 0) << ToolLog();
  EXPECT_EQ(Count("talos", kApply, 503), 3);
  EXPECT_EQ(Count("talos", kApply, 200), 5);
}

TEST_F(TalosBootstrapFaultTest, RejectedApplyIsAClearErrorNotRetried) {
  EXPECT_EQ(RunTool(), 1);
  EXPECT_TRUE(absl::StrContains(ToolLog(), "rejected its config")) << ToolLog();
  EXPECT_TRUE(absl::StrContains(ToolLog(), "invalid machine token"));
  // One attempt per node: InvalidArgument is not retried.
  EXPECT_LE(Count("talos", kApply, 400), 5);
  EXPECT_EQ(Count("talos", kBootstrap), 0);
}

}  // namespace
}  // namespace coldstart
