// An errno value as an absl::Status with the code a caller can act on.
#ifndef COLDSTART_LIB_BASE_ERRNO_STATUS_H_
#define COLDSTART_LIB_BASE_ERRNO_STATUS_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace coldstart {

// "<what> <path>: <strerror>" with the code for `error`: ENOENT/ENOTDIR →
// NotFound, EACCES/EPERM → PermissionDenied, ENOSPC/EDQUOT →
// ResourceExhausted, EISDIR → InvalidArgument, anything else → Internal.
absl::Status ErrnoToStatus(int error, absl::string_view what,
                           absl::string_view path);

}  // namespace coldstart

#endif  // COLDSTART_LIB_BASE_ERRNO_STATUS_H_
