#include "tools/provision-vms/pve_client.h"

#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "lib/base/status_macros.h"

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
                     RetryPolicy retry)
    : http_(http),
      base_url_(std::string(absl::StripSuffix(base_url, "/"))),
      credential_(std::move(credential)),
      retry_(std::move(retry)) {
  token_id_ = PveTokenId(credential_).value_or("?");
  if (!retry_.retry_if) retry_.retry_if = IsRetryablePveResponse;
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
  absl::StatusOr<HttpResponse> response = SendWithRetry(http_, request, retry_);
  if (!response.ok()) {
    return absl::Status(response.status().code(),
                        absl::StrCat(what, ": ", response.status().message()));
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
  absl::Time until = absl::Now() + deadline;
  absl::Duration pause = absl::Milliseconds(5);
  std::string path = absl::StrCat("/nodes/", fields[1], "/tasks/",
                                  PercentEncode(upid), "/status");
  while (true) {
    absl::StatusOr<json> status = Get(path);
    if (status.ok() && status->is_object()) {
      if (PveString((*status)["status"]) == "stopped") {
        task.exit_status = PveString((*status)["exitstatus"]);
        if (task.exit_status.empty()) task.exit_status = "unexpected status";
        return task;
      }
    } else if (!status.ok() &&
               !absl::StrContains(status.status().message(), "no such task")) {
      return status.status();
    }
    if (absl::Now() + pause > until) {
      return absl::DeadlineExceededError(
          absl::StrCat("task ", upid, " still running after ",
                       absl::FormatDuration(deadline)));
    }
    absl::SleepFor(pause);
    pause = std::min(pause * 2, absl::Seconds(1));
  }
}

}  // namespace coldstart
