#include "lab/world/latency.h"

#include <string>

#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace coldstart::lab {
namespace {

using ::testing::HasSubstr;

TEST(LatencyModelTest, DefaultsAreTheRealWorldFigures) {
  LatencyModel model = *LatencyModel::Create(1.0);
  EXPECT_EQ(model.Base(Step::kVmCreate), absl::Seconds(15));
  EXPECT_EQ(model.Base(Step::kImageDownload), absl::Seconds(30));
  EXPECT_EQ(model.Base(Step::kBoot), absl::Seconds(38));
  // Ready ~75 s after apply.
  EXPECT_EQ(model.Base(Step::kConfigApply) + model.Base(Step::kEtcdBootstrap) +
                model.Base(Step::kVipUp) + model.Base(Step::kCniRollout),
            absl::Seconds(75));
}

TEST(LatencyModelTest, TimeScaleMultipliesEveryLatency) {
  LatencyModel model = *LatencyModel::Create(0.01);
  EXPECT_EQ(model.Delay(Step::kBoot), absl::Milliseconds(380));
  EXPECT_EQ(model.Delay(Step::kVmCreate), absl::Milliseconds(150));
  EXPECT_EQ(model.Scale(absl::Seconds(2)), absl::Milliseconds(20));
  LatencyModel zero = *LatencyModel::Create(0);
  EXPECT_EQ(zero.Delay(Step::kBoot), absl::ZeroDuration());
}

TEST(LatencyModelTest, RejectsNegativeOrNonFiniteScale) {
  EXPECT_EQ(LatencyModel::Create(-1).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(LatencyModel::Create(1.0 / 0.0).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(LatencyModelTest, CriticalPathIsTheChainOfSteps) {
  LatencyModel model = *LatencyModel::Create(1.0);
  std::vector<PathSegment> path = model.CriticalPath();
  ASSERT_EQ(path.size(), 7u);
  EXPECT_EQ(path[0].name, "image-download");
  EXPECT_EQ(path[0].start, absl::ZeroDuration());
  for (size_t i = 1; i < path.size(); ++i) {
    EXPECT_EQ(path[i].start, path[i - 1].end) << path[i].name;
  }
  EXPECT_EQ(path[1].name, "vm-create");
  EXPECT_EQ(path[2].name, "boot");
  EXPECT_EQ(path[2].start, absl::Seconds(45));
  EXPECT_EQ(path.back().name, "cni-ready");
  // 30 + 15 + 38 + 75.
  EXPECT_EQ(path.back().end, absl::Seconds(158));
}

TEST(LatencyModelTest, FormatCriticalPathShowsScaledTotal) {
  std::string text = LatencyModel::Create(0.01)->FormatCriticalPath();
  EXPECT_THAT(text, HasSubstr("time scale 0.01"));
  EXPECT_THAT(text, HasSubstr("boot"));
  EXPECT_THAT(text, HasSubstr("380ms"));
  EXPECT_THAT(text, HasSubstr("1.58s\n"));
}

}  // namespace
}  // namespace coldstart::lab
