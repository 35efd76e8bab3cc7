#ifndef COLDSTART_LIB_NET_HTTP_H_
#define COLDSTART_LIB_NET_HTTP_H_

// HTTP for every tool: a small client interface (which tests and the lab
// implement), a libcurl implementation with TLS verification always on,
// retry with exponential backoff + jitter under a deadline, and optional
// record/replay of exchanges to a redacted JSON-lines file.

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "lib/base/clock.h"
#include "lib/base/poll.h"
#include "lib/secrets/secret.h"

namespace coldstart {

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  std::string method = "GET";
  std::string url;
  HttpHeaders headers;
  // Headers whose values are secret (Authorization, X-API-Key, ...): sent like
  // `headers`, never recorded, and their values are scrubbed from recordings.
  std::vector<std::pair<std::string, Secret>> secret_headers;
  std::string body;
  // Limit for this one exchange; infinite means the client's default.
  absl::Duration timeout = absl::InfiniteDuration();
};

struct HttpResponse {
  int status = 0;
  HttpHeaders headers;
  std::string body;

  // The first header called `name` (case-insensitive), if any.
  std::optional<std::string> Header(absl::string_view name) const;
};

// One HTTP exchange. Implementations must be safe to call from several
// threads at once.
class HttpClient {
 public:
  virtual ~HttpClient() = default;

  // Sends `request` once (no retry). Every HTTP status is a response, not an
  // error. Errors: InvalidArgument (malformed URL or method), Unavailable
  // (cannot connect or resolve, connection reset, empty reply),
  // DeadlineExceeded (the exchange timed out), FailedPrecondition (the
  // server's certificate is not trusted — not retryable). Messages name the
  // method and UrlForMessages(url), never header values or bodies.
  virtual absl::StatusOr<HttpResponse> Send(const HttpRequest& request) = 0;
};

// How a server's certificate is trusted. Verification is always on.
struct TlsTrust {
  // PEM file of trusted CA certificates; empty: the system's CA store. The
  // host name (or IP) must match the certificate.
  std::string ca_file;
  // SHA-256 of the server certificate's DER, hex (colons and case ignored),
  // as Proxmox shows it. When set, exactly that certificate is accepted and
  // nothing else (chain and host name are not checked: the pin is the
  // identity).
  std::string certificate_sha256;
};

struct CurlHttpClientOptions {
  TlsTrust trust;
  absl::Duration connect_timeout = absl::Seconds(10);
  // Default limit for one exchange (HttpRequest::timeout overrides).
  absl::Duration timeout = absl::Seconds(60);
  std::string user_agent = "coldstart";
};

// HttpClient over libcurl (http and https only, no redirects followed, no
// proxy from the environment unless libcurl's own variables are set).
class CurlHttpClient : public HttpClient {
 public:
  // InvalidArgument for a malformed pin; NotFound for a missing CA file.
  static absl::StatusOr<std::unique_ptr<CurlHttpClient>> Create(
      CurlHttpClientOptions options);

  absl::StatusOr<HttpResponse> Send(const HttpRequest& request) override;

 private:
  CurlHttpClient(CurlHttpClientOptions options, std::string pin)
      : options_(std::move(options)), pin_sha256_(std::move(pin)) {}
  CurlHttpClientOptions options_;
  std::string pin_sha256_;  // raw 32 bytes, or empty
};

// --- Retry -------------------------------------------------------------------

struct RetryPolicy {
  // Attempts in all (first try included).
  int max_attempts = 8;
  // Overall limit from the first attempt; no attempt starts or sleeps past it,
  // and each attempt's timeout is cut to what remains.
  absl::Duration deadline = absl::Minutes(2);
  absl::Duration initial_backoff = absl::Milliseconds(250);
  absl::Duration max_backoff = absl::Seconds(15);
  double multiplier = 2.0;
  // Fraction of each delay drawn at random: delay * (1 - jitter * U[0,1)).
  double jitter = 0.25;
  // Extra retryable responses beyond 429/502/503/504, e.g. Proxmox's
  // "can't lock file ... got timeout" 500s.
  std::function<bool(const HttpResponse&)> retry_if;

  // Time source and sleep; tests substitute a FakeClock. nullptr: real.
  Clock* clock = nullptr;
  // Uniform random in [0, 1) for jitter. Default: absl::BitGen.
  std::function<double()> uniform01;
  // Progress lines for retries that go on for more than a second ("waiting
  // for GET https://…: 3s so far; last: HTTP 503"); may be empty.
  std::function<void(absl::string_view line)> progress;

  // The delay before retry number `retry` (1 = after the first attempt),
  // before Retry-After is considered.
  absl::Duration Backoff(int retry, double uniform01) const;
};

