#include "lab/faults/fault_injector.h"

#include <cstdlib>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace coldstart::lab {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::unique_ptr<FaultInjector> MakeInjector(const std::string& text) {
  absl::StatusOr<FaultFile> file = ParseFaultFile(text, "test.txtpb");
  EXPECT_TRUE(file.ok()) << file.status();
  absl::StatusOr<std::unique_ptr<FaultInjector>> injector =
      FaultInjector::Create(*file);
  EXPECT_TRUE(injector.ok()) << injector.status();
  return std::move(*injector);
}

absl::Status CreateStatus(const std::string& text) {
  absl::StatusOr<FaultFile> file = ParseFaultFile(text, "test.txtpb");
  if (!file.ok()) return file.status();
  return FaultInjector::Create(*file).status();
}

TEST(GlobTest, StarStaysInOneSegment) {
  RE2 re(GlobToRegex("pve:POST /api2/json/nodes/*/qemu"));
  EXPECT_TRUE(RE2::FullMatch("pve:POST /api2/json/nodes/pve/qemu", re));
  EXPECT_FALSE(RE2::FullMatch("pve:POST /api2/json/nodes/pve/qemu/100", re));
  EXPECT_FALSE(RE2::FullMatch("pve:POST /api2/json/nodes/a/b/qemu", re));
  EXPECT_FALSE(RE2::FullMatch("pve:GET /api2/json/nodes/pve/qemu", re));
  RE2 any(GlobToRegex("*:GET /**"));
  EXPECT_TRUE(RE2::FullMatch("echo:GET /a/b/c", any));
  RE2 dot(GlobToRegex("x:GET /a.b?"));
  EXPECT_TRUE(RE2::FullMatch("x:GET /a.bc", dot));
  EXPECT_FALSE(RE2::FullMatch("x:GET /aXbc", dot));
}

TEST(FaultInjectorTest, NthCallFiresOnlyOnThatCall) {
  auto faults = MakeInjector(R"pb(
    rules {
      name: "second"
      endpoint: "echo:GET /echo"
      nth_call: 2
      http_status { code: 500 }
    }
  )pb");
  std::vector<bool> fired;
  for (int i = 0; i < 4; ++i) {
    fired.push_back(faults->Decide("echo", "GET", "/echo").fired());
  }
  EXPECT_THAT(fired, ElementsAre(false, true, false, false));
  // Calls the rule does not watch are not counted.
  EXPECT_FALSE(faults->Decide("echo", "POST", "/echo").fired());
  EXPECT_EQ(faults->FiredCount("second"), 1);
}

TEST(FaultInjectorTest, FirstCallsAndAlways) {
  auto faults = MakeInjector(R"pb(
    rules {
      name: "first-two"
      endpoint: "a:GET /x"
      first_calls: 2
      delay { ms: 1 }
    }
    rules {
      name: "always"
      endpoint: "a:GET /y"
      connection_reset {}
    }
  )pb");
  std::vector<bool> x, y;
  for (int i = 0; i < 3; ++i) {
    x.push_back(faults->Decide("a", "GET", "/x").fired());
    y.push_back(faults->Decide("a", "GET", "/y").fired());
  }
  EXPECT_THAT(x, ElementsAre(true, true, false));
  EXPECT_THAT(y, ElementsAre(true, true, true));
}

TEST(FaultInjectorTest, ProbabilityIsReproducibleForASeed) {
  const std::string text = R"pb(
    rules {
      name: "coin"
      endpoint: "m:GET /**"
      probability { p: 0.5 seed: 7 }
      http_status { code: 503 }
    }
  )pb";
  auto first = MakeInjector(text);
  auto second = MakeInjector(text);
  int fired = 0;
  for (int i = 0; i < 200; ++i) {
    bool a = first->Decide("m", "GET", "/p").fired();
    bool b = second->Decide("m", "GET", "/p").fired();
    EXPECT_EQ(a, b) << "call " << i + 1;
    fired += a;
  }
  // Neither never nor always (p = 0.5 over 200 calls).
  EXPECT_GT(fired, 50);
  EXPECT_LT(fired, 150);
  auto never = MakeInjector(R"pb(
    rules {
      name: "never"
      endpoint: "m:GET /p"
      probability { p: 0 seed: 1 }
      http_status { code: 503 }
    }
  )pb");
  for (int i = 0; i < 50; ++i) {
    EXPECT_FALSE(never->Decide("m", "GET", "/p").fired());
  }
}

TEST(FaultInjectorTest, FirstFiringRuleWinsButEveryRuleCounts) {
  auto faults = MakeInjector(R"pb(
    rules {
      name: "a"
      endpoint: "m:GET /p"
      nth_call: 1
      http_status { code: 500 }
    }
    rules {
      name: "b"
      endpoint_regex: "m:GET /.*"
      nth_call: 2
      task_error { message: "boom" }
    }
  )pb");
  FaultDecision d1 = faults->Decide("m", "GET", "/p");
  ASSERT_TRUE(d1.fired());
  EXPECT_EQ(d1.rule->name(), "a");
  // "b" counted call 1 even though "a" fired, so call 2 is b's second.
  FaultDecision d2 = faults->Decide("m", "GET", "/p");
  ASSERT_TRUE(d2.fired());
  EXPECT_EQ(d2.rule->name(), "b");
  EXPECT_EQ(d2.call, 2u);
  EXPECT_EQ(d2.TaskErrorText(100), "boom");
}

