#include "lib/cli/cli.h"

#include <sstream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/cli/cli_flags.h"
#include "lib/cli/cluster_textproto.h"
#include "lib/testing/files.h"

namespace coldstart {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

using ::coldstart::testing::ReadTestFile;
using ::coldstart::testing::RunfilePath;
using ::coldstart::testing::TestTempDir;
using ::coldstart::testing::WriteTestFile;

TEST(CliTest, ExitCodes) {
  EXPECT_EQ(ExitCodeForStatus(absl::OkStatus()), 0);
  EXPECT_EQ(ExitCodeForStatus(absl::InvalidArgumentError("x")), 2);
  EXPECT_EQ(ExitCodeForStatus(absl::UnavailableError("x")), 1);
  EXPECT_EQ(ExitCodeForStatus(absl::FailedPreconditionError("x")), 1);
  EXPECT_EQ(ExitCodeForStatus(absl::DeadlineExceededError("x")), 1);
  EXPECT_EQ(ExitCodeForStatus(absl::InternalError("x")), 1);
}

TEST(CliTest, OutputFormats) {
  EXPECT_EQ(*ParseOutputFormat("json"), OutputFormat::kJson);
  EXPECT_EQ(*ParseOutputFormat("textproto"), OutputFormat::kTextproto);
  EXPECT_EQ(ParseOutputFormat("yaml").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(CliTest, NormalizeFlagNames) {
  const char* argv[] = {"tool", "--dry-run",   "--lab-ca-file=a-b.pem",
                        "plan", "-o",          "json",
                        "--",   "--not-a-flag"};
  std::vector<std::string> out =
      NormalizeFlagNames(8, const_cast<char**>(argv));
  EXPECT_THAT(out, ElementsAre("tool", "--dry_run", "--lab_ca_file=a-b.pem",
                               "plan", "-o", "json", "--", "--not-a-flag"));
}

TEST(CliTest, CommonOptionsFromFlags) {
  absl::SetFlag(&FLAGS_in, "x.txtpb");
  absl::SetFlag(&FLAGS_o, "json");
  absl::SetFlag(&FLAGS_dry_run, true);
  absl::StatusOr<CommonOptions> options = CommonOptionsFromFlags();
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(options->in, "x.txtpb");
  EXPECT_EQ(options->output, OutputFormat::kJson);
  EXPECT_TRUE(options->dry_run);
  absl::SetFlag(&FLAGS_state, "s.txtpb");
  EXPECT_EQ(CommonOptionsFromFlags().status().code(),
            absl::StatusCode::kInvalidArgument);
  absl::SetFlag(&FLAGS_state, "");
  absl::SetFlag(&FLAGS_o, "xml");
  EXPECT_EQ(CommonOptionsFromFlags().status().code(),
            absl::StatusCode::kInvalidArgument);
  absl::SetFlag(&FLAGS_o, "textproto");
  absl::SetFlag(&FLAGS_in, "");
  absl::SetFlag(&FLAGS_dry_run, false);
}

TEST(CliTest, StateFileReadWriteLocked) {
  const std::string state = TestTempDir() + "/state.txtpb";
  WriteTestFile(state,
                ReadTestFile(RunfilePath("testdata/agentydragon.txtpb")));
  CommonOptions options;
  options.state = state;
  absl::StatusOr<ClusterSession> session = ClusterSession::Open(options);
  ASSERT_TRUE(session.ok()) << session.status();
  // A second run on the same state waits for nobody: it is refused.
  absl::StatusOr<ClusterSession> second = ClusterSession::Open(options);
  EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition);

  coldstart::v1::Cluster cluster = session->input().cluster;
  cluster.mutable_status()->mutable_gitops()->set_flux_installed(true);
  std::ostringstream stdout_stream;
  ASSERT_TRUE(session->Write(cluster, stdout_stream).ok());
  EXPECT_EQ(stdout_stream.str(), "");  // --state writes the file, not stdout
  absl::StatusOr<ParsedCluster> reread = ReadClusterFile(state);
  ASSERT_TRUE(reread.ok()) << reread.status();
  EXPECT_TRUE(reread->cluster.status().gitops().flux_installed());
}

TEST(CliTest, WritesJsonToStdout) {
  CommonOptions options;
  options.in = "testdata/lab.txtpb";
  options.output = OutputFormat::kJson;
  absl::StatusOr<ClusterSession> session = ClusterSession::Open(options);
  ASSERT_TRUE(session.ok()) << session.status();
  std::ostringstream out;
  ASSERT_TRUE(session->Write(session->input().cluster, out).ok());
  EXPECT_THAT(out.str(), HasSubstr("\"api_vip\": \"127.0.3.1\""));
}

TEST(CliTest, MissingStateFileIsBadInput) {
  CommonOptions options;
  options.state = TestTempDir() + "/absent.txtpb";
  EXPECT_EQ(ClusterSession::Open(options).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(CliTest, PrintStatus) {
  std::ostringstream err;
  PrintStatus("tool", absl::InvalidArgumentError("f:1:2: bad"), err);
  PrintStatus("tool", absl::UnavailableError("down"), err);
  PrintStatus("tool", absl::OkStatus(), err);
  PrintStatus("tool", absl::InvalidArgumentError("--gate x: unknown"), err);
  PrintStatus("tool", absl::InvalidArgumentError("dir: is a directory"), err);
  EXPECT_EQ(err.str(),
            "f:1:2: bad\ntool: down\ntool: --gate x: unknown\n"
            "tool: dir: is a directory\n");
}

}  // namespace
}  // namespace coldstart
