// One HTTP call retried through the one polling loop (lib/base/poll.h), so a
// long retry (a 503 storm, a lock held by another run) prints progress lines
// and runs on the caller's clock.
#ifndef COLDSTART_TOOLS_PROVISION_VMS_POLLED_HTTP_H_
#define COLDSTART_TOOLS_PROVISION_VMS_POLLED_HTTP_H_

#include <functional>

#include "absl/status/statusor.h"
#include "lib/base/poll.h"
#include "lib/net/http.h"

namespace coldstart {

// Sends `request` through `client`, retrying while the outcome is retryable
// by lib/net/http's IsRetryable (transport errors, HTTP 429/502/503/504, and
// what `retry_if` accepts), with `options`' deadline, backoff and progress
// lines, honouring Retry-After. Each attempt's timeout is cut to the time
// that remains. Returns the first non-retryable outcome (an HTTP response of
// any status, or the client's error, which names the method and URL); when
// the retries run out, Poll's DeadlineExceeded / Unavailable naming
// `options.what` and the last outcome.
absl::StatusOr<HttpResponse> SendPolled(
    HttpClient& client, const HttpRequest& request, const PollOptions& options,
    std::function<bool(const HttpResponse&)> retry_if = nullptr);

}  // namespace coldstart

#endif  // COLDSTART_TOOLS_PROVISION_VMS_POLLED_HTTP_H_