TEST(FaultInjectorTest, ProxmoxLockTimeoutText) {
  EXPECT_EQ(ProxmoxLockTimeoutText(1501),
            "can't lock file '/var/lock/qemu-server/lock-1501.conf' - got "
            "timeout");
  auto faults = MakeInjector(R"pb(
    rules {
      name: "lock-task"
      endpoint: "pve:POST /**"
      proxmox_lock_timeout { shape: SHAPE_TASK }
    }
  )pb");
  FaultDecision d = faults->Decide("pve", "POST", "/api2/json/nodes/pve/qemu");
  EXPECT_EQ(d.TaskErrorText(1500),
            "can't lock file '/var/lock/qemu-server/lock-1500.conf' - got "
            "timeout");
}

TEST(FaultInjectorTest, EveryFiringIsRecordedAndReported) {
  auto faults = MakeInjector(R"pb(
    rules {
      name: "r"
      endpoint: "echo:GET /echo"
      first_calls: 2
      http_status { code: 500 }
    }
  )pb");
  std::vector<std::string> reported;
  faults->set_on_fire(
      [&](const FaultFiring& f) { reported.push_back(Describe(f)); });
  faults->Decide("echo", "GET", "/echo");
  faults->Decide("echo", "GET", "/echo");
  faults->Decide("echo", "GET", "/echo");
  EXPECT_THAT(reported,
              ElementsAre("fault \"r\" (http_status) fired on call 1: "
                          "echo:GET /echo",
                          "fault \"r\" (http_status) fired on call 2: "
                          "echo:GET /echo"));
  EXPECT_EQ(faults->Firings().size(), 2u);
  EXPECT_EQ(faults->FiredCount("r"), 2);
  EXPECT_EQ(faults->FiredCount("other"), 0);
}

TEST(FaultInjectorTest, RejectsBadRules) {
  EXPECT_THAT(CreateStatus(R"pb(rules {
                                  endpoint: "a"
                                  delay {}
                                })pb")
                  .message(),
              HasSubstr("no name"));
  EXPECT_THAT(CreateStatus(R"pb(rules {
                                  name: "x"
                                  endpoint: "a"
                                  delay {}
                                }
                                rules {
                                  name: "x"
                                  endpoint: "a"
                                  delay {}
                                })pb")
                  .message(),
              HasSubstr("twice"));
  EXPECT_THAT(CreateStatus(R"pb(rules {
                                  name: "x"
                                  delay {}
                                })pb")
                  .message(),
              HasSubstr("exactly one"));
  EXPECT_THAT(CreateStatus(R"pb(rules {
                                  name: "x"
                                  endpoint_regex: "("
                                  delay {}
                                })pb")
                  .message(),
              HasSubstr("bad endpoint_regex"));
  EXPECT_THAT(CreateStatus(R"pb(rules {
                                  name: "x"
                                  endpoint: "a"
                                  probability { p: 1.5 }
                                  delay {}
                                })pb")
                  .message(),
              HasSubstr("[0, 1]"));
  EXPECT_THAT(CreateStatus(R"pb(rules {
                                  name: "x"
                                  endpoint: "a"
                                  nth_call: 0
                                  delay {}
                                })pb")
                  .message(),
              HasSubstr("counts from 1"));
  EXPECT_THAT(
      CreateStatus(R"pb(rules { name: "x" endpoint: "a" })pb").message(),
      HasSubstr("no kind"));
}

TEST(FaultInjectorTest, ParseErrorsCarryFileLineColumn) {
  absl::StatusOr<FaultFile> file =
      ParseFaultFile("rules {\n  name: \"x\"\n  bogus: 1\n}\n", "f.txtpb");
  ASSERT_FALSE(file.ok());
  EXPECT_EQ(file.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(file.status().message(), HasSubstr("f.txtpb:3:"));
  EXPECT_THAT(file.status().message(), HasSubstr("bogus"));
  EXPECT_EQ(ReadFaultFile("/nonexistent/faults.txtpb").status().code(),
            absl::StatusCode::kNotFound);
}

TEST(FaultInjectorTest, ExampleFileFromTheReadmeIsValid) {
  std::string path = std::string(std::getenv("TEST_SRCDIR")) +
                     "/coldstart/lab/faults/testdata/example.txtpb";
  absl::StatusOr<FaultFile> file = ReadFaultFile(path);
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_EQ(file->rules_size(), 6);
  auto injector = FaultInjector::Create(*file);
  ASSERT_TRUE(injector.ok()) << injector.status();
  FaultDecision first =
      (*injector)->Decide("pve", "POST", "/api2/json/nodes/pve/qemu");
  EXPECT_FALSE(first.fired());
  FaultDecision second =
      (*injector)->Decide("pve", "POST", "/api2/json/nodes/pve/qemu");
  ASSERT_TRUE(second.fired());
  EXPECT_EQ(KindName(*second.rule), "proxmox_lock_timeout");
}

}  // namespace
}  // namespace coldstart::lab
