#include "tools/provision-vms/pve_client.h"

#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "lib/base/clock.h"
#include "lib/base/status_macros.h"
#include "lib/net/http.h"

namespace coldstart {
namespace {

using json = nlohmann::json;

std::string PercentEncode(absl::string_view s) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : s) {
    if (absl::ascii_isalnum(c) || c == '-' || c == '_' || c == '.' ||
        c == '~') {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(kHex[static_cast<unsigned char>(c) >> 4]);
      out.push_back(kHex[static_cast<unsigned char>(c) & 15]);
    }
  }
  return out;
}

// Proxmox's error text: "message" (PVE >= 8.3 and the lab), plus the
// "errors" map of parameter failures.
std::string ErrorText(const HttpResponse& response) {
  json body = json::parse(response.body, nullptr, false);
  std::string text;
  if (body.is_object()) {
    if (body.contains("message") && body["message"].is_string()) {
      text = std::string(absl::StripTrailingAsciiWhitespace(
          body["message"].get<std::string>()));
    }
    if (body.contains("errors") && body["errors"].is_object()) {
      std::vector<std::string> parts;
      for (const auto& [k, v] : body["errors"].items()) {
        parts.push_back(absl::StrCat(k, ": ", PveString(v)));
      }
      absl::StrAppend(&text, text.empty() ? "" : " ",
                      absl::StrJoin(parts, "; "));
    }
  }
  if (text.empty()) text = absl::StrCat("HTTP ", response.status);
  return text;
}

bool IsPermanentText(absl::string_view text) {
  for (absl::string_view p :
       {"does not exist", "already exists", "already running", "is running",
        "not running", "refusing", "not configured", "Permission check",
        "not supported", "no such"}) {
    if (absl::StrContains(text, p)) return true;
  }
  return false;
}

}  // namespace

absl::StatusOr<std::string> PveTokenId(const Secret& credential) {
  absl::string_view v = credential.Reveal();
  size_t eq = v.rfind('=');
  size_t bang = v.find('!');
  size_t at = v.find('@');
  if (eq == absl::string_view::npos || bang == absl::string_view::npos ||
      at == absl::string_view::npos || !(at < bang && bang < eq) ||
      eq + 1 == v.size()) {
    return absl::InvalidArgumentError(
        "a Proxmox API token credential must look like "
        "user@realm!tokenid=secret");
  }
  return std::string(v.substr(0, eq));
}

std::optional<int64_t> PveInt(const json& value) {
  if (value.is_number_integer()) return value.get<int64_t>();
  if (value.is_number()) return static_cast<int64_t>(value.get<double>());
  if (value.is_string()) {
    int64_t n = 0;
    if (absl::SimpleAtoi(value.get<std::string>(), &n)) return n;
  }
  return std::nullopt;
}

std::string PveString(const json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_null()) return "";
  return value.dump();
}

bool IsLockText(absl::string_view text) {
  return (absl::StrContains(text, "can't lock file") &&
          absl::StrContains(text, "got timeout")) ||
         absl::StrContains(text, "VM is locked") ||
         absl::StrContains(text, "cfs-lock");
}

bool IsRetryablePveResponse(const HttpResponse& response) {
  if (response.status < 500 || response.status == 501) return false;
  std::string text = ErrorText(response);
  if (IsLockText(text)) return true;
  return !IsPermanentText(text);
}

std::string FormEncode(const PveParams& params) {
  std::vector<std::string> parts;
  for (const auto& [k, v] : params) {
    parts.push_back(absl::StrCat(PercentEncode(k), "=", PercentEncode(v)));
  }
  return absl::StrJoin(parts, "&");
}

PveClient::PveClient(HttpClient& http, std::string base_url, Secret credential,
                     PveWaits waits)
    : http_(http),
      base_url_(std::string(absl::StripSuffix(base_url, "/"))),
      credential_(std::move(credential)),
      waits_(std::move(waits)) {
  token_id_ = PveTokenId(credential_).value_or("?");
}

PollOptions PveClient::PollFor(absl::string_view what,
                               absl::Duration timeout) const {
  if (waits_.poll_for) return waits_.poll_for(what, timeout);
  PollOptions options;
  options.what = std::string(what);
  options.timeout = timeout;
  return options;
}

absl::StatusOr<json> PveClient::Get(absl::string_view path,
                                    const PveParams& params) {
  return Call("GET", path, params);
}
absl::StatusOr<json> PveClient::Post(absl::string_view path,
                                     const PveParams& params) {
  return Call("POST", path, params);
}
absl::StatusOr<json> PveClient::Put(absl::string_view path,
                                    const PveParams& params) {
  return Call("PUT", path, params);
}
absl::StatusOr<json> PveClient::Delete(absl::string_view path,
                                       const PveParams& params) {
  return Call("DELETE", path, params);
}

