#include "lib/net/http.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <mutex>

#include "absl/random/random.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "lib/base/clock.h"
#include "lib/base/file.h"
#include "lib/base/poll.h"
#include "lib/base/status_macros.h"
#include "lib/net/http_tls_pin.h"
#include "lib/secrets/crypto.h"
#include "nlohmann/json.hpp"

namespace coldstart {

std::optional<std::string> HttpResponse::Header(absl::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (absl::EqualsIgnoreCase(key, name)) return value;
  }
  return std::nullopt;
}

std::string UrlForMessages(absl::string_view url) {
  url = url.substr(0, url.find_first_of("?#"));
  size_t scheme = url.find("://");
  size_t authority = scheme == absl::string_view::npos ? 0 : scheme + 3;
  size_t path = url.find('/', authority);
  size_t at = url.substr(0, path).rfind('@');
  if (at != absl::string_view::npos && at >= authority) {
    return absl::StrCat(url.substr(0, authority), url.substr(at + 1));
  }
  return std::string(url);
}

// --- libcurl -----------------------------------------------------------------

namespace {

std::once_flag curl_init_once;

size_t AppendBody(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

size_t AppendHeader(char* data, size_t size, size_t n, void* out) {
  auto* headers = static_cast<HttpHeaders*>(out);
  absl::string_view line(data, size * n);
  line = absl::StripTrailingAsciiWhitespace(line);
  if (absl::StartsWith(line, "HTTP/")) {
    headers->clear();  // a new response (after 100 Continue)
  } else if (size_t colon = line.find(':'); colon != absl::string_view::npos) {
    headers->emplace_back(
        std::string(line.substr(0, colon)),
        std::string(absl::StripAsciiWhitespace(line.substr(colon + 1))));
  }
  return size * n;
}

CURLcode SslContextCallback(CURL*, void* ssl_ctx, void* pin) {
  return static_cast<CURLcode>(http_internal::InstallCertificatePin(
      ssl_ctx, static_cast<http_internal::CertificatePin*>(pin)));
}

absl::StatusCode CodeFor(CURLcode code) {
  switch (code) {
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_BAD_FUNCTION_ARGUMENT:
      return absl::StatusCode::kInvalidArgument;
    case CURLE_OPERATION_TIMEDOUT:
      return absl::StatusCode::kDeadlineExceeded;
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_ISSUER_ERROR:
      return absl::StatusCode::kFailedPrecondition;
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
      return absl::StatusCode::kUnavailable;
    default:
      return absl::StatusCode::kInternal;
  }
}

long Millis(absl::Duration d) {  // NOLINT(runtime/int): curl's type.
  return static_cast<long>(      // NOLINT(runtime/int)
      std::max<int64_t>(1, absl::ToInt64Milliseconds(d)));
}

}  // namespace

absl::StatusOr<std::unique_ptr<CurlHttpClient>> CurlHttpClient::Create(
    CurlHttpClientOptions options) {
  std::call_once(curl_init_once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  std::string pin;
  if (!options.trust.certificate_sha256.empty()) {
    std::string hex = absl::AsciiStrToLower(
        absl::StrReplaceAll(options.trust.certificate_sha256, {{":", ""}}));
    if (hex.size() != 64 ||
        hex.find_first_not_of("0123456789abcdef") != std::string::npos) {
      return absl::InvalidArgumentError(absl::StrCat(
          "certificate SHA-256 pin must be 64 hex digits (colons allowed), "
          "got \"",
          options.trust.certificate_sha256, "\""));
    }
    pin = absl::HexStringToBytes(hex);
  }
  if (!options.trust.ca_file.empty() &&
      access(options.trust.ca_file.c_str(), R_OK) != 0) {
    return absl::NotFoundError(absl::StrCat("CA file ", options.trust.ca_file,
                                            ": ", std::strerror(errno)));
  }
  return std::unique_ptr<CurlHttpClient>(
      new CurlHttpClient(std::move(options), std::move(pin)));
}

absl::StatusOr<HttpResponse> CurlHttpClient::Send(const HttpRequest& request) {
  const std::string what =
      absl::StrCat(request.method, " ", UrlForMessages(request.url));
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(),
                                                           &curl_easy_cleanup);
  if (curl == nullptr) return absl::InternalError(what + ": curl_easy_init");
  CURL* h = curl.get();

  // Header lines are built in one list; lines with secrets are wiped after.
  std::vector<std::string> lines;
  for (const auto& [name, value] : request.headers) {
    lines.push_back(absl::StrCat(name, ": ", value));
  }
  for (const auto& [name, value] : request.secret_headers) {
    lines.push_back(absl::StrCat(name, ": ", value.Reveal()));
  }
  if (!request.body.empty() &&
      std::none_of(request.headers.begin(), request.headers.end(),
                   [](const auto& h) {
                     return absl::EqualsIgnoreCase(h.first, "Expect");
                   })) {
    lines.push_back("Expect:");  // no 100-continue round trip
  }
  struct curl_slist* header_list = nullptr;
  for (const std::string& line : lines) {
    header_list = curl_slist_append(header_list, line.c_str());
  }
  std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> headers_owner(
      header_list, &curl_slist_free_all);
  auto wipe = [&] {
    for (std::string& line : lines) WipeBytes(line.data(), line.size());
    for (curl_slist* l = header_list; l != nullptr; l = l->next) {
      WipeBytes(l->data, std::strlen(l->data));
    }
  };

  HttpResponse response;
  char error[CURL_ERROR_SIZE] = {0};
  http_internal::CertificatePin pin;
  absl::Duration timeout = request.timeout == absl::InfiniteDuration()
                               ? options_.timeout
                               : request.timeout;

  curl_easy_setopt(h, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(h, CURLOPT_USERAGENT, options_.user_agent.c_str());
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                   Millis(std::min(options_.connect_timeout, timeout)));
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, Millis(timeout));
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, header_list);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &AppendBody);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &response.body);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, &AppendHeader);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &response.headers);
  if (request.method == "HEAD") {
    curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
  } else if (request.method != "GET" || !request.body.empty()) {
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  }
  if (!request.body.empty() || request.method == "POST" ||
      request.method == "PUT" || request.method == "PATCH") {
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(request.body.size()));
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, request.body.data());
  }
  // TLS: verification is always on.
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
  if (!options_.trust.ca_file.empty()) {
    curl_easy_setopt(h, CURLOPT_CAINFO, options_.trust.ca_file.c_str());
  }
  if (!pin_sha256_.empty()) {
    pin.expected_sha256 = pin_sha256_;
    pin.sha256 = [](absl::string_view der) { return Sha256(der); };
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);  // the pin is the identity
    curl_easy_setopt(h, CURLOPT_SSL_CTX_FUNCTION, &SslContextCallback);
    curl_easy_setopt(h, CURLOPT_SSL_CTX_DATA, &pin);
  }

  CURLcode code = curl_easy_perform(h);
  wipe();
  if (pin.mismatch) {
    return absl::FailedPreconditionError(absl::StrCat(
        what, ": server certificate SHA-256 ", HexEncode(pin.presented_sha256),
        " does not match the pinned ", HexEncode(pin_sha256_)));
  }
  if (code != CURLE_OK) {
    std::string detail = error[0] != '\0' ? error : curl_easy_strerror(code);
    absl::StatusCode status = CodeFor(code);
    if (status == absl::StatusCode::kFailedPrecondition) {
      absl::StrAppend(&detail,
                      "; trust the server by pinning its CA file or its "
                      "certificate's SHA-256");
    }
    return absl::Status(status, absl::StrCat(what, ": ", detail));
  }
  long status = 0;  // NOLINT(runtime/int): curl's type.
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  response.status = static_cast<int>(status);
  return response;
}

