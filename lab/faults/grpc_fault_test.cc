#include "lab/faults/grpc_fault.h"

#include "gtest/gtest.h"

namespace coldstart::lab {
namespace {

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
