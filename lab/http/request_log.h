// The request log of one simulator module: every call with method, path,
// status and time (and the fault that fired, if any), in memory and as JSON
// lines in a file, so tests in the same process or outside it can assert
// "no writes on a re-run" or "N calls".
//
// File format, one object per line (keys sorted):
//   {"fault":"","method":"POST","module":"pve",
//    "path":"/api2/json/nodes/pve/qemu","status":200,
//    "time":"2025-01-01T00:00:00.123Z"}
// status 0 means no response was sent (connection reset).
#ifndef COLDSTART_LAB_HTTP_REQUEST_LOG_H_
#define COLDSTART_LAB_HTTP_REQUEST_LOG_H_

#include <cstdio>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace coldstart::lab {

struct RequestRecord {
  std::string module;
  std::string method;
  std::string path;
  int status = 0;
  absl::Time time;
  // Name of the fault rule that fired on this call; empty if none.
  std::string fault;
};

// True for methods that may change state (anything but GET, HEAD, OPTIONS).
bool IsWrite(absl::string_view method);

std::string ToJsonLine(const RequestRecord& record);
absl::StatusOr<RequestRecord> ParseJsonLine(absl::string_view line);
// Every record of a JSON-lines file. InvalidArgument (with the line number)
// for a bad line, NotFound when the file cannot be read.
absl::StatusOr<std::vector<RequestRecord>> ReadRequestLogFile(
    const std::string& path);

class RequestLog {
 public:
  // Records in memory only.
  RequestLog() = default;
  ~RequestLog();
  RequestLog(const RequestLog&) = delete;
  RequestLog& operator=(const RequestLog&) = delete;

  // Also appends every record to `path` (created or truncated; flushed per
  // record).
  absl::Status OpenFile(const std::string& path);

  void Append(const RequestRecord& record);
  std::vector<RequestRecord> Records() const;
  // Records whose method IsWrite.
  int CountWrites() const;
  // Records with this method and path.
  int Count(absl::string_view method, absl::string_view path) const;

 private:
  mutable absl::Mutex mu_;
  std::vector<RequestRecord> records_ ABSL_GUARDED_BY(mu_);
  std::FILE* file_ ABSL_GUARDED_BY(mu_) = nullptr;
};

}  // namespace coldstart::lab

#endif  // COLDSTART_LAB_HTTP_REQUEST_LOG_H_
