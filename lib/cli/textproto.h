// Parsing protobuf text format with the project's error contract: every
// problem is reported as "FILE:LINE:COL: message" (1-based), unknown fields are
// errors, never dropped.
#ifndef COLDSTART_LIB_CLI_TEXTPROTO_H_
#define COLDSTART_LIB_CLI_TEXTPROTO_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/message.h"
#include "google/protobuf/text_format.h"

namespace coldstart {

// Parses `text` (the content of `filename`, used only in messages) into
// `message`, replacing its contents. When `locations` is not null, the
// parser records where each field was found. Errors: InvalidArgument whose
// message has one "FILE:LINE:COL: message" line per parse error ("FILE:
// message" when protobuf gives no position).
absl::Status ParseTextProto(
    absl::string_view text, absl::string_view filename,
    google::protobuf::Message* message,
    google::protobuf::TextFormat::ParseInfoTree* locations = nullptr);

}  // namespace coldstart

#endif  // COLDSTART_LIB_CLI_TEXTPROTO_H_