// --- Retry -------------------------------------------------------------------

absl::Duration RetryPolicy::Backoff(int retry, double u) const {
  return ::coldstart::Backoff{initial_backoff, max_backoff, multiplier, jitter}
      .Delay(retry, u);
}

bool IsRetryable(const absl::StatusOr<HttpResponse>& outcome,
                 const RetryPolicy& policy) {
  if (!outcome.ok()) {
    return outcome.status().code() == absl::StatusCode::kUnavailable ||
           outcome.status().code() == absl::StatusCode::kDeadlineExceeded;
  }
  switch (outcome->status) {
    case 429:
    case 502:
    case 503:
    case 504:
      return true;
    default:
      return policy.retry_if != nullptr && policy.retry_if(*outcome);
  }
}

std::optional<absl::Duration> RetryAfter(const HttpResponse& response,
                                         absl::Time now) {
  std::optional<std::string> value = response.Header("Retry-After");
  if (!value.has_value()) return std::nullopt;
  int64_t seconds = 0;
  if (absl::SimpleAtoi(*value, &seconds)) {
    if (seconds < 0) return std::nullopt;
    return absl::Seconds(seconds);
  }
  absl::Time when;
  std::string err;
  if (absl::ParseTime("%a, %d %b %Y %H:%M:%S GMT", *value, absl::UTCTimeZone(),
                      &when, &err)) {
    return std::max(absl::ZeroDuration(), when - now);
  }
  return std::nullopt;
}

