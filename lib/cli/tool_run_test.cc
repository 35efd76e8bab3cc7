#include "lib/cli/tool_run.h"

#include <sys/stat.h>
#include <unistd.h>

#include <memory>
#include <sstream>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/base/environment.h"
#include "lib/cli/cli.h"
#include "lib/testing/fake_clock.h"
#include "lib/testing/files.h"

namespace coldstart {
namespace {

using ::coldstart::testing::MakeTempDir;
using ::coldstart::testing::ReadTestFile;
using ::coldstart::testing::RunfilePath;
using ::coldstart::testing::WriteTestFile;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

bool Exists(const std::string& path) {
  struct stat info;
  return stat(path.c_str(), &info) == 0;
}

class ToolRunTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir("tool_run");
    spec_text_ = ReadTestFile(RunfilePath("testdata/lab.txtpb"));
    state_ = dir_ + "/state.txtpb";
    WriteTestFile(state_, spec_text_);
    io_.clock = &clock_;
    io_.environment = FixedEnvironment({});
  }
  std::string dir_, spec_text_, state_;
  std::ostringstream out_, err_;
  FakeClock clock_;
  ToolIo io_{out_, err_};
};

TEST_F(ToolRunTest, DryRunWithStateNeverWritesTheStateFileNorStdout) {
  CommonOptions options;
  options.state = state_;
  options.dry_run = true;
  auto run = ToolRun::Open("t", options, io_);
  ASSERT_TRUE(run.ok()) << run.status();
  (*run)->cluster().mutable_status()->mutable_provision();  // a change
  (*run)->cluster().mutable_spec()->set_name("changed");
  EXPECT_TRUE((*run)->Finish(absl::OkStatus()).ok());
  EXPECT_EQ(ReadTestFile(state_), spec_text_);
  EXPECT_THAT(out_.str(), IsEmpty());
}

TEST_F(ToolRunTest, DryRunWithoutStateEchoesTheInputUnchanged) {
  CommonOptions options;
  options.in = state_;
  options.dry_run = true;
  auto run = ToolRun::Open("t", options, io_);
  ASSERT_TRUE(run.ok()) << run.status();
  (*run)->cluster().mutable_spec()->set_name("changed");
  EXPECT_TRUE((*run)->Finish(absl::OkStatus()).ok());
  EXPECT_THAT(out_.str(), HasSubstr("name: \"test-cluster\""));
  EXPECT_THAT(out_.str(), Not(HasSubstr("changed")));
}

TEST_F(ToolRunTest, FailedRunStillWritesThePartialStatusItReached) {
  CommonOptions options;
  options.state = state_;
  auto run = ToolRun::Open("t", options, io_);
  ASSERT_TRUE(run.ok()) << run.status();
  (*run)
      ->cluster()
      .mutable_status()
      ->mutable_talos_bootstrap()
      ->set_etcd_bootstrapped(true);
  absl::Status status = (*run)->Finish(absl::UnavailableError("lost"));
  EXPECT_EQ(status, absl::UnavailableError("lost"));
  EXPECT_THAT(ReadTestFile(state_), HasSubstr("etcd_bootstrapped: true"));
}

TEST_F(ToolRunTest, DirectoryAsInputOrStateIsBadInputAndLeavesNoLockFile) {
  const std::string directory = MakeTempDir("a-dir");
  CommonOptions in;
  in.in = directory;
  EXPECT_EQ(ToolRun::Open("t", in, io_).status().code(),
            absl::StatusCode::kInvalidArgument);
  CommonOptions state;
  state.state = directory;
  absl::Status status = ToolRun::Open("t", state, io_).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("is a directory"));
  EXPECT_FALSE(Exists(directory + ".lock"));
}

TEST_F(ToolRunTest, InvalidSpecIsEveryProblemWithLineAndColumnAndNoLockFile) {
  std::string bad = spec_text_;
  // Two nodes on one address.
  const std::string ip = "127.0.1.2";
  ASSERT_NE(bad.find(ip), std::string::npos);
  bad.replace(bad.find(ip), ip.size(), "127.0.1.1");
  WriteTestFile(state_, bad);
  CommonOptions options;
  options.state = state_;
  absl::Status status = ToolRun::Open("t", options, io_).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr(state_ + ":"));
  EXPECT_THAT(status.message(), HasSubstr("127.0.1.1"));
  EXPECT_FALSE(Exists(state_ + ".lock"));
  EXPECT_EQ(ReadTestFile(state_), bad);
}

TEST_F(ToolRunTest, EmptyKeystoreVariableFallsBackToTheSpec) {
  std::string text = spec_text_;
  const std::string from = "keystore: \"secret-service\"";
  ASSERT_NE(text.find(from), std::string::npos);
  text.replace(text.find(from), from.size(),
               absl::StrCat("keystore: \"file:", dir_, "/ks\""));
  WriteTestFile(state_, text);
  io_.environment = FixedEnvironment({{"COLDSTART_KEYSTORE", ""}});
  CommonOptions options;
  options.in = state_;
  auto run = ToolRun::Open("t", options, io_);
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_EQ((*run)->keystore_spec(), absl::StrCat("file:", dir_, "/ks"));
}

