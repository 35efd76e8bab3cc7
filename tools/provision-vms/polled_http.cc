#include "tools/provision-vms/polled_http.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "lib/base/clock.h"
#include "lib/base/file.h"

namespace coldstart {

absl::StatusOr<HttpResponse> SendPolled(
    HttpClient& client, const HttpRequest& request, const PollOptions& options,
    std::function<bool(const HttpResponse&)> retry_if) {
  RetryPolicy policy;
  policy.retry_if = std::move(retry_if);
  Clock& clock = options.clock != nullptr ? *options.clock : *Clock::Real();
  std::optional<absl::StatusOr<HttpResponse>> last;
  absl::Status polled = Poll(options, [&](PollAttempt& attempt) {
    HttpRequest once = request;
    once.timeout = std::min(request.timeout, attempt.remaining);
    last = client.Send(once);
    if (!IsRetryable(*last, policy)) return absl::OkStatus();
    if (!last->ok()) return last->status();
    const HttpResponse& response = **last;
    attempt.retry_after = RetryAfter(response, clock.Now());
    return absl::UnavailableError(absl::StrCat(
        "HTTP ", response.status, response.body.empty() ? "" : ": ",
        Abbreviate(response.body, 200)));
  });
  if (!polled.ok()) return polled;
  return *std::move(last);
}

}  // namespace coldstart
