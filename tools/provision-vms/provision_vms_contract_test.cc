// provision-vms and the tool contract (DESIGN.md "Tool contract"), in
// process through RealMain with an injected environment and clock, against
// the real labd where a server is needed.
#include <sys/stat.h>

#include <map>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/base/clock.h"
#include "lib/base/environment.h"
#include "lib/cli/cli.h"
#include "lib/cli/cluster_textproto.h"
#include "lib/cli/tool_run.h"
#include "lib/testing/fake_clock.h"
#include "lib/testing/files.h"
#include "nlohmann/json.hpp"
#include "tools/provision-vms/provision_lab_fixture.h"
#include "tools/provision-vms/provision_vms.h"

namespace coldstart {
namespace {

using ::coldstart::testing::MakeTempDir;
using ::coldstart::testing::ReadTestFile;
using ::coldstart::testing::TestTempDir;
using ::coldstart::testing::WriteTestFile;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::MatchesRegex;
using json = nlohmann::json;

bool Exists(const std::string& path) {
  struct stat info;
  return stat(path.c_str(), &info) == 0;
}

struct InProcessRun {
  absl::Status status;
  std::string out;
  std::string err;
};

class ProvisionContractTest : public ProvisionLabTest {
 protected:
  // RealMain with `environment` (nothing else of the process's) and `clock`
  // (nullptr: the real one).
  InProcessRun RunInProcess(const ProvisionOptions& options,
                            std::map<std::string, std::string> environment = {},
                            Clock* clock = nullptr) {
    std::ostringstream out, err;
    ToolIo io{out, err};
    io.clock = clock;
    io.environment = FixedEnvironment(std::move(environment));
    InProcessRun run;
    run.status = RealMain(options, io);
    run.out = out.str();
    run.err = err.str();
    return run;
  }

  // --in `spec` (or --state `state`), --dry-run, keystore = the lab's.
  ProvisionOptions DryRun(const std::string& spec,
                          const std::string& state = "") {
    ProvisionOptions options;
    if (state.empty()) {
      options.common.in = spec;
    } else {
      options.common.state = state;
    }
    options.common.dry_run = true;
    options.common.keystore = "file:" + keystore_dir_;
    return options;
  }

  // No lab: endpoints where nothing listens.
  void PointAtNothing() {
    endpoint_ = "https://127.0.0.1:1/api2/json";
    factory_ = "https://127.0.0.1:1";
  }

