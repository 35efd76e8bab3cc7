// The tool contract (DESIGN.md "Tool contract", lib/cli/tool_run.h) on
// seal-keystore's subcommands that read a Cluster: bad input paths, an
// invalid spec, dry-run reachability (the keystore must exist; the
// kubeconfig and the Kubernetes API are created by an earlier layer),
// dry-run output, and the steps of the events file.
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/cli/cluster_textproto.h"
#include "lib/secrets/keystore.h"
#include "lib/secrets/secret.h"
#include "lib/testing/fake_clock.h"
#include "lib/testing/files.h"
#include "lib/testing/tcp_listener.h"
#include "nlohmann/json.hpp"
#include "tools/seal-keystore/seal_keystore_testing.h"

namespace coldstart {
namespace {

using ::coldstart::testing::SilentTcpListener;

namespace fs = std::filesystem;
using ::coldstart::testing::MakeTempDir;
using ::coldstart::testing::ReadTestFile;
using ::coldstart::testing::RunfilePath;
using ::coldstart::testing::RunSealKeystore;
using ::coldstart::testing::SealKeystoreOutcome;
using ::coldstart::testing::Vector;
using ::coldstart::testing::WriteTestFile;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

class SealKeystoreContractTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir("contract");
    keystore_ = "file:" + dir_ + "/keystore";
    WriteTestFile(dir_ + "/key.pem", Vector("key.pem"));
    WriteTestFile(dir_ + "/cert.pem", Vector("cert.pem"));
    SealKeystoreOptions import = Options("import");
    import.args = {dir_ + "/key.pem", dir_ + "/cert.pem"};
    ASSERT_TRUE(RunSealKeystore(import, &clock_).status.ok());
    auto keystore = OpenKeystore(keystore_);
    ASSERT_TRUE(keystore.ok());
    ASSERT_TRUE(
        (*keystore)
            ->Store(
                ClusterSecretAttributes("test-cluster", "proxmox-csi-token"),
                "csi token", Secret::FromView("kubernetes-csi@pve!csi=0000"))
            .ok());
    absl::StatusOr<ParsedCluster> lab =
        ReadClusterFile(RunfilePath("testdata/lab.txtpb"));
    ASSERT_TRUE(lab.ok()) << lab.status();
    cluster_ = lab->cluster;
    cluster_.mutable_spec()->mutable_proxmox()->set_csi_insecure(true);
    // The kubeconfig talos-bootstrap would write, not written yet.
    cluster_.mutable_spec()->mutable_talos()->set_kubeconfig_path(
        dir_ + "/kubeconfig");
    WriteTestFile(dir_ + "/state.txtpb", ClusterToText(cluster_));
  }

  SealKeystoreOptions Options(const std::string& command) {
    SealKeystoreOptions options;
    options.command = command;
    options.common.keystore = keystore_;
    options.gitops_checkout = dir_ + "/gitops";
    return options;
  }
  SealKeystoreOptions Batch() {
    SealKeystoreOptions options = Options("seal");
    options.batch = true;
    return options;
  }
  // A subcommand that reads the Cluster: "seal" (as seal --batch), "backup"
  // or "restore".
  SealKeystoreOptions ClusterCommand(const std::string& command) {
    return command == "seal" ? Batch() : Options(command);
  }
  // A kubeconfig for the API at 127.0.0.1:port.
  std::string Kubeconfig(int port) {
    const std::string path = dir_ + "/kubeconfig.yaml";
    WriteTestFile(
        path,
        absl::StrCat("apiVersion: v1\nkind: Config\nclusters:\n- name: c\n"
                     "  cluster:\n    server: https://127.0.0.1:",
                     port, "\n    certificate-authority-data: ",
                     absl::Base64Escape(Vector("cert.pem")),
                     "\ncontexts:\n- name: c\n  context:\n    cluster: c\n"
                     "    user: u\ncurrent-context: c\nusers:\n- name: u\n"
                     "  user:\n    token: t\n"));
    return path;
  }
  SealKeystoreOutcome Run(const SealKeystoreOptions& options) {
    return RunSealKeystore(options, &clock_);
  }

