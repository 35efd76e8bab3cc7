#include "lab/faults/grpc_fault.h"

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "lab/faults/counter_test.grpc.pb.h"

namespace coldstart::lab {
namespace {

using ::coldstart::lab::testing::AddReply;
using ::coldstart::lab::testing::AddRequest;
using ::coldstart::lab::testing::Counter;

std::unique_ptr<FaultInjector> Faults(const std::string& text) {
  absl::StatusOr<FaultFile> file = ParseFaultFile(text, "test");
  EXPECT_TRUE(file.ok()) << file.status();
  auto faults = FaultInjector::Create(file.ok() ? *file : FaultFile());
  EXPECT_TRUE(faults.ok()) << faults.status();
  return std::move(*faults);
}

// A real gRPC server whose one method adds to a counter, every call run
// through RunWithGrpcFault as a simulator module would.
class CounterService final : public Counter::Service {
 public:
  explicit CounterService(FaultInjector* faults) : faults_(faults) {}

  grpc::Status Add(grpc::ServerContext*, const AddRequest* request,
                   AddReply* reply) override {
    FaultDecision decision = faults_->Decide(
        "counter", "GRPC", "/coldstart.lab.testing.Counter/Add");
    return RunWithGrpcFault(decision, [&] {
      absl::MutexLock lock(&mu_);
      total_ += request->amount();
      reply->set_total(total_);
      return grpc::Status::OK;
    });
  }

  int64_t total() const {
    absl::MutexLock lock(&mu_);
    return total_;
  }

 private:
  FaultInjector* faults_;
  mutable absl::Mutex mu_;
  int64_t total_ = 0;
};

class CounterServerTest : public ::testing::Test {
 protected:
  void Start(const std::string& fault_text) {
    faults_ = Faults(fault_text);
    service_ = std::make_unique<CounterService>(faults_.get());
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                             &port);
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    ASSERT_GT(port, 0);
    stub_ = Counter::NewStub(grpc::CreateChannel(
        absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()));
  }
  void TearDown() override {
    if (server_) server_->Shutdown();
  }

  grpc::Status Add(int64_t amount, AddReply* reply) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(10));
    AddRequest request;
    request.set_amount(amount);
    return stub_->Add(&context, request, reply);
  }

  std::unique_ptr<FaultInjector> faults_;
  std::unique_ptr<CounterService> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<Counter::Stub> stub_;
};

TEST_F(CounterServerTest, DropReplyAppliesTheCallButTheClientSeesUnavailable) {
  Start(R"pb(rules {
               name: "add-lost"
               endpoint: "counter:GRPC /coldstart.lab.testing.Counter/Add"
               nth_call: 1
               drop_reply {}
             })pb");
  AddReply lost;
  grpc::Status status = Add(2, &lost);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE)
      << status.error_message();
  EXPECT_EQ(lost.total(), 0) << "the reply must not reach the client";
  EXPECT_EQ(service_->total(), 2) << "the method must have run";

  // The retry finds the first call's effect.
  AddReply reply;
  ASSERT_TRUE(Add(3, &reply).ok());
  EXPECT_EQ(reply.total(), 5);
  EXPECT_EQ(faults_->FiredCount("add-lost"), 1);
}

TEST_F(CounterServerTest, GrpcStatusFaultSkipsTheMethod) {
  Start(R"pb(rules {
               name: "add-refused"
               endpoint: "counter:GRPC /**"
               nth_call: 1
               grpc_status { code: 14 message: "connection refused" }
             })pb");
  AddReply reply;
  grpc::Status status = Add(2, &reply);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(status.error_message(), "connection refused");
  EXPECT_EQ(service_->total(), 0);
  ASSERT_TRUE(Add(3, &reply).ok());
  EXPECT_EQ(reply.total(), 3);
}

TEST_F(CounterServerTest, NoFaultReturnsTheMethodsReply) {
  Start("");
  AddReply reply;
  ASSERT_TRUE(Add(4, &reply).ok());
  EXPECT_EQ(reply.total(), 4);
}

TEST(GrpcFaultTest, GrpcStatusRuleBecomesTheCallsStatus) {
  absl::StatusOr<FaultFile> file = ParseFaultFile(
      R"pb(
        rules {
          name: "apply-unavailable"
          endpoint: "talos:GRPC /machine.MachineService/ApplyConfiguration"
          nth_call: 1
          grpc_status { code: 14 message: "connection refused" }
        }
      )pb",
      "test");
  ASSERT_TRUE(file.ok()) << file.status();
  auto faults = FaultInjector::Create(*file);
  ASSERT_TRUE(faults.ok()) << faults.status();
  const char* kMethod = "/machine.MachineService/ApplyConfiguration";

  std::optional<grpc::Status> status =
      GrpcStatusFor((*faults)->Decide("talos", "GRPC", kMethod));
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(status->error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(status->error_message(), "connection refused");
  // Second call: the rule (nth_call 1) no longer fires.
  EXPECT_FALSE(
      GrpcStatusFor((*faults)->Decide("talos", "GRPC", kMethod)).has_value());
  EXPECT_EQ((*faults)->FiredCount("apply-unavailable"), 1);
}

TEST(GrpcFaultTest, OtherKindsAreNotGrpcStatuses) {
  absl::StatusOr<FaultFile> file = ParseFaultFile(R"pb(
                                                    rules {
                                                      name: "d"
                                                      endpoint: "talos:GRPC /**"
                                                      delay { ms: 1 }
                                                    }
                                                  )pb",
                                                  "test");
  ASSERT_TRUE(file.ok());
  auto faults = FaultInjector::Create(*file);
  ASSERT_TRUE(faults.ok());
  FaultDecision d = (*faults)->Decide("talos", "GRPC", "/x.Y/Z");
  EXPECT_TRUE(d.fired());
  EXPECT_FALSE(GrpcStatusFor(d).has_value());
  EXPECT_FALSE(GrpcStatusFor(FaultDecision{}).has_value());
}

}  // namespace
}  // namespace coldstart::lab
