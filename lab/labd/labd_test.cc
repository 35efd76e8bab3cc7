// labd as a process, through the fixture: listeners from the ready file,
// request logs, faults from a file, and a clean SIGTERM shutdown that leaves
// no process behind (also the supervised child and its grandchild).
#include <signal.h>

#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "lab/testing/lab_fixture.h"
#include "lib/base/file.h"
#include "lib/testing/files.h"
#include "nlohmann/json.hpp"
#include "re2/re2.h"

namespace coldstart::lab {
namespace {

using ::coldstart::testing::ReadTestFile;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

std::vector<std::string> Calls(const std::vector<RequestRecord>& records) {
  std::vector<std::string> out;
  for (const RequestRecord& r : records) {
    out.push_back(absl::StrCat(r.method, " ", r.path, " ", r.status,
                               r.fault.empty() ? "" : " fault=", r.fault));
  }
  return out;
}

TEST(LabdTest, ServesLogsAndShutsDownCleanlyWithItsChildren) {
  LabProcessOptions options;
  options.module_options = {
      "echo.child=" + RunfilePath("lab/process/testdata/child.sh"),
      "echo.child_secret_env=ECHO_CHILD_SECRET"};
  options.env = {{"ECHO_CHILD_SECRET", "not-in-argv"},
                 {"EXPECTED_SECRET", "not-in-argv"}};
  auto lab = LabProcess::Start(options);
  ASSERT_TRUE(lab.ok()) << lab.status();
  std::string echo = (*lab)->ModuleAddress("echo");
  ASSERT_THAT(echo, HasSubstr("127.0.10.250:"));

  httplib::Client client("http://" + echo);
  auto res = client.Get("/echo?msg=ping");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->body, "ping");
  auto created = client.Post("/things", "vmid=1500&name=ctrl-1",
                             "application/x-www-form-urlencoded");
  ASSERT_TRUE(created);
  EXPECT_EQ(created->status, 200);

  // The request log, from the file and from the admin endpoint.
  auto records = (*lab)->Requests("echo");
  ASSERT_TRUE(records.ok()) << records.status();
  EXPECT_THAT(Calls(*records),
              ElementsAre("GET /echo 200", "POST /things 200"));
  httplib::Client admin("http://" + (*lab)->admin_address());
  auto logged = admin.Get("/_lab/requests?module=echo");
  ASSERT_TRUE(logged);
  nlohmann::json entries = nlohmann::json::parse(logged->body);
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[1]["method"], "POST");
  EXPECT_EQ(admin.Get("/_lab/requests?module=nope")->status, 404);
  EXPECT_THAT(admin.Get("/_lab/critical-path")->body,
              HasSubstr("total                                       1.58s"));

  // The supervised child runs, got its secret on stdin, logs under workdir.
  std::string child_log_path = (*lab)->workdir() + "/logs/echo-child.log";
  std::string child_log;
  absl::Time deadline = absl::Now() + absl::Seconds(30);
  while ((child_log = ReadFile(child_log_path).value_or("")).find("ready") ==
         std::string::npos) {
    ASSERT_LT(absl::Now(), deadline)
        << "child never ready: " << child_log << (*lab)->Stderr();
    absl::SleepFor(absl::Milliseconds(10));
  }
  std::string digits;
  ASSERT_TRUE(RE2::PartialMatch(child_log, R"(grandchild: (\d+))", &digits));
  pid_t grandchild = 0;
  ASSERT_TRUE(absl::SimpleAtoi(digits, &grandchild));
  EXPECT_EQ(kill(grandchild, 0), 0);
  EXPECT_THAT(child_log, HasSubstr("stdin secret: ok"));
  EXPECT_THAT(child_log, Not(HasSubstr("not-in-argv")));
  EXPECT_THAT((*lab)->Stderr(), Not(HasSubstr("not-in-argv")));
  EXPECT_THAT(ReadTestFile(absl::StrCat("/proc/", (*lab)->pid(), "/cmdline")),
              Not(HasSubstr("not-in-argv")));

  absl::StatusOr<LabExit> exit = (*lab)->Stop();
  ASSERT_TRUE(exit.ok()) << exit.status();
  EXPECT_EQ(exit->exit_code, 0) << (*lab)->Stderr();
  EXPECT_FALSE(exit->leftovers)
      << ::testing::PrintToString(exit->leftover_processes);
  EXPECT_NE(kill(grandchild, 0), 0);
  EXPECT_THAT((*lab)->Stderr(), HasSubstr("echo: stopped echo-child"));
  EXPECT_THAT((*lab)->Stderr(), HasSubstr("labd: stopped"));
  // The task finished (or was dropped) without anything running afterwards:
  // the lab log is complete.
  EXPECT_THAT(ReadTestFile((*lab)->workdir() + "/lab.log"),
              HasSubstr("signal Terminated, stopping"));
}

TEST(LabdTest, FaultsFromTheFileFireAndAreLogged) {
  LabProcessOptions options;
  options.faults = R"pb(
    rules {
      name: "echo-unavailable"
      endpoint: "echo:GET /echo"
      nth_call: 2
      http_status { code: 503 body: "{\"data\":null}" }
    }
  )pb";
  auto lab = LabProcess::Start(options);
  ASSERT_TRUE(lab.ok()) << lab.status();
  httplib::Client client("http://" + (*lab)->ModuleAddress("echo"));
  EXPECT_EQ(client.Get("/echo?msg=a")->status, 200);
  EXPECT_EQ(client.Get("/echo?msg=b")->status, 503);
  EXPECT_EQ(client.Get("/echo?msg=c")->status, 200);

  httplib::Client admin("http://" + (*lab)->admin_address());
  nlohmann::json firings =
      nlohmann::json::parse(admin.Get("/_lab/faults")->body);
  ASSERT_EQ(firings.size(), 1u);
  EXPECT_EQ(firings[0]["rule"], "echo-unavailable");
  EXPECT_EQ(firings[0]["kind"], "http_status");
  EXPECT_EQ(firings[0]["call"], 2);
  auto records = (*lab)->Requests("echo");
  ASSERT_TRUE(records.ok());
  EXPECT_THAT(
      Calls(*records),
      ElementsAre("GET /echo 200", "GET /echo 503 fault=echo-unavailable",
                  "GET /echo 200"));

  absl::StatusOr<LabExit> exit = (*lab)->Stop();
  ASSERT_TRUE(exit.ok());
  EXPECT_EQ(exit->exit_code, 0);
  EXPECT_FALSE(exit->leftovers);
  EXPECT_THAT(ReadTestFile((*lab)->workdir() + "/lab.log"),
              HasSubstr("fault \"echo-unavailable\" (http_status) fired on "
                        "call 2: echo:GET /echo"));
}

TEST(LabdTest, BadInputExitsWithCode2) {
  LabProcessOptions options;
  options.spec_path = "/nonexistent/spec.txtpb";
  auto missing = LabProcess::Start(options);
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing.status().message(), HasSubstr("exited with code 2"));

  options = LabProcessOptions();
  options.faults = "rules { bogus: 1 }";
  auto bad_faults = LabProcess::Start(options);
  ASSERT_FALSE(bad_faults.ok());
  EXPECT_THAT(bad_faults.status().message(), HasSubstr("exited with code 2"));
  EXPECT_THAT(bad_faults.status().message(), HasSubstr("faults.txtpb:1:"));
}

}  // namespace
}  // namespace coldstart::lab