// True for outcomes worth retrying: Unavailable and DeadlineExceeded errors,
// HTTP 429/502/503/504, and responses `policy.retry_if` accepts.
bool IsRetryable(const absl::StatusOr<HttpResponse>& outcome,
                 const RetryPolicy& policy);

// The delay a response's Retry-After header asks for (delta-seconds or
// HTTP-date relative to `now`); nullopt when absent or malformed.
std::optional<absl::Duration> RetryAfter(const HttpResponse& response,
                                         absl::Time now);

// Sends `request` through `client`, retrying retryable outcomes with
// exponential backoff + jitter (honouring Retry-After when longer) until
// success, a non-retryable outcome (returned as is), `max_attempts`
// (Unavailable) or the deadline (DeadlineExceeded). The give-up message names
// the method, URL, number of attempts, time spent and the last outcome.
absl::StatusOr<HttpResponse> SendWithRetry(HttpClient& client,
                                           const HttpRequest& request,
                                           const RetryPolicy& policy);

// Sends `request`, retrying while IsRetryable (with `retry_if` as
// RetryPolicy::retry_if) through the one polling loop with `options`'
// deadline, backoff, clock and progress lines, honouring Retry-After; each
// attempt's timeout is cut to the time that remains. Returns the first
// non-retryable outcome (any HTTP status, or the client's error); when the
// retries run out, Poll's DeadlineExceeded / Unavailable naming
// `options.what` and the last outcome ("HTTP 503: <body, abbreviated>").
absl::StatusOr<HttpResponse> SendPolled(
    HttpClient& client, const HttpRequest& request, const PollOptions& options,
    std::function<bool(const HttpResponse&)> retry_if = nullptr);

// An HttpClient that applies SendWithRetry with a fixed policy to `inner`.
class RetryingHttpClient : public HttpClient {
 public:
  RetryingHttpClient(HttpClient& inner, RetryPolicy policy)
      : inner_(inner), policy_(std::move(policy)) {}
  absl::StatusOr<HttpResponse> Send(const HttpRequest& request) override {
    return SendWithRetry(inner_, request, policy_);
  }

 private:
  HttpClient& inner_;
  RetryPolicy policy_;
};

// --- Record / replay
// -----------------------------------------------------------

// What to remove from recordings. Always removed, besides: the values of
// Authorization, Proxy-Authorization, Cookie, Set-Cookie, X-API-Key,
// CSRFPreventionToken, X-Auth-Token, X-Amz-Security-Token headers; any header
// value containing "PVEAPIToken"; every HttpRequest::secret_headers value
// (also wherever else it appears).
struct Redaction {
  // Values replaced by "[redacted]" wherever they occur (URL, headers,
  // bodies), e.g. a token that a response body echoes.
  std::vector<Secret> secret_values;
  // More header names (case-insensitive) whose values are removed.
  std::vector<std::string> secret_headers;
};

inline constexpr absl::string_view kRedacted = "[redacted]";

// `url` without user info and query string, for error messages.
std::string UrlForMessages(absl::string_view url);

// Passes every exchange to `inner` and appends it, redacted, as one JSON line
// to a file: {"request": {method, url, headers, body}, "response": {status,
// headers, body}} or {"request": ..., "error": {code, message}}. Bodies that
// are not UTF-8 are stored as "body_base64".
class RecordingHttpClient : public HttpClient {
 public:
  // Creates (0600) or appends to `path`.
  static absl::StatusOr<std::unique_ptr<RecordingHttpClient>> Create(
      HttpClient& inner, std::string path, Redaction redaction);
  absl::StatusOr<HttpResponse> Send(const HttpRequest& request) override;

 private:
  RecordingHttpClient(HttpClient& inner, std::string path, Redaction redaction)
      : inner_(inner),
        path_(std::move(path)),
        redaction_(std::move(redaction)) {}
  HttpClient& inner_;
  std::string path_;
  Redaction redaction_;
  std::mutex mu_;
};

// Serves the exchanges of a recording: each request gets the first unused
// recorded exchange with the same method and (redacted) URL, in file order.
// FailedPrecondition when none is left for it.
class ReplayHttpClient : public HttpClient {
 public:
  // InvalidArgument (with line number) for a malformed file.
  static absl::StatusOr<std::unique_ptr<ReplayHttpClient>> FromFile(
      const std::string& path, Redaction redaction = {});
  absl::StatusOr<HttpResponse> Send(const HttpRequest& request) override;

 private:
  struct Exchange {
    std::string method;
    std::string url;
    absl::StatusOr<HttpResponse> outcome;
    bool used = false;
  };
  explicit ReplayHttpClient(Redaction redaction)
      : redaction_(std::move(redaction)) {}
  Redaction redaction_;
  std::mutex mu_;
  std::vector<Exchange> exchanges_;
};

}  // namespace coldstart

#endif  // COLDSTART_LIB_NET_HTTP_H_