  std::string dir_;
  std::string keystore_;
  v1::Cluster cluster_;
  FakeClock clock_;
};

TEST_F(SealKeystoreContractTest, DirectoryAsInOrStateIsBadInputAndNoLockLeft) {
  fs::create_directories(dir_ + "/adir");
  for (const char* command : {"seal", "backup", "restore"}) {
    for (bool state : {false, true}) {
      SealKeystoreOptions options = ClusterCommand(command);
      (state ? options.common.state : options.common.in) = dir_ + "/adir";
      SealKeystoreOutcome outcome = Run(options);
      EXPECT_EQ(outcome.status.code(), absl::StatusCode::kInvalidArgument)
          << command << " " << outcome.status;
      EXPECT_THAT(outcome.status.message(), HasSubstr("adir"));
      EXPECT_FALSE(fs::exists(dir_ + "/adir.lock")) << command;
      EXPECT_THAT(outcome.out, IsEmpty());
    }
  }
}

TEST_F(SealKeystoreContractTest,
       InvalidSpecIsBadInputWithPositionAndNoNetwork) {
  SilentTcpListener api;
  v1::Cluster invalid = cluster_;
  invalid.mutable_spec()->mutable_nodes(1)->set_ip(
      cluster_.spec().nodes(0).ip());
  WriteTestFile(dir_ + "/invalid.txtpb", ClusterToText(invalid));
  const std::string before = ReadTestFile(dir_ + "/invalid.txtpb");
  for (const char* command : {"seal", "backup", "restore"}) {
    SealKeystoreOptions options = ClusterCommand(command);
    options.common.state = dir_ + "/invalid.txtpb";
    options.kube.kubeconfig = Kubeconfig(api.port());
    SealKeystoreOutcome outcome = Run(options);
    EXPECT_EQ(outcome.status.code(), absl::StatusCode::kInvalidArgument)
        << command;
    EXPECT_THAT(std::string(outcome.status.message()),
                ::testing::MatchesRegex(".*invalid\\.txtpb:[0-9]+:[0-9]+: .*"))
        << command;
    EXPECT_FALSE(fs::exists(dir_ + "/invalid.txtpb.lock")) << command;
    EXPECT_FALSE(api.Contacted()) << command;
  }
  EXPECT_EQ(ReadTestFile(dir_ + "/invalid.txtpb"), before);
  EXPECT_FALSE(fs::exists(dir_ + "/gitops"));
}

TEST_F(SealKeystoreContractTest, DryRunFailsWhenTheKeystoreCannotBeReached) {
  // No Secret Service behind this session bus (nothing in this test binary
  // connected to a bus before).
  setenv("DBUS_SESSION_BUS_ADDRESS",
         absl::StrCat("unix:path=", dir_, "/no-bus").c_str(), 1);
  SealKeystoreOptions options = Batch();
  options.common.keystore = "secret-service";
  options.common.in = dir_ + "/state.txtpb";
  options.common.dry_run = true;
  SealKeystoreOutcome outcome = Run(options);
  EXPECT_EQ(outcome.status.code(), absl::StatusCode::kUnavailable)
      << outcome.status;
  EXPECT_THAT(outcome.status.message(),
              HasSubstr("the keystore at secret-service"));
  EXPECT_FALSE(fs::exists(dir_ + "/gitops"));
}