TEST_F(ToolRunTest, CredentialComesFromTheEnvironmentFirstAndSaysSo) {
  io_.environment = FixedEnvironment(
      {{"COLDSTART_KEYSTORE", "file:" + dir_ + "/ks"}, {"TOKEN", "s3cret"}});
  CommonOptions options;
  options.in = state_;
  auto run = ToolRun::Open("t", options, io_);
  ASSERT_TRUE(run.ok()) << run.status();
  ASSERT_TRUE((*(*run)->keystore())
                  ->Store(ClusterSecretAttributes("test-cluster", "token"), "t",
                          Secret::FromView("stored"))
                  .ok());
  absl::StatusOr<Secret> got =
      (*run)->Credential({"the token", "TOKEN", "", "token"});
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->Reveal(), "s3cret");
  EXPECT_THAT(err_.str(),
              HasSubstr("using the token from environment variable TOKEN"));
  EXPECT_THAT(err_.str(), Not(HasSubstr("s3cret")));
  // Without the variable: the keystore item of this cluster.
  absl::StatusOr<Secret> stored =
      (*run)->Credential({"the token", "NOT_SET", "", "token"});
  ASSERT_TRUE(stored.ok()) << stored.status();
  EXPECT_EQ(stored->Reveal(), "stored");
  // Neither: FailedPrecondition (exit 1) saying what to do.
  absl::StatusOr<Secret> missing =
      (*run)->Credential({"the key", "NOT_SET", "", "missing"});
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(missing.status().message(), HasSubstr("set $NOT_SET"));
}

TEST_F(ToolRunTest, UnreachableMustExistFailsPendingEndpointIsAPlanLine) {
  CommonOptions options;
  options.in = state_;
  options.dry_run = true;
  auto run = ToolRun::Open("t", options, io_);
  ASSERT_TRUE(run.ok()) << run.status();
  const absl::Status refused = absl::UnavailableError("connection refused");
  absl::Status must = (*run)->CheckEndpoint(
      "Proxmox", "https://127.0.0.1:1", EndpointExistence::kMustExist, refused);
  EXPECT_EQ(must.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(must.message(), HasSubstr("Proxmox at https://127.0.0.1:1"));
  EXPECT_TRUE((*run)
                  ->CheckEndpoint("the Kubernetes API", "https://127.0.3.1",
                                  EndpointExistence::kCreatedEarlier, refused)
                  .ok());
  EXPECT_THAT(err_.str(), HasSubstr("plan: pending: the Kubernetes API at "
                                    "https://127.0.3.1"));
  // A broken credential stops it even where the endpoint is pending.
  EXPECT_EQ((*run)
                ->CheckEndpoint("Headscale", "https://127.0.0.9",
                                EndpointExistence::kCreatedEarlier,
                                absl::UnauthenticatedError("401"))
                .code(),
            absl::StatusCode::kUnauthenticated);
}

TEST_F(ToolRunTest, EventsFileRecordsTheRunStep) {
  CommonOptions options;
  options.in = state_;
  options.events = dir_ + "/events.jsonl";
  {
    auto run = ToolRun::Open("my-tool", options, io_);
    ASSERT_TRUE(run.ok()) << run.status();
    EXPECT_TRUE((*run)->Finish(absl::OkStatus()).ok());
  }
  const std::string events = ReadTestFile(dir_ + "/events.jsonl");
  EXPECT_THAT(events, HasSubstr("\"step\":\"my-tool\""));
  EXPECT_THAT(events, HasSubstr("\"event\":\"start\""));
  EXPECT_THAT(events, HasSubstr("\"outcome\":\"ok\""));
  // The run step is for the timeline; stderr does not say "my-tool: my-tool".
  EXPECT_THAT(err_.str(), Not(HasSubstr("my-tool: my-tool")));
}

TEST_F(ToolRunTest, EventsPathThatIsADirectoryIsBadInput) {
  CommonOptions options;
  options.in = state_;
  options.events = dir_;
  EXPECT_EQ(ToolRun::Open("t", options, io_).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(ToolRunTest, PollForPrintsWhatItWaitsForAfterASecond) {
  CommonOptions options;
  options.in = state_;
  auto run = ToolRun::Open("t", options, io_);
  ASSERT_TRUE(run.ok()) << run.status();
  PollOptions poll = (*run)->PollFor("the VIP", absl::Minutes(1));
  poll.backoff.initial = poll.backoff.max = absl::Milliseconds(600);
  int calls = 0;
  ASSERT_TRUE(Poll(poll, [&](PollAttempt&) {
                return ++calls < 4 ? absl::UnavailableError("no route")
                                   : absl::OkStatus();
              }).ok());
  EXPECT_THAT(err_.str(), HasSubstr("waiting for the VIP"));
  EXPECT_THAT(err_.str(), HasSubstr("last: no route"));
}

}  // namespace
}  // namespace coldstart
