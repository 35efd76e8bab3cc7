// A small Proxmox VE API client for provision-vms (facts/proxmox.md): token
// auth, the {"data": ...} envelope, error texts from the body's "message" and
// "errors" (the lab and PVE >= 8.3 carry them there; lib/http does not expose
// the reason phrase), retry with backoff on lock timeouts / 5xx / transport
// errors, and waiting for tasks by UPID.
#ifndef COLDSTART_TOOLS_PROVISION_VMS_PVE_CLIENT_H_
#define COLDSTART_TOOLS_PROVISION_VMS_PVE_CLIENT_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
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

class PveClient {
 public:
  // `base_url` is "https://HOST:8006/api2/json"; `credential` is
  // "user@realm!tokenid=secret".
  PveClient(HttpClient& http, std::string base_url, Secret credential,
            RetryPolicy retry);

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

  const std::string& token_id() const { return token_id_; }

 private:
  absl::StatusOr<nlohmann::json> Call(absl::string_view method,
                                      absl::string_view path,
                                      const PveParams& params);

  HttpClient& http_;
  std::string base_url_;
  Secret credential_;
  std::string token_id_;
  RetryPolicy retry_;
};

// Form encoding (application/x-www-form-urlencoded, RFC 3986 unreserved kept).
std::string FormEncode(const PveParams& params);

}  // namespace coldstart

#endif  // COLDSTART_TOOLS_PROVISION_VMS_PVE_CLIENT_H_
