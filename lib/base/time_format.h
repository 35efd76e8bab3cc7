// Time as text and as protobuf, one way for every tool: RFC 3339 in UTC for
// APIs and messages, google.protobuf.Timestamp for the Cluster status.
#ifndef COLDSTART_LIB_BASE_TIME_FORMAT_H_
#define COLDSTART_LIB_BASE_TIME_FORMAT_H_

#include <string>

#include "absl/time/time.h"
#include "google/protobuf/timestamp.pb.h"

namespace coldstart {

// "2025-01-01T00:00:00Z" (whole seconds, UTC).
std::string Rfc3339(absl::Time time);

// "2025-01-01T00:00:00.000Z" (milliseconds, UTC): events and logs.
std::string Rfc3339Millis(absl::Time time);

// The Timestamp of `time`, nanosecond exact.
google::protobuf::Timestamp ToTimestamp(absl::Time time);

absl::Time FromTimestamp(const google::protobuf::Timestamp& timestamp);

}  // namespace coldstart

#endif  // COLDSTART_LIB_BASE_TIME_FORMAT_H_
