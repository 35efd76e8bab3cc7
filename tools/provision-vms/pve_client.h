// A small Proxmox VE API client for provision-vms (facts/proxmox.md): token
// auth, the {"data": ...} envelope, error texts from the body's "message" and
// "errors" (the lab and PVE >= 8.3 carry them there; lib/http does not expose
// the reason phrase), retry with backoff on lock timeouts / 5xx / transport
// errors, waiting for tasks by UPID, and re-issuing a task that ended in a
// lock timeout. Every wait goes through lib/base/poll.h with the options the
// caller gives (its clock, its progress lines).
#ifndef COLDSTART_TOOLS_PROVISION_VMS_PVE_CLIENT_H_
#define COLDSTART_TOOLS_PROVISION_VMS_PVE_CLIENT_H_

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "lib/base/poll.h"
#include "lib/net/http.h"
#include "lib/secrets/secret.h"
#include "nlohmann/json.hpp"

namespace coldstart {

using PveParams = std::map<std::string, std::string>;

// "user@realm!tokenid=secret" -> the token id part ("user@realm!tokenid").
// InvalidArgument (never echoing the value) for anything else.
absl::StatusOr<std::string> PveTokenId(const Secret& credential);

// Proxmox returns numbers as numbers or strings; both are accepted.
std::optional<int64_t> PveInt(const nlohmann::json& value);
std::string PveString(const nlohmann::json& value);

// True for Proxmox errors worth retrying: lock timeouts ("can't lock file
// ... got timeout", "VM is locked (...)", cfs-lock) and other 5xx that do not
// state a permanent condition ("does not exist", "already exists", "already
// running", "is running", "not running", "refusing").
bool IsRetryablePveResponse(const HttpResponse& response);
bool IsLockText(absl::string_view text);

struct PveTask {
  std::string upid;
  std::string type;
  // "OK", "WARNINGS: n" or the error text; empty while running.
  std::string exit_status;
  bool ok() const {
    return exit_status == "OK" || exit_status.rfind("WARNINGS", 0) == 0;
  }
};

// A started task awaited to its end, re-issued while it ended in a lock
// timeout.
struct PveTaskRun {
  // The last task (a null UPID from the start call: type = what, "OK").
  PveTask task;
  // Times the task was started.
  int attempts = 0;
  absl::Duration took;
};

// How a PveClient waits.
struct PveWaits {
  // Limit and number of attempts of one API call (retried on transport
  // errors, 429/5xx and Proxmox lock texts).
  absl::Duration call_deadline = absl::Minutes(2);
  int call_attempts = 10;
  // The PollOptions of a wait for `what` up to `timeout` (clock, progress
  // lines), e.g. ToolRun::PollFor; empty: the real clock, no progress lines.
  std::function<PollOptions(absl::string_view what, absl::Duration timeout)>
      poll_for;
};

class PveClient {
 public:
  // `base_url` is "https://HOST:8006/api2/json"; `credential` is
  // "user@realm!tokenid=secret".
  PveClient(HttpClient& http, std::string base_url, Secret credential,
            PveWaits waits = {});

  // The call's data. Errors (the message carries Proxmox's text):
  // PermissionDenied for 401/403, NotFound for "does not exist", AlreadyExists
  // for "already exists", FailedPrecondition for 400 and other refusals,
  // Unavailable/DeadlineExceeded after retries ran out.
  absl::StatusOr<nlohmann::json> Get(absl::string_view path,
                                     const PveParams& params = {});
  absl::StatusOr<nlohmann::json> Post(absl::string_view path,
                                      const PveParams& params = {});
  absl::StatusOr<nlohmann::json> Put(absl::string_view path,
                                     const PveParams& params = {});
  absl::StatusOr<nlohmann::json> Delete(absl::string_view path,
                                        const PveParams& params = {});

  // Polls GET /nodes/{node of the UPID}/tasks/{upid}/status (first poll at
  // once, then backoff) until the task stopped or `deadline` passed
  // (DeadlineExceeded naming the UPID). The returned task carries the exit
  // status; a failed task is not an error here.
  absl::StatusOr<PveTask> WaitForTask(const std::string& upid,
                                      absl::Duration deadline);

  // Calls `start` (a task-starting call answering a UPID, or null when
  // nothing was started), awaits the task (each up to `task_deadline`), and
  // starts it again while it ended in a lock timeout (IsLockText), at most
  // `max_attempts` times in all, with backoff. A failed task is not an error
  // here (see PveTaskRun::task); errors are those of `start` and WaitForTask.
  absl::StatusOr<PveTaskRun> RunTask(
      absl::string_view what,
      const std::function<absl::StatusOr<nlohmann::json>()>& start,
      absl::Duration task_deadline, int max_attempts);

  const std::string& token_id() const { return token_id_; }

 private:
  absl::StatusOr<nlohmann::json> Call(absl::string_view method,
                                      absl::string_view path,
                                      const PveParams& params);
  PollOptions PollFor(absl::string_view what, absl::Duration timeout) const;

  HttpClient& http_;
  std::string base_url_;
  Secret credential_;
  std::string token_id_;
  PveWaits waits_;
};

// Form encoding (application/x-www-form-urlencoded, RFC 3986 unreserved kept).
std::string FormEncode(const PveParams& params);

}  // namespace coldstart

#endif  // COLDSTART_TOOLS_PROVISION_VMS_PVE_CLIENT_H_
