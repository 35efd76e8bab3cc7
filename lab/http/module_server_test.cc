#include "lab/http/module_server.h"

#include <atomic>
#include <memory>
#include <string>

#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "nlohmann/json.hpp"

namespace coldstart::lab {
namespace {

using ::testing::ElementsAre;

// A trivial module: GET /hello answers "hi"; POST /task answers with the task
// error text a fault asked for (what a task-based module would end its task
// with).
class ModuleServerTest : public ::testing::Test {
 protected:
  void StartWithFaults(const std::string& fault_text) {
    absl::StatusOr<FaultFile> file = ParseFaultFile(fault_text, "test");
    ASSERT_TRUE(file.ok()) << file.status();
    auto faults = FaultInjector::Create(*file);
    ASSERT_TRUE(faults.ok()) << faults.status();
    faults_ = std::move(*faults);
    server_ = std::make_unique<ModuleServer>(
        ModuleServerOptions{"trivial", "127.0.0.1", 0, faults_.get(), &log_});
    server_->Get("/hello", [](const httplib::Request&, httplib::Response& res,
                              const FaultDecision&) {
      res.set_content("hi", "text/plain");
    });
    server_->Post("/counter",
                  [this](const httplib::Request&, httplib::Response& res,
                         const FaultDecision&) {
                    res.set_content(std::to_string(++counter_), "text/plain");
                  });
    server_->Get(
        "/counter", [this](const httplib::Request&, httplib::Response& res,
                           const FaultDecision&) {
          res.set_content(std::to_string(counter_.load()), "text/plain");
        });
    server_->Post("/qemu/(\\d+)/task",
                  [](const httplib::Request&, httplib::Response& res,
                     const FaultDecision& fault) {
                    res.set_content(fault.TaskErrorText(7), "text/plain");
                  });
    ASSERT_TRUE(server_->Start().ok());
    client_ = std::make_unique<httplib::Client>("127.0.0.1", server_->port());
  }

  std::vector<std::string> LoggedCalls() {
    std::vector<std::string> out;
    for (const RequestRecord& r : log_.Records()) {
      EXPECT_EQ(r.module, "trivial");
      out.push_back(absl::StrCat(r.method, " ", r.path, " ", r.status,
                                 r.fault.empty() ? "" : " fault=", r.fault));
    }
    return out;
  }

  // What POST /counter changes: the handler's side effect.
  std::atomic<int> counter_{0};
  RequestLog log_;
  std::unique_ptr<FaultInjector> faults_;
  std::unique_ptr<ModuleServer> server_;
  std::unique_ptr<httplib::Client> client_;
};

TEST_F(ModuleServerTest, NoFaultServesAndLogs) {
  StartWithFaults("");
  auto res = client_->Get("/hello");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, "hi");
  auto missing = client_->Get("/nope");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  EXPECT_THAT(LoggedCalls(), ElementsAre("GET /hello 200", "GET /nope 404"));
  EXPECT_EQ(missing->body, "Method 'GET /nope' not implemented");
}

TEST_F(ModuleServerTest, HttpStatusFaultAnswersWithStatusAndBody) {
  StartWithFaults(R"pb(rules {
                         name: "unavailable"
                         endpoint: "trivial:GET /hello"
                         nth_call: 2
                         http_status {
                           code: 503
                           body: "try later"
                           content_type: "text/plain"
                         }
                       })pb");
  EXPECT_EQ(client_->Get("/hello")->status, 200);
  auto res = client_->Get("/hello");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 503);
  EXPECT_EQ(res->body, "try later");
  EXPECT_EQ(res->get_header_value("Content-Type"), "text/plain");
  EXPECT_EQ(client_->Get("/hello")->status, 200);
  EXPECT_THAT(LoggedCalls(),
              ElementsAre("GET /hello 200", "GET /hello 503 fault=unavailable",
                          "GET /hello 200"));
  EXPECT_EQ(faults_->FiredCount("unavailable"), 1);
}

TEST_F(ModuleServerTest, DelayFaultDelaysThenServes) {
  StartWithFaults(R"pb(rules {
                         name: "slow"
                         endpoint: "trivial:GET /hello"
                         delay { ms: 200 }
                       })pb");
  absl::Time before = absl::Now();
  auto res = client_->Get("/hello");
  absl::Duration took = absl::Now() - before;
  ASSERT_TRUE(res);
  EXPECT_EQ(res->body, "hi");
  // A lower bound only: the response cannot come before the delay.
  EXPECT_GE(took, absl::Milliseconds(200));
  EXPECT_THAT(LoggedCalls(), ElementsAre("GET /hello 200 fault=slow"));
}

