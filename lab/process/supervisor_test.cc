#include "lab/process/supervisor.h"

#include <signal.h>

#include <cerrno>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/base/file.h"
#include "lib/testing/files.h"
#include "re2/re2.h"

namespace coldstart::lab {
namespace {

using ::coldstart::testing::ReadTestFile;
using ::coldstart::testing::RunfilePath;
using ::coldstart::testing::TestTempDir;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kSecret[] = "s3cr3t-token-value";

// Waits (no time limit of its own; the test's timeout bounds it) until the
// log has `needle`.
std::string WaitForLog(const std::string& path, const std::string& needle) {
  while (true) {
    std::string text = ReadFile(path).value_or("");
    if (text.find(needle) != std::string::npos) return text;
    absl::SleepFor(absl::Milliseconds(10));
  }
}

bool Alive(pid_t pid) { return kill(pid, 0) == 0; }

class SupervisorTest : public ::testing::Test {
 protected:
  SupervisorTest()
      : workdir_(absl::StrCat(
            TestTempDir(), "/",
            ::testing::UnitTest::GetInstance()->current_test_info()->name())),
        supervisor_(workdir_) {}

  ChildSpec Spec(const std::string& name, const std::string& mode) {
    ChildSpec spec;
    spec.name = name;
    spec.argv = {RunfilePath("lab/process/testdata/child.sh"), mode};
    spec.env = {{"LAB_SECRET", kSecret}, {"EXPECTED_SECRET", kSecret}};
    spec.stdin_data = absl::StrCat(kSecret, "\n");
    return spec;
  }

  pid_t Grandchild(const std::string& log) {
    std::string digits;
    EXPECT_TRUE(RE2::PartialMatch(log, R"(grandchild: (\d+))", &digits));
    pid_t pid = 0;
    EXPECT_TRUE(absl::SimpleAtoi(digits, &pid));
    return pid;
  }

