#include "lab/echo/echo_module.h"

#include <memory>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "lib/testing/files.h"
#include "nlohmann/json.hpp"

namespace coldstart::lab {
namespace {

using ::testing::ElementsAre;

// The echo module in-process on a virtual clock, so task completion happens
// exactly when the test advances time.
class EchoModuleTest : public ::testing::Test {
 protected:
  EchoModuleTest()
      : world_([this] { return scheduler_.Now(); }),
        latency_(*LatencyModel::Create(1.0)),
        processes_(coldstart::testing::TestTempDir()) {}

  void Start(const std::string& faults_text) {
    auto file = ParseFaultFile(faults_text, "test");
    ASSERT_TRUE(file.ok()) << file.status();
    auto faults = FaultInjector::Create(*file);
    ASSERT_TRUE(faults.ok()) << faults.status();
    faults_ = std::move(*faults);
    context_.spec = &spec_;
    context_.world = &world_;
    context_.scheduler = &scheduler_;
    context_.latency = &latency_;
    context_.faults = faults_.get();
    context_.processes = &processes_;
    context_.requests = &requests_;
    context_.any_port = true;
    context_.log = [](const std::string&) {};
    ASSERT_TRUE(module_.Start(context_).ok());
    std::string address = module_.Listeners().at("http");
    ASSERT_EQ(address.rfind("127.0.10.250:", 0), 0u) << address;
    client_ = std::make_unique<httplib::Client>("http://" + address);
  }

  std::string CreateThing(int vmid, const std::string& name) {
    auto res =
        client_->Post("/things", absl::StrCat("vmid=", vmid, "&name=", name),
                      "application/x-www-form-urlencoded");
    EXPECT_TRUE(res);
    EXPECT_EQ(res->status, 200);
    return nlohmann::json::parse(res->body)["data"];
  }

  nlohmann::json Task(const std::string& upid) {
    auto res = client_->Get("/tasks/" + upid);
    EXPECT_TRUE(res);
    return nlohmann::json::parse(res->body)["data"];
  }

  VirtualScheduler scheduler_;
  World world_;
  LatencyModel latency_;
  Supervisor processes_;
  coldstart::v1::Cluster spec_;
  RequestLog requests_;
  std::unique_ptr<FaultInjector> faults_;
  ModuleContext context_;
  EchoModule module_;
  std::unique_ptr<httplib::Client> client_;
};

TEST_F(EchoModuleTest, EchoesAndRunsATaskThatPublishesToTheWorld) {
  Start("");
  auto echo = client_->Get("/echo?msg=hello");
  ASSERT_TRUE(echo);
  EXPECT_EQ(echo->body, "hello");

  std::string upid = CreateThing(1500, "ctrl-1");
  EXPECT_EQ(upid, "UPID:lab:1:echo:1500:");
  EXPECT_EQ(Task(upid)["status"], "running");
  EXPECT_TRUE(world_.History().empty());
  scheduler_.AdvanceBy(absl::Milliseconds(999));
  EXPECT_EQ(Task(upid)["status"], "running");
  scheduler_.AdvanceBy(absl::Milliseconds(1));
  nlohmann::json task = Task(upid);
  EXPECT_EQ(task["status"], "stopped");
  EXPECT_EQ(task["exitstatus"], "OK");
  ASSERT_EQ(world_.History().size(), 1u);
  EXPECT_EQ(Describe(world_.History()[0].payload),
            "VmCreated vmid=1500 name=ctrl-1");
  auto vms = client_->Get("/vms");
  ASSERT_TRUE(vms);
  EXPECT_EQ(nlohmann::json::parse(vms->body)["data"][0]["name"], "ctrl-1");

  std::vector<std::string> calls;
  for (const RequestRecord& r : requests_.Records()) {
    calls.push_back(absl::StrCat(r.method, " ", r.path, " ", r.status));
  }
  EXPECT_THAT(calls, ElementsAre("GET /echo 200", "POST /things 200",
                                 "GET /tasks/UPID:lab:1:echo:1500: 200",
                                 "GET /tasks/UPID:lab:1:echo:1500: 200",
                                 "GET /tasks/UPID:lab:1:echo:1500: 200",
                                 "GET /vms 200"));
  EXPECT_EQ(requests_.CountWrites(), 1);
}

TEST_F(EchoModuleTest, TaskFaultsEndTheTaskWithTheirText) {
  Start(R"pb(rules {
               name: "lock"
               endpoint: "echo:POST /things"
               nth_call: 1
               proxmox_lock_timeout { shape: SHAPE_TASK }
             }
             rules {
               name: "task-error"
               endpoint: "echo:POST /things"
               nth_call: 2
               task_error { message: "disk import failed" }
             })pb");
  std::string locked = CreateThing(1501, "ctrl-2");
  std::string failed = CreateThing(1502, "ctrl-3");
  std::string fine = CreateThing(2000, "worker-1");
  scheduler_.RunUntilIdle();
  EXPECT_EQ(Task(locked)["exitstatus"],
            "can't lock file '/var/lock/qemu-server/lock-1501.conf' - got "
            "timeout");
  EXPECT_EQ(Task(failed)["exitstatus"], "disk import failed");
  EXPECT_EQ(Task(fine)["exitstatus"], "OK");
  // Only the task that succeeded created something in the world.
  ASSERT_EQ(world_.History().size(), 1u);
  EXPECT_EQ(Describe(world_.History()[0].payload),
            "VmCreated vmid=2000 name=worker-1");
  EXPECT_EQ(faults_->FiredCount("lock"), 1);
  EXPECT_EQ(faults_->FiredCount("task-error"), 1);
}

TEST_F(EchoModuleTest, BadInputAndUnknownTask) {
  Start("");
  auto bad =
      client_->Post("/things", "vmid=x", "application/x-www-form-urlencoded");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);
  auto unknown = client_->Get("/tasks/UPID:nope");
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->status, 404);
}

}  // namespace
}  // namespace coldstart::lab