TEST_F(ModuleServerTest, ConnectionResetFaultSendsNoResponse) {
  StartWithFaults(R"pb(rules {
                         name: "reset"
                         endpoint: "trivial:GET /hello"
                         nth_call: 1
                         connection_reset {}
                       })pb");
  auto res = client_->Get("/hello");
  EXPECT_FALSE(res);
  EXPECT_EQ(res.error(), httplib::Error::Read);
  // The server survives and serves the next call.
  auto again = client_->Get("/hello");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->body, "hi");
  EXPECT_THAT(LoggedCalls(),
              ElementsAre("GET /hello 0 fault=reset", "GET /hello 200"));
}

TEST_F(ModuleServerTest, DropReplyAppliesTheCallThenResetsTheConnection) {
  StartWithFaults(R"pb(rules {
                         name: "lost"
                         endpoint: "trivial:POST /counter"
                         nth_call: 1
                         drop_reply {}
                       })pb");
  auto lost = client_->Post("/counter", "", "text/plain");
  EXPECT_FALSE(lost) << "got a response: " << lost->status;
  EXPECT_EQ(lost.error(), httplib::Error::Read);
  // The handler ran: the next read sees its effect.
  auto read = client_->Get("/counter");
  ASSERT_TRUE(read);
  EXPECT_EQ(read->body, "1");
  auto retry = client_->Post("/counter", "", "text/plain");
  ASSERT_TRUE(retry);
  EXPECT_EQ(retry->body, "2");
  EXPECT_THAT(LoggedCalls(),
              ElementsAre("POST /counter 0 fault=lost", "GET /counter 200",
                          "POST /counter 200"));
  EXPECT_EQ(faults_->FiredCount("lost"), 1);
}

TEST_F(ModuleServerTest, ConnectionResetFaultSkipsTheHandler) {
  StartWithFaults(R"pb(rules {
                         name: "reset"
                         endpoint: "trivial:POST /counter"
                         nth_call: 1
                         connection_reset {}
                       })pb");
  EXPECT_FALSE(client_->Post("/counter", "", "text/plain"));
  auto read = client_->Get("/counter");
  ASSERT_TRUE(read);
  EXPECT_EQ(read->body, "0");
}

TEST_F(ModuleServerTest, ProxmoxLockTimeoutHttpShape) {
  StartWithFaults(R"pb(rules {
                         name: "lock"
                         endpoint: "trivial:POST /qemu/*/task"
                         proxmox_lock_timeout {}
                       })pb");
  auto res = client_->Post("/qemu/1501/task", "", "text/plain");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 500);
  nlohmann::json body = nlohmann::json::parse(res->body);
  EXPECT_TRUE(body["data"].is_null());
  EXPECT_EQ(body["message"],
            "can't lock file '/var/lock/qemu-server/lock-1501.conf' - got "
            "timeout\n");
  EXPECT_THAT(LoggedCalls(),
              ElementsAre("POST /qemu/1501/task 500 fault=lock"));
}

TEST_F(ModuleServerTest, TaskKindsReachTheHandler) {
  StartWithFaults(R"pb(rules {
                         name: "lock-task"
                         endpoint: "trivial:POST /qemu/*/task"
                         nth_call: 1
                         proxmox_lock_timeout { shape: SHAPE_TASK vmid: 1502 }
                       }
                       rules {
                         name: "task-error"
                         endpoint: "trivial:POST /qemu/*/task"
                         nth_call: 2
                         task_error { message: "TASK ERROR: disk full" }
                       })pb");
  auto lock = client_->Post("/qemu/1/task", "", "text/plain");
  ASSERT_TRUE(lock);
  EXPECT_EQ(lock->status, 200);
  EXPECT_EQ(lock->body,
            "can't lock file '/var/lock/qemu-server/lock-1502.conf' - got "
            "timeout");
  auto error = client_->Post("/qemu/1/task", "", "text/plain");
  ASSERT_TRUE(error);
  EXPECT_EQ(error->body, "TASK ERROR: disk full");
  auto clean = client_->Post("/qemu/1/task", "", "text/plain");
  ASSERT_TRUE(clean);
  EXPECT_EQ(clean->body, "");
  EXPECT_THAT(LoggedCalls(),
              ElementsAre("POST /qemu/1/task 200 fault=lock-task",
                          "POST /qemu/1/task 200 fault=task-error",
                          "POST /qemu/1/task 200"));
}

TEST_F(ModuleServerTest, SecondServerOnSamePortFailsToStart) {
  StartWithFaults("");
  ModuleServer other({"other", "127.0.0.1", server_->port(), nullptr, nullptr});
  absl::Status status = other.Start();
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
}

TEST_F(ModuleServerTest, StopClosesTheListener) {
  StartWithFaults("");
  int port = server_->port();
  server_->Stop();
  httplib::Client client("127.0.0.1", port);
  EXPECT_FALSE(client.Get("/hello"));
}

}  // namespace
}  // namespace coldstart::lab