  std::string workdir_;
  Supervisor supervisor_;
};

TEST_F(SupervisorTest, StartCapturesOutputAndPassesSecretsOutsideArgv) {
  absl::StatusOr<pid_t> pid = supervisor_.Start(Spec("polite", "polite"));
  ASSERT_TRUE(pid.ok()) << pid.status();
  std::string log_path = supervisor_.LogPath("polite");
  EXPECT_EQ(log_path, workdir_ + "/logs/polite.log");
  std::string log = WaitForLog(log_path, "ready");
  EXPECT_THAT(log, HasSubstr("[lab] starting polite: "));
  EXPECT_THAT(log, HasSubstr("args: polite"));
  EXPECT_THAT(log, HasSubstr("stdin secret: ok"));
  EXPECT_THAT(log, HasSubstr("env secret: ok"));
  EXPECT_THAT(log, Not(HasSubstr(kSecret)));
  EXPECT_TRUE(supervisor_.IsRunning("polite"));
  EXPECT_EQ(supervisor_.Start(Spec("polite", "polite")).status().code(),
            absl::StatusCode::kAlreadyExists);
  // Own process group, led by the child.
  EXPECT_EQ(getpgid(*pid), *pid);
}

TEST_F(SupervisorTest, StopTerminatesTheWholeGroupAndLeavesNothing) {
  absl::StatusOr<pid_t> pid = supervisor_.Start(Spec("polite", "polite"));
  ASSERT_TRUE(pid.ok()) << pid.status();
  pid_t grandchild =
      Grandchild(WaitForLog(supervisor_.LogPath("polite"), "ready"));
  ASSERT_TRUE(Alive(grandchild));

  absl::StatusOr<ChildExit> exit = supervisor_.Stop("polite");
  ASSERT_TRUE(exit.ok()) << exit.status();
  EXPECT_EQ(exit->pid, *pid);
  EXPECT_EQ(exit->signal, SIGTERM) << Describe(*exit);
  EXPECT_FALSE(exit->killed);
  EXPECT_FALSE(exit->leftovers);
  // Child and grandchild are gone and reaped (not even zombies).
  EXPECT_FALSE(Alive(*pid));
  EXPECT_FALSE(Alive(grandchild));
  EXPECT_EQ(kill(-*pid, 0), -1);
  EXPECT_EQ(errno, ESRCH);
  EXPECT_FALSE(supervisor_.IsRunning("polite"));
  EXPECT_TRUE(supervisor_.Running().empty());
}

TEST_F(SupervisorTest, GroupIgnoringSigtermIsKilledAfterGrace) {
  absl::StatusOr<pid_t> pid = supervisor_.Start(Spec("stubborn", "stubborn"));
  ASSERT_TRUE(pid.ok()) << pid.status();
  pid_t grandchild =
      Grandchild(WaitForLog(supervisor_.LogPath("stubborn"), "ready"));
  absl::StatusOr<ChildExit> exit =
      supervisor_.Stop("stubborn", absl::Milliseconds(100));
  ASSERT_TRUE(exit.ok()) << exit.status();
  EXPECT_TRUE(exit->killed) << Describe(*exit);
  EXPECT_EQ(exit->signal, SIGKILL);
  EXPECT_FALSE(exit->leftovers);
  EXPECT_FALSE(Alive(*pid));
  EXPECT_FALSE(Alive(grandchild));
}

TEST_F(SupervisorTest, StopAllStopsEveryChild) {
  ASSERT_TRUE(supervisor_.Start(Spec("a", "polite")).ok());
  ASSERT_TRUE(supervisor_.Start(Spec("b", "polite")).ok());
  WaitForLog(supervisor_.LogPath("a"), "ready");
  WaitForLog(supervisor_.LogPath("b"), "ready");
  std::vector<ChildExit> exits = supervisor_.StopAll();
  ASSERT_EQ(exits.size(), 2u);
  EXPECT_EQ(exits[0].name, "b");
  EXPECT_EQ(exits[1].name, "a");
  for (const ChildExit& e : exits) {
    EXPECT_FALSE(e.leftovers) << Describe(e);
    EXPECT_FALSE(Alive(e.pid));
  }
}

TEST_F(SupervisorTest, ExitCodeOfAChildThatEndsByItself) {
  ChildSpec spec;
  spec.name = "false";
  spec.argv = {"sh", "-c", "exit 3"};
  ASSERT_TRUE(supervisor_.Start(spec).ok());
  while (supervisor_.IsRunning("false")) absl::SleepFor(absl::Milliseconds(5));
  absl::StatusOr<ChildExit> exit = supervisor_.Stop("false");
  ASSERT_TRUE(exit.ok());
  EXPECT_EQ(exit->exit_code, 3);
  EXPECT_FALSE(exit->leftovers);
}

TEST_F(SupervisorTest, ExecFailureIsExit127WithALogLine) {
  ChildSpec spec;
  spec.name = "missing";
  spec.argv = {"/nonexistent/program"};
  ASSERT_TRUE(supervisor_.Start(spec).ok());
  while (supervisor_.IsRunning("missing")) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  absl::StatusOr<ChildExit> exit = supervisor_.Stop("missing");
  ASSERT_TRUE(exit.ok());
  EXPECT_EQ(exit->exit_code, 127);
  EXPECT_THAT(ReadTestFile(supervisor_.LogPath("missing")),
              HasSubstr("exec failed"));
}

TEST_F(SupervisorTest, RejectsBadSpecsAndUnknownNames) {
  ChildSpec spec;
  spec.name = "bad name";
  spec.argv = {"true"};
  EXPECT_EQ(supervisor_.Start(spec).status().code(),
            absl::StatusCode::kInvalidArgument);
  spec.name = "empty";
  spec.argv.clear();
  EXPECT_EQ(supervisor_.Start(spec).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(supervisor_.Stop("nobody").status().code(),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace coldstart::lab
