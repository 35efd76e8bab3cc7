// talos-bootstrap (the real binary) against labd (talos + headscale + kube
// modules, nodes booted by talos.boot=all): a cold run on 5 nodes up to
// Cilium applied and every node Ready, a re-run that changes nothing (the
// Cilium objects are server-side applied again, a no-op for the server),
// SIGKILL at several points and during the Cilium step then a converging
// re-run with etcd bootstrapped exactly once, --dry-run (the state file
// untouched, the input echoed without --state), nodes that are still booting
// (connection refused, retried), one that never boots, and a control-plane
// failure that stops the workers' waits at once. Every run writes --events.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lab/testing/lab_fixture.h"
#include "lib/base/file.h"
#include "lib/cli/cluster_textproto.h"
#include "lib/kube/kube_client.h"
#include "lib/kube/kube_config.h"
#include "lib/testing/files.h"
#include "tools/talos-bootstrap/event_records.h"

namespace coldstart {
namespace {

using ::coldstart::testing::EventRecord;
using ::coldstart::testing::FindEventRecord;
using ::coldstart::testing::MakeTempDir;
using ::coldstart::testing::ReadEventRecords;
using ::coldstart::testing::ReadTestFile;
using ::coldstart::testing::WriteTestFile;
using lab::LabProcess;
using lab::RequestRecord;
using ::testing::HasSubstr;
using ::testing::Not;

// A port free on 127.0.3.1 (the lab's API VIP) right now, for kube.port: the
// machine configs name the API port before the VIP exists.
int FreeVipPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  inet_pton(AF_INET, "127.0.3.1", &addr.sin_addr);
  socklen_t len = sizeof(addr);
  int port = 0;
  if (fd >= 0 &&
      bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  if (fd >= 0) close(fd);
  return port;
}

constexpr char kDaemonSet[] =
    "/apis/apps/v1/namespaces/kube-system/daemonsets/cilium";
constexpr int kManifestObjects = 9;

// What the lab simulates for one test.
struct LabSetup {
  // Fault file (text format); empty: none.
  std::string faults;
  // The talos module's options.
  std::vector<std::string> talos_options = {"talos.boot=all"};
};

LabSetup WithFaults(std::string faults) {
  LabSetup setup;
  setup.faults = std::move(faults);
  return setup;
}

LabSetup WithTalosOptions(std::vector<std::string> options) {
  LabSetup setup;
  setup.talos_options = std::move(options);
  return setup;
}

class TalosBootstrapLabTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir("run");
    state_ = dir_ + "/state.txtpb";
    events_ = dir_ + "/events.jsonl";
    kube_port_ = FreeVipPort();
    ASSERT_GT(kube_port_, 0);
  }

