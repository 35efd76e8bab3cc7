// The tool contract (DESIGN.md "Tool contract") of verify-cluster: bad input,
// dry run, events, and the real binary's exit codes.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "lib/cli/cli.h"
#include "lib/cli/cluster_textproto.h"
#include "lib/testing/files.h"
#include "lib/testing/tcp_listener.h"
#include "nlohmann/json.hpp"
#include "tools/verify-cluster/verify_cluster.h"
#include "tools/verify-cluster/verify_cluster_fixture.h"

namespace coldstart {
namespace {

using ::coldstart::testing::SilentTcpListener;

using ::coldstart::testing::MakeTempDir;
using ::coldstart::testing::ReadTestFile;
using ::coldstart::testing::RunfilePath;
using ::coldstart::testing::WriteTestFile;
using ::testing::ContainsRegex;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using Json = nlohmann::json;

bool Exists(const std::string& path) {
  struct stat info;
  return stat(path.c_str(), &info) == 0;
}

class VerifyClusterContractTest : public VerifyClusterFixture {
 protected:
  // The simulator's kubeconfig with its server moved to `port`.
  std::string KubeconfigForPort(int port) {
    const std::string path = absl::StrCat(dir_, "/port.kubeconfig");
    WriteTestFile(path,
                  absl::StrReplaceAll(
                      ReadTestFile(sim_->kubeconfig_path),
                      {{sim_->url, absl::StrCat("https://127.0.0.1:", port)}}),
                  0600);
    return path;
  }
  // The lab spec with `status` added, as a state file.
  std::string StateWith(const v1::ClusterStatus& status) {
    v1::Cluster cluster = cluster_;
    *cluster.mutable_status() = status;
    const std::string path = absl::StrCat(dir_, "/state.txtpb");
    WriteTestFile(path, ClusterToText(cluster));
    return path;
  }
  // The records of the events file, one JSON object per line.
  std::vector<Json> Events(const std::string& path) {
    std::vector<Json> records;
    for (absl::string_view line :
         absl::StrSplit(ReadTestFile(path), '\n', absl::SkipEmpty())) {
      records.push_back(Json::parse(line));
    }
    return records;
  }
};

TEST_F(VerifyClusterContractTest, DirectoryAsInOrStateIsBadInputNoLockFile) {
  const std::string directory = MakeTempDir("a-dir");
  VerifyOptions in = Options();
  in.common.in = directory;
  EXPECT_EQ(Verify(in).code(), absl::StatusCode::kInvalidArgument);
  VerifyOptions state = Options();
  state.common.in.clear();
  state.common.state = directory;
  absl::Status status = Verify(state);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), HasSubstr("is a directory"));
  EXPECT_FALSE(Exists(directory + ".lock"));
}

TEST_F(VerifyClusterContractTest, InvalidSpecIsBadInputAndNothingIsSent) {
  std::string bad = spec_text_;
  const std::string ip = "127.0.1.2";  // ctrl-2 on ctrl-1's address
  ASSERT_NE(bad.find(ip), std::string::npos);
  bad.replace(bad.find(ip), ip.size(), "127.0.1.1");
  const std::string state = absl::StrCat(dir_, "/bad.txtpb");
  WriteTestFile(state, bad);
  SilentTcpListener api;
  VerifyOptions options = Options();
  options.common.in.clear();
  options.common.state = state;
  options.kube.kubeconfig = KubeconfigForPort(api.port());
  for (bool dry_run : {false, true}) {
    options.common.dry_run = dry_run;
    absl::Status status = Verify(options);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(status.message()),
                ContainsRegex("bad\\.txtpb:[0-9]+:[0-9]+: "));
    EXPECT_THAT(std::string(status.message()),
                HasSubstr("duplicate IP 127.0.1.1"));
  }
  EXPECT_FALSE(api.Contacted());
  EXPECT_FALSE(Exists(state + ".lock"));
  EXPECT_EQ(ReadTestFile(state), bad);
  EXPECT_THAT(out_, IsEmpty());
}

