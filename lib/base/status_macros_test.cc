#include "lib/base/status_macros.h"

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gtest/gtest.h"

namespace coldstart {
namespace {

absl::StatusOr<int> Half(int value) {
  if (value % 2 != 0) return absl::InvalidArgumentError("odd");
  return value / 2;
}

absl::Status Check(int value, int *calls) {
  ++*calls;
  if (value < 0) return absl::FailedPreconditionError("negative");
  return absl::OkStatus();
}

absl::StatusOr<int> Quarter(int value) {
  ASSIGN_OR_RETURN(int half, Half(value));
  ASSIGN_OR_RETURN(half, Half(half));
  return half;
}

absl::Status CheckTwice(int value, int *calls) {
  RETURN_IF_ERROR(Check(value, calls));
  RETURN_IF_ERROR(Check(value - 10, calls));
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<std::string>> MakeOwned(bool ok) {
  if (!ok) return absl::NotFoundError("none");
  return std::make_unique<std::string>("owned");
}

absl::StatusOr<std::string> UseOwned(bool ok) {
  ASSIGN_OR_RETURN(std::unique_ptr<std::string> owned, MakeOwned(ok));
  return *owned;
}

TEST(StatusMacros, AssignOrReturnPassesValueAndError) {
  EXPECT_EQ(*Quarter(8), 2);
  EXPECT_EQ(Quarter(6).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Quarter(3).status().message(), "odd");
}

TEST(StatusMacros, ReturnIfErrorStopsAtFirstError) {
  int calls = 0;
  EXPECT_TRUE(CheckTwice(20, &calls).ok());
  EXPECT_EQ(calls, 2);
  calls = 0;
  EXPECT_EQ(CheckTwice(5, &calls).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(calls, 2);
  calls = 0;
  EXPECT_EQ(CheckTwice(-1, &calls).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(calls, 1);
}

TEST(StatusMacros, AssignOrReturnMovesMoveOnlyValues) {
  EXPECT_EQ(*UseOwned(true), "owned");
  EXPECT_EQ(UseOwned(false).status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace coldstart