  // Starts labd as `setup` says and writes the state file: the lab spec with
  // the lab's real ports.
  void StartLab(const LabSetup& setup = {}) {
    lab::LabProcessOptions options;
    options.time_scale = 0.002;
    options.module_options = setup.talos_options;
    options.module_options.push_back(absl::StrCat("kube.port=", kube_port_));
    options.faults = setup.faults;
    auto lab = LabProcess::Start(options);
    ASSERT_TRUE(lab.ok()) << lab.status();
    lab_ = std::move(*lab);
    auto parsed =
        ParseClusterText(ReadTestFile("testdata/lab.txtpb"), "lab.txtpb");
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
    cluster.mutable_spec()->mutable_network()->set_api_port(kube_port_);
    cluster.mutable_spec()->mutable_talos()->set_cilium_manifest(
        lab::RunfilePath("tools/talos-bootstrap/testdata/cilium-1.16.5.yaml"));
    cluster.mutable_status()
        ->mutable_provision()
        ->mutable_image()
        ->set_schematic_id(
            "ce4c980550dd2ab1b17bbf2b08801c7eb59418eafe8f279833297925d67c7515");
    WriteTestFile(state_, ClusterToText(cluster));
    setenv("HEADSCALE_API_KEY",
           ReadTestFile(lab_->workdir() + "/headscale-api-key").c_str(), 1);
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

  // Starts the tool with `args` (stdout to tool.out, stderr appended to
  // tool.log); returns its pid.
  pid_t SpawnWithArgs(const std::vector<std::string>& args) {
    const std::string log = dir_ + "/tool.log";
    const std::string out = dir_ + "/tool.out";
    pid_t pid = fork();
    if (pid == 0) {
      int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
      dup2(fd, 2);
      int stdout_fd = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      dup2(stdout_fd, 1);
      std::vector<std::string> argv_strings = {
          lab::RunfilePath("tools/talos-bootstrap/talos-bootstrap")};
      argv_strings.insert(argv_strings.end(), args.begin(), args.end());
      std::vector<char*> argv;
      for (auto& a : argv_strings) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
    return pid;
  }
  // The tool on the state file, with --events, a 60 s timeout and `extra`.
  pid_t Spawn(const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args = {"--state", state_,     "--timeout",
                                     "60s",     "--events", events_};
    args.insert(args.end(), extra.begin(), extra.end());
    return SpawnWithArgs(args);
  }
  static int Wait(pid_t pid) {
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  int RunTool(const std::vector<std::string>& extra = {}) {
    return Wait(Spawn(extra));
  }
  std::string ToolLog() { return ReadTestFile(dir_ + "/tool.log"); }
  std::string ToolStdout() { return ReadTestFile(dir_ + "/tool.out"); }

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
  int Patches(const std::string& module, int status = -1) {
    auto records = lab_->Requests(module);
    int n = 0;
    for (const RequestRecord& r : *records) {
      if (r.method == "PATCH" && (status < 0 || r.status == status)) ++n;
    }
    return n;
  }
  // Waits (bounded, as a failure guard only) until the tool's log has `text`.
  bool WaitForLog(const std::string& text) {
    const absl::Time give_up = absl::Now() + absl::Seconds(60);
    while (absl::Now() < give_up) {
      // The tool may not have created its log yet.
      absl::StatusOr<std::string> log = ReadFile(dir_ + "/tool.log");
      if (log.ok() && absl::StrContains(*log, text)) return true;
      absl::SleepFor(absl::Milliseconds(5));
    }
    return false;
  }
  // A client on the tool's kubeconfig (server = the VIP).
  std::unique_ptr<kube::KubeClient> Kube() {
    kube::KubeconfigLoadOptions load;
    load.explicit_path = dir_ + "/kubeconfig";
    auto config = kube::LoadKubeconfig(load);
    EXPECT_TRUE(config.ok()) << config.status();
    if (!config.ok()) return nullptr;
    auto client = kube::KubeClient::FromConfig(*config);
    EXPECT_TRUE(client.ok()) << client.status();
    return client.ok() ? std::move(*client) : nullptr;
  }
  // The events file of a cold run: a start and an ok end for every step,
  // per node where the step is per node.
  void ExpectEveryStepRecorded() {
    const std::vector<EventRecord> events = ReadEventRecords(events_);
    auto expect_step = [&](const std::string& step, const std::string& node) {
      const int start = FindEventRecord(events, step, node, "start");
      const int end = FindEventRecord(events, step, node, "end");
      ASSERT_GE(start, 0) << step << " " << node;
      ASSERT_GT(end, start) << step << " " << node;
      EXPECT_EQ(events[end].outcome, "ok") << step << " " << node;
    };
    for (const char* step :
         {"talos-bootstrap", "secrets", "mesh keys", "configs",
          "etcd members wait", "kubeconfig", "talosconfig", "mesh enrolment",
          "VIP wait", "cilium apply", "cilium rollout", "nodes ready"}) {
      expect_step(step, "");
    }
    expect_step("bootstrap", "ctrl-1");
    for (const char* node :
         {"ctrl-1", "ctrl-2", "ctrl-3", "worker-1", "worker-2"}) {
      expect_step("boot wait", node);
      expect_step("apply", node);
    }
    for (const char* node : {"ctrl-1", "ctrl-2", "ctrl-3"}) {
      expect_step("cluster PKI wait", node);
    }
    // The bootstrap after every control plane's config, before the VIP.
    EXPECT_LT(FindEventRecord(events, "apply", "ctrl-3", "end"),
              FindEventRecord(events, "bootstrap", "ctrl-1", "start"));
    EXPECT_LT(FindEventRecord(events, "bootstrap", "ctrl-1", "end"),
              FindEventRecord(events, "VIP wait", "", "start"));
  }

  // Every spec node registered and Ready, read through lib/kube.
  void ExpectNodesReady() {
    auto client = Kube();
    ASSERT_NE(client, nullptr);
    auto nodes = client->List(kube::Nodes(), "");
    ASSERT_TRUE(nodes.ok()) << nodes.status();
    EXPECT_EQ(nodes->size(), 5u);
    for (const auto& node : *nodes) {
      const auto* ready = kube::FindCondition(node, "Ready");
      ASSERT_NE(ready, nullptr) << node.dump();
      EXPECT_EQ(ready->value("status", ""), "True") << node.dump();
    }
    auto ds = client->Get(kube::DaemonSets(), "kube-system", "cilium");
    ASSERT_TRUE(ds.ok()) << ds.status();
    EXPECT_EQ((*ds)["spec"]["template"]["spec"]["containers"][0]["image"],
              "quay.io/cilium/cilium:v1.16.5");
    EXPECT_EQ((*ds)["status"].value("numberAvailable", 0), 5);
  }

  std::unique_ptr<LabProcess> lab_;
  std::string dir_, state_, events_;
  int kube_port_ = 0;
};

constexpr char kApply[] = "/machine.MachineService/ApplyConfiguration";
constexpr char kBootstrap[] = "/machine.MachineService/Bootstrap";

TEST_F(TalosBootstrapLabTest, ColdRunThenRerunChangesNothing) {
  ASSERT_NO_FATAL_FAILURE(StartLab());
  ASSERT_EQ(RunTool(), 0) << ToolLog();
  ExpectEveryStepRecorded();
  EXPECT_EQ(Count("talos", kApply, 200), 5) << ToolLog();
  EXPECT_EQ(Count("talos", kBootstrap, 200), 1);
  EXPECT_GE(Count("headscale", "/api/v1/preauthkey", 200), 5);
  auto parsed = ParseClusterText(ReadTestFile(state_), "state");
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
  EXPECT_TRUE(absl::StrContains(
      ReadTestFile(dir_ + "/kubeconfig"),
      absl::StrCat("server: https://127.0.3.1:", kube_port_)));
  const std::string talosconfig = ReadTestFile(dir_ + "/talosconfig");
  EXPECT_TRUE(absl::StrContains(
      talosconfig, "- 127.0.1.1\n      - 127.0.1.2\n      - 127.0.1.3\n"));
  EXPECT_FALSE(absl::StrContains(talosconfig, "127.0.3.1"));
  // Secrets stay out of the state and the log.
  EXPECT_FALSE(absl::StrContains(ReadTestFile(state_), "PRIVATE KEY"));
  EXPECT_FALSE(absl::StrContains(ToolLog(), "PRIVATE"));

  // Cilium: every object server-side applied once (201 = created; the
  // simulator refuses an apply without fieldManager with 400), through the
  // VIP; the DaemonSet rolled out and every node Ready.
  EXPECT_EQ(Patches("kube", 201), kManifestObjects) << ToolLog();
  EXPECT_EQ(Patches("kube"), kManifestObjects);
  EXPECT_EQ(Writes("kube"), 0) << "only server-side apply writes";
  EXPECT_EQ(Count("kube", kDaemonSet, 201), 1);
  EXPECT_EQ(status.cilium_applied(), "1.16.5");
  EXPECT_EQ(status.cilium_manifest_sha256().size(), 64u);
  EXPECT_TRUE(status.nodes_ready());
  EXPECT_EQ(status.kube_endpoint(),
            absl::StrCat("https://127.0.3.1:", kube_port_));
  ExpectNodesReady();
  auto client = Kube();
  ASSERT_NE(client, nullptr);
  auto before = client->Get(kube::DaemonSets(), "kube-system", "cilium");
  ASSERT_TRUE(before.ok()) << before.status();

  const int applies = Count("talos", kApply);
  const int hs_writes = Writes("headscale");
  ASSERT_EQ(RunTool(), 0) << ToolLog();
  EXPECT_EQ(Count("talos", kApply), applies) << "re-run applied a config";
  EXPECT_EQ(Count("talos", kBootstrap), 1);
  EXPECT_EQ(Writes("headscale"), hs_writes) << "re-run wrote to headscale";
  EXPECT_EQ(Count("talos", std::string(kApply) + "#dry-run"), 5);
  // Re-run: the same objects applied again (200 = existed), nothing else
  // written; the DaemonSet's spec generation is unchanged.
  EXPECT_EQ(Patches("kube", 200), kManifestObjects) << ToolLog();
  EXPECT_EQ(Patches("kube"), 2 * kManifestObjects);
  EXPECT_EQ(Writes("kube"), 0);
  auto after = client->Get(kube::DaemonSets(), "kube-system", "cilium");
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ((*after)["metadata"]["generation"],
            (*before)["metadata"]["generation"]);
  EXPECT_EQ((*after)["spec"], (*before)["spec"]);
  ExpectNodesReady();
}

TEST_F(TalosBootstrapLabTest, SigkillAnywhereThenRerunConverges) {
  ASSERT_NO_FATAL_FAILURE(StartLab());
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
  ExpectNodesReady();
  const int applies = Count("talos", kApply);
  ASSERT_EQ(RunTool(), 0) << ToolLog();
  EXPECT_EQ(Count("talos", kApply), applies);
}

TEST_F(TalosBootstrapLabTest, DryRunPlansAndChangesNothing) {
  ASSERT_NO_FATAL_FAILURE(StartLab());
  const std::string state = ReadTestFile(state_);
  ASSERT_EQ(RunTool({"--dry-run"}), 0) << ToolLog();
  EXPECT_EQ(Count("talos", kApply), 0);
  EXPECT_EQ(Writes("headscale"), 0);
  EXPECT_THAT(ToolLog(), HasSubstr("etcd bootstrap on ctrl-1: pending"));
  EXPECT_THAT(ToolLog(), HasSubstr("objects): pending"));
  // The booted nodes answer; the VIP appears only after the bootstrap.
  EXPECT_THAT(ToolLog(), HasSubstr("plan: the Talos API of ctrl-1 at "));
  EXPECT_THAT(ToolLog(),
              HasSubstr(absl::StrCat(
                  "plan: pending: the Kubernetes API (VIP) at https://"
                  "127.0.3.1:",
                  kube_port_)));
  EXPECT_EQ(Patches("kube"), 0);
  // With --state: the file untouched, nothing on stdout.
  EXPECT_EQ(ReadTestFile(state_), state);
  EXPECT_EQ(ToolStdout(), "");
  EXPECT_FALSE(std::ifstream(dir_ + "/kubeconfig").good());
  // Without --state: the input echoed unchanged, so a dry-run pipe goes on.
  ASSERT_EQ(Wait(SpawnWithArgs({"--in", state_, "--dry-run"})), 0) << ToolLog();
  EXPECT_EQ(ToolStdout(), state);
  EXPECT_EQ(ReadTestFile(state_), state);
}

constexpr char kSlowCiliumApply[] = R"(rules {
  name: "cilium-slow"
  endpoint: "kube:PATCH /apis/apps/v1/namespaces/kube-system/daemonsets/cilium"
  first_calls: 1
  delay { ms: 3000 }
})";

TEST_F(TalosBootstrapLabTest, SigkillDuringCiliumThenRerunConverges) {
  // The delay holds the DaemonSet apply so that the kill lands in the
  // Cilium step.
  ASSERT_NO_FATAL_FAILURE(StartLab(WithFaults(kSlowCiliumApply)));
  pid_t pid = Spawn();
  ASSERT_TRUE(WaitForLog("cilium: applying")) << ToolLog();
  kill(pid, SIGKILL);
  int wait_status;
  waitpid(pid, &wait_status, 0);
  ASSERT_TRUE(WIFSIGNALED(wait_status));
  ASSERT_EQ(RunTool(), 0) << ToolLog();
  EXPECT_EQ(Count("talos", kBootstrap, 200), 1);
  EXPECT_EQ(Count("talos", kApply, 200), 5);
  EXPECT_EQ(Writes("kube"), 0);
  ExpectNodesReady();
  auto parsed = ParseClusterText(ReadTestFile(state_), "state");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_TRUE(parsed->cluster.status().talos_bootstrap().nodes_ready());
}

TEST_F(TalosBootstrapLabTest, UnavailableDuringApplyIsRetried) {
  ASSERT_NO_FATAL_FAILURE(StartLab(WithFaults(R"(rules {
  name: "apply-unavailable"
  endpoint: "talos:GRPC /machine.MachineService/ApplyConfiguration"
  first_calls: 3
  grpc_status { code: 14 message: "connection closed while restarting" }
})")));
  ASSERT_EQ(RunTool(), 0) << ToolLog();
  EXPECT_EQ(Count("talos", kApply, 503), 3);
  EXPECT_EQ(Count("talos", kApply, 200), 5);
}

TEST_F(TalosBootstrapLabTest, RejectedApplyIsAClearErrorNotRetried) {
  ASSERT_NO_FATAL_FAILURE(StartLab(WithFaults(R"(rules {
  name: "apply-rejected"
  endpoint: "talos:GRPC /machine.MachineService/ApplyConfiguration"
  grpc_status { code: 3 message: "1 error occurred:\n\t* invalid machine token\n\n" }
})")));
  EXPECT_EQ(RunTool(), 1);
  EXPECT_THAT(ToolLog(), HasSubstr("rejected its config"));
  EXPECT_THAT(ToolLog(), HasSubstr("invalid machine token"));
  // At most one attempt per node: InvalidArgument is not retried (a node
  // still waiting when a control plane was rejected stops instead).
  EXPECT_LE(Count("talos", kApply, 400), 5);
  EXPECT_GE(Count("talos", kApply, 400), 1);
  EXPECT_EQ(Count("talos", kBootstrap), 0);
}

// Nodes still booting: nothing listens on their addresses (connection
// refused) until the test creates the boot file.
TEST_F(TalosBootstrapLabTest, ConnectionRefusedWhileBootingIsRetried) {
  ASSERT_NO_FATAL_FAILURE(StartLab(WithTalosOptions(
      {"talos.boot=all",
       absl::StrCat("talos.boot_when_exists=", dir_, "/boot-now")})));
  pid_t pid = Spawn();
  // Every node refused for over a second (the tool says so, then keeps
  // trying).
  for (const char* node :
       {"ctrl-1", "ctrl-2", "ctrl-3", "worker-1", "worker-2"}) {
    ASSERT_TRUE(
        WaitForLog(absl::StrCat("waiting for the Talos API of ", node, ": ")))
        << ToolLog();
  }
  EXPECT_EQ(Count("talos", kApply), 0);
  std::ofstream(dir_ + "/boot-now") << "";
  ASSERT_EQ(Wait(pid), 0) << ToolLog();
  EXPECT_EQ(Count("talos", kApply, 200), 5);
  EXPECT_EQ(Count("talos", kBootstrap, 200), 1);
  ExpectNodesReady();
}

TEST_F(TalosBootstrapLabTest, NodeThatNeverBootsIsAClearError) {
  ASSERT_NO_FATAL_FAILURE(
      StartLab(WithTalosOptions({"talos.boot=all", "talos.boot_skip=ctrl-3"})));
  // Long enough for the booted nodes to be configured, so that the error
  // is about the node that never booted.
  EXPECT_EQ(RunTool({"--timeout", "8s"}), 1);
  const std::string log = ToolLog();
  EXPECT_THAT(log, HasSubstr("the Talos API of ctrl-3: gave up after"));
  EXPECT_THAT(log, HasSubstr("re-run to resume"));
  // The booted control planes were configured; no bootstrap without ctrl-3.
  EXPECT_EQ(Count("talos", kApply, 200), 4);
  EXPECT_EQ(Count("talos", kBootstrap), 0);
}

// worker-2 never boots, and the etcd bootstrap is refused for good: the run
// ends with the bootstrap's error, and worker-2's wait ends because of it
// (stopped, not timed out) — not after --timeout (60 s).
TEST_F(TalosBootstrapLabTest, ControlPlaneFailureStopsTheWorkerWaitsAtOnce) {
  LabSetup setup =
      WithTalosOptions({"talos.boot=all", "talos.boot_skip=worker-2"});
  setup.faults = R"(rules {
  name: "bootstrap-refused"
  endpoint: "talos:GRPC /machine.MachineService/Bootstrap"
  grpc_status { code: 9 message: "etcd data directory is not empty" }
})";
  ASSERT_NO_FATAL_FAILURE(StartLab(setup));
  EXPECT_EQ(RunTool(), 1);
  const std::string log = ToolLog();
  EXPECT_THAT(log, HasSubstr("talos-bootstrap: Bootstrap on "));
  EXPECT_THAT(log, HasSubstr("etcd data directory is not empty"));

  const std::vector<EventRecord> events = ReadEventRecords(events_);
  const int bootstrap = FindEventRecord(events, "bootstrap", "ctrl-1", "end");
  const int wait = FindEventRecord(events, "boot wait", "worker-2", "end");
  ASSERT_GE(bootstrap, 0);
  ASSERT_GE(wait, 0);
  EXPECT_EQ(events[bootstrap].outcome, "failed");
  EXPECT_LT(bootstrap, wait) << "worker-2's wait ended before the cause";
  EXPECT_EQ(events[wait].outcome, "failed");
  EXPECT_THAT(events[wait].message, HasSubstr("stopped: "));
  EXPECT_THAT(events[wait].message,
              HasSubstr("etcd data directory is not empty"));
  EXPECT_THAT(events[wait].message, Not(HasSubstr("gave up")));
  // The run's own end record carries the cause, not the stopped wait.
  const int run_end = FindEventRecord(events, "talos-bootstrap", "", "end");
  ASSERT_GE(run_end, 0);
  EXPECT_THAT(events[run_end].message, Not(HasSubstr("stopped")));
  EXPECT_THAT(events[run_end].message,
              HasSubstr("etcd data directory is not empty"));
  // The partial status: worker-2 not reached, the others configured.
  auto parsed = ParseClusterText(ReadTestFile(state_), "state");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  for (const auto& node : parsed->cluster.status().talos_bootstrap().nodes()) {
    EXPECT_EQ(node.stage(),
              node.name() == "worker-2" ? "unknown" : "configured")
        << node.name();
  }
}

}  // namespace
}  // namespace coldstart