TEST_F(VerifyClusterContractTest, EmptySpecInDryRunIsBadInput) {
  VerifyOptions options = Options();
  options.common.in = "/dev/null";
  options.common.dry_run = true;
  EXPECT_EQ(Verify(options).code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(VerifyClusterContractTest, DryRunWithStateChangesNothingAndPlans) {
  Play("healthy.txtpb", absl::Hours(1));
  const std::string state = absl::StrCat(dir_, "/state.txtpb");
  WriteTestFile(state, spec_text_);  // with its comments: not normalized
  VerifyOptions options = Options();
  options.common.in.clear();
  options.common.state = state;
  options.common.dry_run = true;
  absl::Status status = Verify(options);
  ASSERT_TRUE(status.ok()) << status << "\n" << err_;
  EXPECT_EQ(ReadTestFile(state), spec_text_);
  EXPECT_THAT(out_, IsEmpty());
  EXPECT_THAT(err_, HasSubstr("plan: would run nodes-ready (nodes)"));
  EXPECT_THAT(err_, HasSubstr(absl::StrCat("the Kubernetes API at ", sim_->url,
                                           " answers")));
  EXPECT_THAT(err_, Not(HasSubstr("CHECK")));  // no checks were run
}

TEST_F(VerifyClusterContractTest, DryRunWithoutStateEchoesTheInputUnchanged) {
  Play("healthy.txtpb", absl::Hours(1));
  VerifyOptions options = Options();
  options.common.dry_run = true;
  v1::Cluster out;
  ASSERT_TRUE(Verify(options, &out).ok()) << err_;
  EXPECT_FALSE(out.has_status());
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(
      out.spec(), cluster_.spec()));
}

TEST_F(VerifyClusterContractTest, DryRunApiOfAClusterNotBootstrappedIsPending) {
  sim_->https->Stop();
  VerifyOptions options = Options();
  options.common.dry_run = true;
  absl::Status status = Verify(options);
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_THAT(err_, HasSubstr(absl::StrCat(
                        "plan: pending: the Kubernetes API at ", sim_->url)));
}

TEST_F(VerifyClusterContractTest, DryRunKubeconfigNotYetWrittenIsPending) {
  const std::string later = absl::StrCat(dir_, "/later/kubeconfig");
  cluster_.mutable_spec()->mutable_talos()->set_kubeconfig_path(later);
  WriteTestFile(in_path_, ClusterToText(cluster_));
  for (const std::string& flag : {std::string(""), later}) {
    VerifyOptions options = Options();
    options.kube.kubeconfig = flag;
    options.common.dry_run = true;
    absl::Status status = Verify(options);
    ASSERT_TRUE(status.ok()) << status;
    EXPECT_THAT(err_, HasSubstr("plan: pending: kubeconfig ("));
    EXPECT_THAT(err_, HasSubstr("written by talos-bootstrap"));
  }
}

TEST_F(VerifyClusterContractTest, DryRunUnreachableApiOfABootstrappedCluster) {
  v1::ClusterStatus status;
  status.mutable_talos_bootstrap()->set_etcd_bootstrapped(true);
  status.mutable_talos_bootstrap()->set_kubeconfig_path(sim_->kubeconfig_path);
  const std::string state = StateWith(status);
  sim_->https->Stop();
  VerifyOptions options = Options();
  options.common.in.clear();
  options.common.state = state;
  options.kube.kubeconfig.clear();
  options.common.dry_run = true;
  absl::Status result = Verify(options);
  EXPECT_EQ(ExitCodeForStatus(result), kExitFailed) << result;
  EXPECT_EQ(result.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(result.message()),
              HasSubstr(absl::StrCat("the Kubernetes API at ", sim_->url,
                                     " cannot be used")));
}

TEST_F(VerifyClusterContractTest, EventsHaveOneStepPerCheck) {
  Play("missing_secret.txtpb", absl::Hours(1));
  VerifyOptions options = Options();
  options.common.events = absl::StrCat(dir_, "/events.jsonl");
  EXPECT_EQ(Verify(options).code(), absl::StatusCode::kFailedPrecondition);
  std::map<std::string, std::vector<Json>> by_step;
  for (const Json& record : Events(options.common.events)) {
    if (record["event"] == "note") continue;
    EXPECT_FALSE(record.contains("node")) << record;
    by_step[record["step"].get<std::string>()].push_back(record);
  }
  // The run, and the 9 checks of the lab spec.
  ASSERT_EQ(by_step.size(), 10u);
  EXPECT_EQ(by_step["verify-cluster"].size(), 2u);
  for (const v1::Check& check : cluster_.spec().verify().checks()) {
    const std::vector<Json>& records = by_step[check.name()];
    ASSERT_EQ(records.size(), 2u) << check.name();
    EXPECT_EQ(records[0]["event"], "start");
    EXPECT_EQ(records[1]["event"], "end");
    const bool missing = check.name() == "authentik-bootstrap";
    EXPECT_EQ(records[1]["outcome"], missing ? "failed" : "ok");
    if (missing) {
      EXPECT_THAT(records[1]["message"].get<std::string>(),
                  HasSubstr("authentik/authentik-bootstrap: not found"));
    }
  }
}

TEST_F(VerifyClusterContractTest, StepOfACheckLastsUntilItPasses) {
  Play("heals.txtpb", absl::Seconds(40), /*follow_clock=*/true);
  VerifyOptions options = Options();
  options.wait = absl::Minutes(2);
  options.common.events = absl::StrCat(dir_, "/events.jsonl");
  ASSERT_TRUE(Verify(options).ok()) << err_;
  std::vector<Json> vault;
  for (const Json& record : Events(options.common.events)) {
    if (record.value("step", "") == "vault-pods") vault.push_back(record);
  }
  // One step across every round: started at the first, ended once healed.
  ASSERT_EQ(vault.size(), 2u);
  EXPECT_EQ(vault[1]["outcome"], "ok");
  EXPECT_GE(vault[1]["duration_ms"].get<int64_t>(), 50000);
}

// The real binary: exit codes 0 / 1 / 2, table on stderr, JSON on stdout.
int RunBinary(const std::string& args, std::string* out, std::string* err,
              const std::string& dir) {
  const std::string o = absl::StrCat(dir, "/bin.out");
  const std::string e = absl::StrCat(dir, "/bin.err");
  const int status =
      system(absl::StrCat(RunfilePath("tools/verify-cluster/verify-cluster"),
                          " ", args, " >", o, " 2>", e)
                 .c_str());
  *out = ReadTestFile(o);
  *err = ReadTestFile(e);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST_F(VerifyClusterContractTest, BinaryExitCodes) {
  Play("healthy.txtpb", absl::Hours(1));
  std::string out, err;
  const std::string common =
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
  EXPECT_EQ(RunBinary(absl::StrCat(common, " --wait -5s"), &out, &err, dir_),
            2);
  EXPECT_EQ(RunBinary(absl::StrCat("--in ", dir_, "/missing.txtpb"), &out, &err,
                      dir_),
            2);
  EXPECT_EQ(RunBinary("--dry-run --in /dev/null", &out, &err, dir_), 2);
  EXPECT_THAT(out, IsEmpty());
}

}  // namespace
}  // namespace coldstart
