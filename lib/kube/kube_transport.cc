#include "lib/kube/kube_transport.h"

#include <curl/curl.h>

#include <mutex>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace coldstart::kube {
namespace {

size_t WriteBody(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

size_t WriteHeader(char* data, size_t size, size_t n, void* out) {
  absl::string_view line(data, size * n);
  auto* headers = static_cast<HttpHeaders*>(out);
  if (absl::StartsWith(line, "HTTP/")) {
    headers->clear();  // a new response (e.g. after 100 Continue)
    return size * n;
  }
  size_t colon = line.find(':');
  if (colon != absl::string_view::npos) {
    headers->emplace_back(
        std::string(absl::StripAsciiWhitespace(line.substr(0, colon))),
        std::string(absl::StripAsciiWhitespace(line.substr(colon + 1))));
  }
  return size * n;
}

class KubeHttpClient : public HttpClient {
 public:
  KubeHttpClient(const RestConfig& config, TransportOptions options)
      : config_(config), options_(std::move(options)) {}
  ~KubeHttpClient() override {
    for (CURL* h : pool_) curl_easy_cleanup(h);
  }

  absl::StatusOr<HttpResponse> Send(const HttpRequest& request) override {
    CURL* h = Acquire();
    absl::StatusOr<HttpResponse> result = SendOn(h, request);
    if (result.ok()) {
      Release(h);
    } else {
      // A transfer that failed (e.g. a connection reset after the request
      // was sent) can leave the handle's TLS state unusable: the next
      // handshake on it fails as if the server were untrusted. Start over.
      curl_easy_cleanup(h);
    }
    return result;
  }

 private:
  CURL* Acquire() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!pool_.empty()) {
        CURL* h = pool_.back();
        pool_.pop_back();
        return h;
      }
    }
    return curl_easy_init();
  }
  void Release(CURL* h) {
    std::lock_guard<std::mutex> lock(mu_);
    pool_.push_back(h);
  }

  absl::StatusOr<HttpResponse> SendOn(CURL* h, const HttpRequest& request) {
    curl_easy_reset(h);
    HttpResponse response;
    std::string what =
        absl::StrCat(request.method, " ", UrlForMessages(request.url));
    curl_easy_setopt(h, CURLOPT_URL, request.url.c_str());
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https,http");
    curl_easy_setopt(h, CURLOPT_USERAGENT, options_.user_agent.c_str());
    curl_easy_setopt(
        h, CURLOPT_CONNECTTIMEOUT_MS,
        static_cast<long>(absl::ToInt64Milliseconds(options_.connect_timeout)));
    absl::Duration timeout = request.timeout == absl::InfiniteDuration()
                                 ? options_.timeout
                                 : request.timeout;
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS,
                     static_cast<long>(absl::ToInt64Milliseconds(timeout)));
    // No Accept-Encoding: compressing large lists costs the server more CPU
    // than the bytes cost on the links these tools use (measured with
    // verify_cluster_benchmark: brotli at the simulator's default made a
    // 10,000-pod walk 100x slower).
    // TLS: always verified (insecure was refused at construction unless
    // explicitly allowed).
    bool insecure = config_.insecure_skip_tls_verify;
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, insecure ? 0L : 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, insecure ? 0L : 2L);
    curl_blob ca{const_cast<char*>(config_.ca_pem.data()),
                 config_.ca_pem.size(), CURL_BLOB_NOCOPY};
    if (!config_.ca_pem.empty()) curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &ca);
    curl_blob cert{const_cast<char*>(config_.client_cert_pem.data()),
                   config_.client_cert_pem.size(), CURL_BLOB_NOCOPY};
    absl::string_view key_pem = config_.client_key_pem.Reveal();
    curl_blob key{const_cast<char*>(key_pem.data()), key_pem.size(),
                  CURL_BLOB_NOCOPY};
    if (!config_.client_cert_pem.empty()) {
      curl_easy_setopt(h, CURLOPT_SSLCERT_BLOB, &cert);
      curl_easy_setopt(h, CURLOPT_SSLCERTTYPE, "PEM");
      curl_easy_setopt(h, CURLOPT_SSLKEY_BLOB, &key);
      curl_easy_setopt(h, CURLOPT_SSLKEYTYPE, "PEM");
    }
    curl_slist* headers = nullptr;
    for (const auto& [name, value] : request.headers) {
      headers =
          curl_slist_append(headers, absl::StrCat(name, ": ", value).c_str());
    }
    std::string auth;
    for (const auto& [name, value] : request.secret_headers) {
      auth = absl::StrCat(name, ": ", value.Reveal());
      headers = curl_slist_append(headers, auth.c_str());
    }
    if (!config_.token.Reveal().empty()) {
      auth = absl::StrCat("Authorization: Bearer ", config_.token.Reveal());
      headers = curl_slist_append(headers, auth.c_str());
    }
    std::fill(auth.begin(), auth.end(), '\0');
    headers = curl_slist_append(headers, "Expect:");
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    if (request.method == "GET") {
      curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    } else {
      curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, request.method.c_str());
      if (!request.body.empty() || request.method != "DELETE") {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, request.body.data());
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
                         static_cast<curl_off_t>(request.body.size()));
      }
    }
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, WriteBody);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &response.body);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, WriteHeader);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &response.headers);
    CURLcode rc = curl_easy_perform(h);
    curl_slist_free_all(headers);
    if (rc != CURLE_OK) {
      std::string detail = curl_easy_strerror(rc);
      long verify_result = 0;
      if (rc == CURLE_SSL_CONNECT_ERROR &&
          curl_easy_getinfo(h, CURLINFO_SSL_VERIFYRESULT, &verify_result) ==
              CURLE_OK &&
          verify_result != 0) {
        rc = CURLE_PEER_FAILED_VERIFICATION;  // the server's chain failed
      }
      switch (rc) {
        case CURLE_OPERATION_TIMEDOUT:
          return absl::DeadlineExceededError(absl::StrCat(
              what, ": timed out after ", FormatDuration(timeout)));
        case CURLE_PEER_FAILED_VERIFICATION:
          return absl::FailedPreconditionError(
              absl::StrCat(what,
                           ": the server's certificate is not trusted by the "
                           "kubeconfig's CA (",
                           detail, ")"));
        case CURLE_URL_MALFORMAT:
        case CURLE_UNSUPPORTED_PROTOCOL:
          return absl::InvalidArgumentError(absl::StrCat(what, ": ", detail));
        case CURLE_SSL_CERTPROBLEM:
          return absl::InvalidArgumentError(
              absl::StrCat(what,
                           ": the kubeconfig's client certificate or key is "
                           "unusable"));
        default:
          return absl::UnavailableError(absl::StrCat(what, ": ", detail));
      }
    }
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    response.status = static_cast<int>(status);
    return response;
  }

  const RestConfig config_;
  const TransportOptions options_;
  std::mutex mu_;
  std::vector<CURL*> pool_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<HttpClient>> NewKubeHttpClient(
    const RestConfig& config, const TransportOptions& options) {
  if (config.insecure_skip_tls_verify && !options.allow_insecure) {
    return absl::FailedPreconditionError(absl::StrCat(
        "kubeconfig cluster \"", config.cluster_name,
        "\" sets insecure-skip-tls-verify; TLS verification stays on unless "
        "--insecure is given"));
  }
  static std::once_flag init;
  std::call_once(init, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  return std::make_unique<KubeHttpClient>(config, options);
}

}  // namespace coldstart::kube