TEST_F(SealKeystoreContractTest, DryRunWithTheApiNotUpYetIsPending) {
  SealKeystoreOptions options = Options("restore");
  options.common.in = dir_ + "/state.txtpb";
  options.common.dry_run = true;
  // The kubeconfig is not written yet.
  SealKeystoreOutcome unwritten = Run(options);
  ASSERT_TRUE(unwritten.status.ok()) << unwritten.status;
  EXPECT_THAT(unwritten.err,
              HasSubstr(absl::StrCat("plan: pending: the kubeconfig at ", dir_,
                                     "/kubeconfig")));
  // The kubeconfig is there, the API (the VIP) does not answer.
  SilentTcpListener closed;
  const int port = closed.port();
  closed.Close();
  options.kube.kubeconfig = Kubeconfig(port);
  for (const char* command : {"backup", "restore"}) {
    options.command = command;
    SealKeystoreOutcome outcome = Run(options);
    ASSERT_TRUE(outcome.status.ok()) << command << ": " << outcome.status;
    EXPECT_THAT(outcome.err,
                HasSubstr(absl::StrCat("plan: pending: the Kubernetes API at "
                                       "https://127.0.0.1:",
                                       port)))
        << command;
  }
  // Outside a dry run the same is a failure of the world (exit 1).
  options.common.dry_run = false;
  SealKeystoreOutcome real = Run(options);
  EXPECT_EQ(real.status.code(), absl::StatusCode::kUnavailable) << real.status;
}

TEST_F(SealKeystoreContractTest,
       DryRunWithStateChangesNothingAndPrintsNothing) {
  const std::string before = ReadTestFile(dir_ + "/state.txtpb");
  for (const char* command : {"seal", "backup", "restore"}) {
    SealKeystoreOptions options = ClusterCommand(command);
    options.common.state = dir_ + "/state.txtpb";
    options.common.dry_run = true;
    SealKeystoreOutcome outcome = Run(options);
    ASSERT_TRUE(outcome.status.ok()) << command << ": " << outcome.status;
    EXPECT_THAT(outcome.out, IsEmpty()) << command;
    EXPECT_EQ(ReadTestFile(dir_ + "/state.txtpb"), before) << command;
  }
  EXPECT_FALSE(fs::exists(dir_ + "/gitops"));
}

TEST_F(SealKeystoreContractTest, DryRunWithoutStateEchoesTheInput) {
  for (const char* command : {"seal", "backup", "restore"}) {
    SealKeystoreOptions options = ClusterCommand(command);
    options.common.in = dir_ + "/state.txtpb";
    options.common.dry_run = true;
    SealKeystoreOutcome outcome = Run(options);
    ASSERT_TRUE(outcome.status.ok()) << command << ": " << outcome.status;
    absl::StatusOr<ParsedCluster> echoed =
        ParseClusterText(outcome.out, "stdout");
    ASSERT_TRUE(echoed.ok()) << echoed.status();
    v1::Cluster expected = cluster_;
    expected.set_schema_version(echoed->cluster.schema_version());
    EXPECT_EQ(ClusterToText(echoed->cluster), ClusterToText(expected))
        << command;
  }
  // The plan names what a real run would write.
  SealKeystoreOptions options = Batch();
  options.common.in = dir_ + "/state.txtpb";
  options.common.dry_run = true;
  EXPECT_THAT(
      Run(options).err,
      HasSubstr("plan: write " + dir_ +
                "/gitops/k8s/csi-proxmox/proxmox-csi-plugin.sealed.yaml"));
}

TEST_F(SealKeystoreContractTest, EventsFileHasTheSteps) {
  SealKeystoreOptions options = Batch();
  options.common.state = dir_ + "/state.txtpb";
  options.common.events = dir_ + "/events.jsonl";
  SealKeystoreOutcome outcome = Run(options);
  ASSERT_TRUE(outcome.status.ok()) << outcome.status;
  std::set<std::pair<std::string, std::string>> seen;  // (step, event)
  for (absl::string_view line : absl::StrSplit(
           ReadTestFile(dir_ + "/events.jsonl"), '\n', absl::SkipEmpty())) {
    const nlohmann::json record = nlohmann::json::parse(line);
    EXPECT_EQ(record["tool"], "seal-keystore");
    if (record["event"] == "end") {
      EXPECT_EQ(record["outcome"], "ok");
    }
    seen.insert({record.value("step", ""), record["event"]});
  }
  for (const char* step : {"seal-keystore", "seal --batch",
                           "seal csi-proxmox/proxmox-csi-plugin"}) {
    EXPECT_TRUE(seen.count({step, "start"})) << step;
    EXPECT_TRUE(seen.count({step, "end"})) << step;
  }
}

}  // namespace
}  // namespace coldstart