absl::StatusOr<json> PveClient::Call(absl::string_view method,
                                     absl::string_view path,
                                     const PveParams& params) {
  HttpRequest request;
  request.method = std::string(method);
  request.url = absl::StrCat(base_url_, path);
  bool query = method == "GET" || method == "DELETE";
  if (query && !params.empty()) {
    absl::StrAppend(&request.url, "?", FormEncode(params));
  } else if (!query) {
    request.body = FormEncode(params);
    request.headers.push_back(
        {"Content-Type", "application/x-www-form-urlencoded"});
  }
  request.secret_headers.push_back(
      {"Authorization",
       Secret::FromView(absl::StrCat("PVEAPIToken=", credential_.Reveal()))});
  std::string what = absl::StrCat("Proxmox ", method, " ", path);
  PollOptions options = PollFor(what, waits_.call_deadline);
  options.max_attempts = waits_.call_attempts;
  options.backoff = {absl::Milliseconds(50), absl::Seconds(5), 2.0, 0.25};
  absl::StatusOr<HttpResponse> response =
      SendPolled(http_, request, options, IsRetryablePveResponse);
  if (!response.ok()) {
    // A give-up already starts with `what`.
    absl::string_view message = response.status().message();
    return absl::Status(response.status().code(),
                        absl::StartsWith(message, what)
                            ? std::string(message)
                            : absl::StrCat(what, ": ", message));
  }
  if (response->status == 200) {
    json body = json::parse(response->body, nullptr, false);
    if (!body.is_object() || !body.contains("data")) {
      return absl::UnavailableError(
          absl::StrCat(what, ": answer is not a {\"data\": ...} envelope"));
    }
    return body["data"];
  }
  std::string text = ErrorText(*response);
  std::string message = absl::StrCat(what, ": ", text);
  if (response->status == 401) {
    return absl::PermissionDeniedError(absl::StrCat(
        what, ": authentication failed (401) for token ", token_id_,
        "; check that the token exists in Proxmox and the keystore item holds "
        "its current secret"));
  }
  if (response->status == 403) return absl::PermissionDeniedError(message);
  if (absl::StrContains(text, "already exists")) {
    return absl::AlreadyExistsError(message);
  }
  if (absl::StrContains(text, "does not exist") ||
      absl::StrContains(text, "no such")) {
    return absl::NotFoundError(message);
  }
  if (response->status >= 500 && response->status != 501 &&
      !IsPermanentText(text)) {
    return absl::UnavailableError(message);
  }
  return absl::FailedPreconditionError(message);
}

absl::StatusOr<PveTask> PveClient::WaitForTask(const std::string& upid,
                                               absl::Duration deadline) {
  std::vector<std::string> fields = absl::StrSplit(upid, ':');
  if (fields.size() < 8 || fields[0] != "UPID") {
    return absl::FailedPreconditionError(
        absl::StrCat("Proxmox returned \"", upid, "\", not a UPID"));
  }
  PveTask task;
  task.upid = upid;
  task.type = fields[5];
  std::string path = absl::StrCat("/nodes/", fields[1], "/tasks/",
                                  PercentEncode(upid), "/status");
  PollOptions options =
      PollFor(absl::StrCat("Proxmox task ", upid, " to end"), deadline);
  options.backoff = {absl::Milliseconds(5), absl::Seconds(1), 2.0, 0.0};
  // Only "still running" is waited out; a failed status call ends the wait.
  bool running = false;
  options.retryable = [&running](const absl::Status&) { return running; };
  RETURN_IF_ERROR(Poll(options, [&](PollAttempt&) -> absl::Status {
    running = false;
    absl::StatusOr<json> status = Get(path);
    if (!status.ok() &&
        !absl::StrContains(status.status().message(), "no such task")) {
      return status.status();
    }
    if (status.ok() && status->is_object() &&
        PveString((*status)["status"]) == "stopped") {
      task.exit_status = PveString((*status)["exitstatus"]);
      if (task.exit_status.empty()) task.exit_status = "unexpected status";
      return absl::OkStatus();
    }
    running = true;
    return absl::UnavailableError("still running");
  }));
  return task;
}

absl::StatusOr<PveTaskRun> PveClient::RunTask(
    absl::string_view what, const std::function<absl::StatusOr<json>()>& start,
    absl::Duration task_deadline, int max_attempts) {
  PollOptions options =
      PollFor(absl::StrCat(what, " to run without a lock timeout"),
              absl::InfiniteDuration());
  options.max_attempts = max_attempts;
  options.backoff = {absl::Milliseconds(100), absl::Seconds(2), 2.0, 0.25};
  // Only a task that ended in a lock timeout is started again.
  bool locked = false;
  options.retryable = [&locked](const absl::Status&) { return locked; };
  Clock& clock = options.clock != nullptr ? *options.clock : *Clock::Real();
  const absl::Time began = clock.Now();
  PveTaskRun run;
  absl::Status polled =
      Poll(options, [&](PollAttempt& attempt) -> absl::Status {
        locked = false;
        run.attempts = attempt.number;
        ASSIGN_OR_RETURN(json upid, start());
        if (upid.is_null()) {
          run.task = PveTask{"", std::string(what), "OK"};
          return absl::OkStatus();
        }
        ASSIGN_OR_RETURN(run.task, WaitForTask(PveString(upid), task_deadline));
        if (run.task.ok() || !IsLockText(run.task.exit_status)) {
          return absl::OkStatus();
        }
        locked = true;
        return absl::UnavailableError(absl::StrCat(
            "task ", run.task.upid, " ended \"", run.task.exit_status, "\""));
      });
  run.took = clock.Now() - began;
  // Out of attempts after lock timeouts: the caller reports the last task.
  if (!polled.ok() && !locked) return polled;
  return run;
}

}  // namespace coldstart