namespace {

std::string Describe(const absl::StatusOr<HttpResponse>& outcome) {
  if (!outcome.ok()) return outcome.status().ToString();
  return absl::StrCat("HTTP ", outcome->status);
}

}  // namespace

absl::StatusOr<HttpResponse> SendPolled(
    HttpClient& client, const HttpRequest& request, const PollOptions& options,
    std::function<bool(const HttpResponse&)> retry_if) {
  RetryPolicy policy;
  policy.retry_if = std::move(retry_if);
  Clock& clock = options.clock != nullptr ? *options.clock : *Clock::Real();
  std::optional<absl::StatusOr<HttpResponse>> last;
  const absl::Status polled = Poll(options, [&](PollAttempt& attempt) {
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

absl::StatusOr<HttpResponse> SendWithRetry(HttpClient& client,
                                           const HttpRequest& request,
                                           const RetryPolicy& policy) {
  PollOptions poll;
  poll.what = absl::StrCat(request.method, " ", UrlForMessages(request.url));
  poll.timeout = policy.deadline;
  poll.max_attempts = policy.max_attempts;
  poll.backoff.initial = policy.initial_backoff;
  poll.backoff.max = policy.max_backoff;
  poll.backoff.multiplier = policy.multiplier;
  poll.backoff.jitter = policy.jitter;
  poll.clock = policy.clock;
  poll.uniform01 = policy.uniform01;
  poll.progress = policy.progress;
  return SendPolled(client, request, poll, policy.retry_if);
}

// --- Record / replay
// -----------------------------------------------------------

namespace {

using Json = nlohmann::json;

constexpr absl::string_view kAlwaysSecretHeaders[] = {
    "authorization", "proxy-authorization", "cookie",
    "set-cookie",    "x-api-key",           "csrfpreventiontoken",
    "x-auth-token",  "x-amz-security-token"};

// Applies redaction rules; built per exchange.
class Redactor {
 public:
  Redactor(const Redaction& redaction, const HttpRequest* request) {
    for (const Secret& value : redaction.secret_values) {
      if (!value.empty()) values_.push_back(value.Reveal());
    }
    for (const std::string& name : redaction.secret_headers) {
      names_.push_back(absl::AsciiStrToLower(name));
    }
    if (request != nullptr) {
      for (const auto& [name, value] : request->secret_headers) {
        names_.push_back(absl::AsciiStrToLower(name));
        if (!value.empty()) values_.push_back(value.Reveal());
        // Also the part after a scheme word ("Bearer x", "PVEAPIToken=u=x").
        absl::string_view v = value.Reveal();
        for (char sep : {' ', '='}) {
          size_t pos = v.rfind(sep);
          if (pos != absl::string_view::npos && v.size() - pos > 8) {
            values_.push_back(v.substr(pos + 1));
          }
        }
      }
    }
    // Longest first, so a value containing another is removed whole.
    std::sort(values_.begin(), values_.end(),
              [](absl::string_view a, absl::string_view b) {
                return a.size() > b.size();
              });
  }

  std::string Text(absl::string_view text) const {
    std::string out(text);
    for (absl::string_view value : values_) {
      out = absl::StrReplaceAll(out, {{value, kRedacted}});
    }
    return out;
  }

  bool SecretHeader(absl::string_view name, absl::string_view value) const {
    std::string lower = absl::AsciiStrToLower(name);
    for (absl::string_view always : kAlwaysSecretHeaders) {
      if (lower == always) return true;
    }
    for (const std::string& n : names_) {
      if (lower == n) return true;
    }
    return absl::StrContains(absl::AsciiStrToLower(value), "pveapitoken");
  }

  Json Headers(const HttpHeaders& headers) const {
    Json out = Json::array();
    for (const auto& [name, value] : headers) {
      out.push_back({name, SecretHeader(name, value) ? std::string(kRedacted)
                                                     : Text(value)});
    }
    return out;
  }

  std::string Url(absl::string_view url) const {
    // Drop a password in the user info.
    std::string out = Text(url);
    size_t scheme = out.find("://");
    size_t authority = scheme == std::string::npos ? 0 : scheme + 3;
    size_t at = out.substr(0, out.find('/', authority)).rfind('@');
    if (at != std::string::npos && at >= authority) {
      out = absl::StrCat(out.substr(0, authority), kRedacted, "@",
                         out.substr(at + 1));
    }
    return out;
  }

  void Body(Json& object, absl::string_view body) const {
    std::string text = Text(body);
    try {
      Json probe = text;
      (void)probe.dump();  // throws on invalid UTF-8
      object["body"] = std::move(text);
    } catch (const Json::exception&) {
      object["body_base64"] = absl::Base64Escape(text);
    }
  }

 private:
  std::vector<absl::string_view> values_;
  std::vector<std::string> names_;
};

absl::StatusOr<std::string> BodyFrom(const Json& object) {
  if (object.contains("body_base64")) {
    std::string out;
    if (!absl::Base64Unescape(object["body_base64"].get<std::string>(), &out)) {
      return absl::InvalidArgumentError("bad body_base64");
    }
    return out;
  }
  return object.value("body", std::string());
}

}  // namespace

absl::StatusOr<std::unique_ptr<RecordingHttpClient>>
RecordingHttpClient::Create(HttpClient& inner, std::string path,
                            Redaction redaction) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("recording file ", path, ": ", std::strerror(errno)));
  }
  close(fd);
  return std::unique_ptr<RecordingHttpClient>(
      new RecordingHttpClient(inner, std::move(path), std::move(redaction)));
}

