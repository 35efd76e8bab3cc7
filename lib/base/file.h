// Reading whole files with errors instead of exceptions or crashes: a
// directory, a FIFO that never ends or a file larger than the caller's limit
// is refused before it is read.
#ifndef COLDSTART_LIB_BASE_FILE_H_
#define COLDSTART_LIB_BASE_FILE_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace coldstart {

// Default limit of ReadFile: 64 MiB, far above any spec, manifest or key.
inline constexpr int64_t kDefaultMaxFileBytes = int64_t{64} << 20;

// The contents of the regular file (or character device such as /dev/null,
// or pipe such as /dev/stdin) at `path`. Errors name the path and say why:
// NotFound (missing), PermissionDenied, InvalidArgument (a directory or
// other non-file, or more than `max_bytes`), Internal (a read error).
absl::StatusOr<std::string> ReadFile(absl::string_view path,
                                     int64_t max_bytes = kDefaultMaxFileBytes);

// Like ReadFile, but every error is InvalidArgument: for files the user named
// (a spec, --in, a manifest), where any failure to read is bad input (exit
// 2).
absl::StatusOr<std::string> ReadInputFile(
    absl::string_view path, int64_t max_bytes = kDefaultMaxFileBytes);

// The first `max_chars` characters of `text`, with "… (N bytes)" appended
// when it was longer: for echoing user-supplied values in messages.
std::string Abbreviate(absl::string_view text, size_t max_chars = 80);

}  // namespace coldstart

#endif  // COLDSTART_LIB_BASE_FILE_H_
