#include "lib/base/time_format.h"

#include <string>

namespace coldstart {

std::string Rfc3339(absl::Time time) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", time, absl::UTCTimeZone());
}

std::string Rfc3339Millis(absl::Time time) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", time, absl::UTCTimeZone());
}

google::protobuf::Timestamp ToTimestamp(absl::Time time) {
  const absl::Duration since_epoch = time - absl::UnixEpoch();
  absl::Duration remainder;
  const int64_t seconds =
      absl::IDivDuration(since_epoch, absl::Seconds(1), &remainder);
  int64_t nanos = absl::ToInt64Nanoseconds(remainder);
  google::protobuf::Timestamp timestamp;
  if (nanos < 0) {
    timestamp.set_seconds(seconds - 1);
    nanos += 1000000000;
  } else {
    timestamp.set_seconds(seconds);
  }
  timestamp.set_nanos(static_cast<int32_t>(nanos));
  return timestamp;
}

absl::Time FromTimestamp(const google::protobuf::Timestamp& timestamp) {
  return absl::FromUnixSeconds(timestamp.seconds()) +
         absl::Nanoseconds(timestamp.nanos());
}

}  // namespace coldstart