absl::StatusOr<HttpResponse> RecordingHttpClient::Send(
    const HttpRequest& request) {
  absl::StatusOr<HttpResponse> outcome = inner_.Send(request);

  Redactor redactor(redaction_, &request);
  Json req = {{"method", request.method},
              {"url", redactor.Url(request.url)},
              {"headers", redactor.Headers(request.headers)}};
  for (const auto& [name, value] : request.secret_headers) {
    req["headers"].push_back({name, std::string(kRedacted)});
  }
  redactor.Body(req, request.body);
  Json line = {{"request", std::move(req)}};
  if (outcome.ok()) {
    Json resp = {{"status", outcome->status},
                 {"headers", redactor.Headers(outcome->headers)}};
    redactor.Body(resp, outcome->body);
    line["response"] = std::move(resp);
  } else {
    line["error"] = {{"code", static_cast<int>(outcome.status().code())},
                     {"message", redactor.Text(outcome.status().message())}};
  }

  std::lock_guard<std::mutex> lock(mu_);
  std::ofstream out(path_, std::ios::app);
  out << line.dump() << "\n";
  out.flush();
  if (!out) {
    return absl::InternalError(
        absl::StrCat("cannot append to recording file ", path_));
  }
  return outcome;
}

absl::StatusOr<std::unique_ptr<ReplayHttpClient>> ReplayHttpClient::FromFile(
    const std::string& path, Redaction redaction) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("recording file ", path));
  std::unique_ptr<ReplayHttpClient> client(
      new ReplayHttpClient(std::move(redaction)));
  std::string text;
  for (int line_no = 1; std::getline(in, text); ++line_no) {
    if (absl::StripAsciiWhitespace(text).empty()) continue;
    auto bad = [&](absl::string_view why) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ":", line_no, ": ", why));
    };
    try {
      Json line = Json::parse(text);
      const Json& req = line.at("request");
      Exchange exchange{req.at("method").get<std::string>(),
                        req.at("url").get<std::string>(),
                        absl::UnknownError("unset")};
      if (line.contains("response")) {
        const Json& resp = line["response"];
        HttpResponse response;
        response.status = resp.at("status").get<int>();
        for (const Json& h : resp.value("headers", Json::array())) {
          response.headers.emplace_back(h.at(0).get<std::string>(),
                                        h.at(1).get<std::string>());
        }
        absl::StatusOr<std::string> body = BodyFrom(resp);
        if (!body.ok()) return bad(body.status().message());
        response.body = *std::move(body);
        exchange.outcome = std::move(response);
      } else {
        const Json& err = line.at("error");
        exchange.outcome = absl::Status(
            static_cast<absl::StatusCode>(err.at("code").get<int>()),
            err.at("message").get<std::string>());
      }
      client->exchanges_.push_back(std::move(exchange));
    } catch (const Json::exception& e) {
      return bad(e.what());
    }
  }
  return client;
}

absl::StatusOr<HttpResponse> ReplayHttpClient::Send(
    const HttpRequest& request) {
  std::string url = Redactor(redaction_, &request).Url(request.url);
  std::lock_guard<std::mutex> lock(mu_);
  for (Exchange& exchange : exchanges_) {
    if (!exchange.used && exchange.method == request.method &&
        exchange.url == url) {
      exchange.used = true;
      return exchange.outcome;
    }
  }
  return absl::FailedPreconditionError(
      absl::StrCat(request.method, " ", UrlForMessages(request.url),
                   ": not in the recording (or already replayed)"));
}

}  // namespace coldstart