  FakeClock clock_;
};

TEST_F(ProvisionContractTest, DirectoryAsInOrStateIsInvalidArgumentNoLock) {
  std::string dir = MakeTempDir("spec-dir");
  ProvisionOptions in;
  in.common.in = dir;
  InProcessRun run = RunInProcess(in);
  EXPECT_TRUE(absl::IsInvalidArgument(run.status)) << run.status;
  EXPECT_THAT(run.out, IsEmpty());

  ProvisionOptions state;
  state.common.state = dir;
  run = RunInProcess(state);
  EXPECT_TRUE(absl::IsInvalidArgument(run.status)) << run.status;
  EXPECT_FALSE(Exists(dir + ".lock"));
}

TEST_F(ProvisionContractTest, ParallelismBelowOneIsInvalidArgument) {
  std::string spec = WriteSpec();
  std::string before = ReadTestFile(spec);
  for (int parallelism : {0, -3}) {
    ProvisionOptions options;
    options.common.state = spec;
    options.parallelism = parallelism;
    InProcessRun run = RunInProcess(options);
    EXPECT_TRUE(absl::IsInvalidArgument(run.status)) << run.status;
    EXPECT_EQ(ExitCodeForStatus(run.status), 2);
    EXPECT_THAT(std::string(run.status.message()), HasSubstr("--parallelism"));
  }
  EXPECT_EQ(ReadTestFile(spec), before);
  EXPECT_FALSE(Exists(spec + ".lock"));
}

TEST_F(ProvisionContractTest, MissingCaFileIsInvalidArgument) {
  PointAtNothing();
  std::string spec = WriteSpec(5, [](v1::Cluster& cluster) {
    cluster.mutable_spec()->mutable_proxmox()->set_ca_file(
        "/nonexistent/pve-ca.pem");
  });
  ProvisionOptions options = DryRun(spec);
  options.common.keystore = "file:" + MakeTempDir("ks");
  InProcessRun run = RunInProcess(options);
  EXPECT_EQ(ExitCodeForStatus(run.status), 2) << run.status;
  EXPECT_THAT(std::string(run.status.message()),
              HasSubstr("/nonexistent/pve-ca.pem"));
}

TEST_F(ProvisionContractTest, InvalidSpecIsInvalidArgumentAndSendsNothing) {
  StartLab(0.001);
  std::string spec = WriteSpec(5, [](v1::Cluster& cluster) {
    auto* nodes = cluster.mutable_spec()->mutable_nodes();
    nodes->Mutable(1)->set_ip(nodes->Get(0).ip());
  });
  size_t pve_before = Requests("pve").size();
  size_t factory_before = Requests("factory").size();
  ProvisionOptions options;
  options.common.state = spec;
  options.common.keystore = "file:" + keystore_dir_;
  InProcessRun run =
      RunInProcess(options, {{"PROXMOX_VE_API_TOKEN", admin_token_}});
  EXPECT_TRUE(absl::IsInvalidArgument(run.status)) << run.status;
  EXPECT_THAT(std::string(run.status.message()),
              MatchesRegex("(.|\n)*spec-[0-9]+\\.txtpb:[0-9]+:[0-9]+: "
                           "(.|\n)*duplicate IP(.|\n)*"));
  EXPECT_EQ(Requests("pve").size(), pve_before);
  EXPECT_EQ(Requests("factory").size(), factory_before);
  EXPECT_FALSE(Exists(spec + ".lock"));
}

TEST_F(ProvisionContractTest, DryRunFailsWhenProxmoxCannotBeReached) {
  PointAtNothing();
  std::string spec = WriteSpec(5, [](v1::Cluster& cluster) {
    cluster.mutable_spec()->mutable_proxmox()->clear_ca_file();
    cluster.mutable_spec()->mutable_image()->clear_ca_file();
  });
  ProvisionOptions options = DryRun(spec);
  options.common.keystore = "file:" + MakeTempDir("ks");
  InProcessRun run = RunInProcess(
      options, {{"PROXMOX_VE_API_TOKEN", "root@pam!probe=secret"}}, &clock_);
  EXPECT_EQ(ExitCodeForStatus(run.status), 1) << run.status;
  EXPECT_THAT(std::string(run.status.message()),
              HasSubstr("the Proxmox VE API at https://127.0.0.1:1/api2/json "
                        "cannot be used"));
  EXPECT_THAT(run.err, Not(HasSubstr("secret")));
}

TEST_F(ProvisionContractTest, DryRunFailsWhenTheImageFactoryCannotBeReached) {
  StartLab(0.001);
  std::string spec = WriteSpec(5, [](v1::Cluster& cluster) {
    cluster.mutable_spec()->mutable_image()->set_factory_url(
        "https://127.0.0.1:1");
  });
  size_t before = Requests().size();
  InProcessRun run = RunInProcess(DryRun(spec), {}, &clock_);
  EXPECT_EQ(ExitCodeForStatus(run.status), 1) << run.status;
  EXPECT_THAT(std::string(run.status.message()),
              HasSubstr("the Image Factory at https://127.0.0.1:1"));
  EXPECT_EQ(Writes(Requests(), before), 0);
}

// provision-vms is layer 1: Proxmox and the Image Factory must exist, and
// nothing it talks to is created by an earlier layer, so a cold dry run
// (nothing provisioned yet, no provisioning token) passes with plan lines.
TEST_F(ProvisionContractTest, DryRunWithStateTouchesNeitherStateNorStdout) {
  StartLab(0.001);
  std::string spec = WriteSpec();
  std::string state = TestTempDir() + "/dry-state.txtpb";
  WriteTestFile(state, ReadTestFile(spec));
  size_t pve_before = Requests("pve").size();
  size_t factory_before = Requests("factory").size();
  InProcessRun run = RunInProcess(DryRun(spec, state), {}, &clock_);
  ASSERT_TRUE(run.status.ok()) << run.status << run.err;
  EXPECT_EQ(ReadTestFile(state), ReadTestFile(spec));
  EXPECT_THAT(run.out, IsEmpty());
  EXPECT_THAT(run.err, HasSubstr("plan: the Proxmox VE API at "));
  EXPECT_THAT(run.err, HasSubstr("plan: the Image Factory at "));
  EXPECT_THAT(run.err, HasSubstr("plan: VM 1500 (ctrl-1) on node pve: create"));
  EXPECT_EQ(Writes(Requests("pve"), pve_before), 0);
  EXPECT_EQ(Writes(Requests("factory"), factory_before), 0);
}

TEST_F(ProvisionContractTest, DryRunWithoutStateEchoesTheInputUnchanged) {
  StartLab(0.001);
  std::string spec = WriteSpec();
  InProcessRun run = RunInProcess(DryRun(spec), {}, &clock_);
  ASSERT_TRUE(run.status.ok()) << run.status << run.err;
  auto in = ReadClusterFile(spec);
  ASSERT_TRUE(in.ok()) << in.status();
  std::string echoed_path = TestTempDir() + "/echoed.txtpb";
  WriteTestFile(echoed_path, run.out);
  auto echoed = ReadClusterFile(echoed_path);
  ASSERT_TRUE(echoed.ok()) << echoed.status();
  EXPECT_EQ(ClusterToText(echoed->cluster), ClusterToText(in->cluster));
  EXPECT_FALSE(echoed->cluster.status().has_provision());
}

TEST_F(ProvisionContractTest, AdminTokenFromTheEnvironmentWinsOverKeystore) {
  StartLab(0.001);
  std::string spec = WriteSpec();
  // The keystore holds the lab's valid admin token; the environment's is
  // unknown to Proxmox, so only using it makes the run fail with its id.
  InProcessRun run = RunInProcess(
      DryRun(spec),
      {{"PROXMOX_VE_API_TOKEN", "intruder@pve!nope=00000000-dead"}}, &clock_);
  EXPECT_TRUE(absl::IsPermissionDenied(run.status)) << run.status;
  EXPECT_THAT(std::string(run.status.message()),
              HasSubstr("intruder@pve!nope"));
  EXPECT_THAT(run.err, HasSubstr("using Proxmox admin token from environment "
                                 "variable PROXMOX_VE_API_TOKEN"));
  EXPECT_THAT(run.err + std::string(run.status.message()),
              Not(HasSubstr("00000000-dead")));

  InProcessRun keystore = RunInProcess(DryRun(spec), {}, &clock_);
  ASSERT_TRUE(keystore.status.ok()) << keystore.status << keystore.err;
  EXPECT_THAT(keystore.err, HasSubstr("using Proxmox admin token from keystore "
                                      "item proxmox-admin-token"));
}

TEST_F(ProvisionContractTest, EmptyColdstartKeystoreFallsBackToTheSpec) {
  StartLab(0.001);
  const std::string keystore = "file:" + keystore_dir_;
  std::string spec = WriteSpec(5, [&](v1::Cluster& cluster) {
    cluster.mutable_spec()->mutable_sealed_secrets()->set_keystore(keystore);
  });
  ProvisionOptions options = DryRun(spec);
  options.common.keystore.clear();
  InProcessRun run =
      RunInProcess(options, {{"COLDSTART_KEYSTORE", ""}}, &clock_);
  ASSERT_TRUE(run.status.ok()) << run.status << run.err;
  EXPECT_THAT(run.err,
              HasSubstr(absl::StrCat("using Proxmox admin token from keystore "
                                     "item proxmox-admin-token (",
                                     keystore, ")")));
}

TEST_F(ProvisionContractTest, LongRetriesPrintWhatIsAwaited) {
  StartLab(0.001, R"pb(
    rules {
      name: "roles-503"
      endpoint: "pve:GET /api2/json/access/roles"
      first_calls: 8
      http_status { code: 503 body: "{\"data\":null}" }
    }
  )pb");
  InProcessRun run = RunInProcess(DryRun(WriteSpec()), {}, &clock_);
  ASSERT_TRUE(run.status.ok()) << run.status << run.err;
  EXPECT_THAT(run.err, HasSubstr("waiting for Proxmox GET /access/roles: "));
}

TEST_F(ProvisionContractTest, EventsFileHasEveryStepWithItsNode) {
  StartLab(0.001);
  ProvisionOptions options;
  options.common.in = WriteSpec();
  options.common.keystore = "file:" + keystore_dir_;
  options.common.events = TestTempDir() + "/events.jsonl";
  InProcessRun run = RunInProcess(options);
  ASSERT_TRUE(run.status.ok()) << run.status << run.err;
  std::map<std::pair<std::string, std::string>, std::vector<std::string>> seen;
  for (absl::string_view line : absl::StrSplit(
           ReadTestFile(options.common.events), '\n', absl::SkipEmpty())) {
    json record = json::parse(line);
    EXPECT_EQ(record.value("tool", ""), "provision-vms");
    if (record["event"] == "note") continue;
    std::string event = record["event"];
    if (event == "end") event += ":" + record.value("outcome", "");
    seen[{record.value("step", ""), record.value("node", "")}].push_back(event);
  }
  const std::vector<std::string> ok = {"start", "end:ok"};
  for (const auto& step : std::vector<std::pair<std::string, std::string>>{
           {"provision-vms", ""},
           {"access", ""},
           {"token", "coldstart@pve!provision"},
           {"token", "kubernetes-csi@pve!csi"},
           {"image", ""},
           {"schematic", ""},
           {"image-download", "pve"},
           {"create", "ctrl-1"},
           {"create", "ctrl-2"},
           {"create", "ctrl-3"},
           {"create", "worker-1"},
           {"create", "worker-2"}}) {
    EXPECT_EQ(seen[step], ok) << step.first << " [" << step.second << "]";
  }
}

}  // namespace
}  // namespace coldstart
