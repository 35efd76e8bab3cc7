#ifndef COLDSTART_LIB_TESTING_HTTP_TESTING_H_
#define COLDSTART_LIB_TESTING_HTTP_TESTING_H_

// Test support: a cpp-httplib server on 127.0.0.1 (free port), plain or TLS.
// This header exposes no cpp-httplib (OpenSSL) type, so tests that also use
// lib/crypto (BoringSSL) can include it. testonly.

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace coldstart {

// Its own plain types: depending on lib/http would put BoringSSL's include
// path (through lib/crypto) in front of the OpenSSL headers cpp-httplib needs.
using LoopbackHeaders = std::vector<std::pair<std::string, std::string>>;

struct LoopbackRequest {
  std::string method;
  std::string path;   // without the query
  std::string query;  // raw, without '?'
  LoopbackHeaders headers;
  std::string body;
};

struct LoopbackResponse {
  int status = 200;
  LoopbackHeaders headers;  // "Content-Type" sets the body's type
  std::string body;
};

using LoopbackHandler = std::function<LoopbackResponse(const LoopbackRequest&)>;

class LoopbackHttpServer {
 public:
  // Starts serving `handler` on 127.0.0.1 at a free port; HTTPS when
  // `cert_pem_path` and `key_pem_path` are set. Returns once it accepts.
  static absl::StatusOr<std::unique_ptr<LoopbackHttpServer>> Start(
      LoopbackHandler handler, const std::string& cert_pem_path = "",
      const std::string& key_pem_path = "");
  ~LoopbackHttpServer();  // stops and joins

  int port() const { return port_; }
  // "http(s)://127.0.0.1:PORT" + path
  std::string Url(const std::string& path) const;
  // Requests that reached a handler so far.
  int requests() const { return requests_.load(); }

 private:
  struct Impl;
  LoopbackHttpServer() = default;
  std::unique_ptr<Impl> impl_;
  std::thread thread_;
  int port_ = 0;
  bool tls_ = false;
  std::atomic<int> requests_{0};
};

// A TCP port on 127.0.0.1 on which nothing listens (bound, then closed).
int UnusedLoopbackPort();

}  // namespace coldstart

#endif  // COLDSTART_LIB_TESTING_HTTP_TESTING_H_
