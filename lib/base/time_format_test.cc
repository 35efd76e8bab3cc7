#include "lib/base/time_format.h"

#include "gtest/gtest.h"

namespace coldstart {
namespace {

TEST(TimeFormatTest, Rfc3339InUtc) {
  const absl::Time t = absl::FromUnixMillis(1735689600123);
  EXPECT_EQ(Rfc3339(t), "2025-01-01T00:00:00Z");
  EXPECT_EQ(Rfc3339Millis(t), "2025-01-01T00:00:00.123Z");
}

TEST(TimeFormatTest, TimestampRoundTripsIncludingBeforeTheEpoch) {
  for (absl::Time t : {absl::FromUnixNanos(1735689600123456789),
                       absl::FromUnixNanos(-1500000000), absl::UnixEpoch()}) {
    const google::protobuf::Timestamp ts = ToTimestamp(t);
    EXPECT_GE(ts.nanos(), 0);
    EXPECT_LT(ts.nanos(), 1000000000);
    EXPECT_EQ(FromTimestamp(ts), t);
  }
  EXPECT_EQ(ToTimestamp(absl::FromUnixNanos(-1500000000)).seconds(), -2);
}

}  // namespace
}  // namespace coldstart
