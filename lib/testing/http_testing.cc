#include "lib/testing/http_testing.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "httplib.h"

#if defined(BORINGSSL_PREFIX)
#error "http_testing must not see BoringSSL headers (cpp-httplib uses OpenSSL)"
#endif

namespace coldstart {

struct LoopbackHttpServer::Impl {
  std::unique_ptr<httplib::Server> server;
};

absl::StatusOr<std::unique_ptr<LoopbackHttpServer>> LoopbackHttpServer::Start(
    LoopbackHandler handler, const std::string& cert_pem_path,
    const std::string& key_pem_path) {
  std::unique_ptr<LoopbackHttpServer> self(new LoopbackHttpServer());
  self->impl_ = std::make_unique<Impl>();
  self->tls_ = !cert_pem_path.empty();
  if (self->tls_) {
    auto server = std::make_unique<httplib::SSLServer>(cert_pem_path.c_str(),
                                                       key_pem_path.c_str());
    if (!server->is_valid()) {
      return absl::InternalError(absl::StrCat(
          "cannot load TLS cert/key ", cert_pem_path, " ", key_pem_path));
    }
    self->impl_->server = std::move(server);
  } else {
    self->impl_->server = std::make_unique<httplib::Server>();
  }
  httplib::Server& server = *self->impl_->server;
  LoopbackHttpServer* raw = self.get();
  auto dispatch = [raw, handler](const httplib::Request& req,
                                 httplib::Response& res) {
    raw->requests_.fetch_add(1);
    LoopbackRequest request;
    request.method = req.method;
    request.path = req.path;
    request.body = req.body;
    for (const auto& [name, value] : req.headers) {
      request.headers.emplace_back(name, value);
    }
    std::string query;
    for (const auto& [name, value] : req.params) {
      absl::StrAppend(&query, query.empty() ? "" : "&", name, "=", value);
    }
    request.query = query;
    LoopbackResponse response = handler(request);
    res.status = response.status;
    std::string content_type = "text/plain";
    for (const auto& [name, value] : response.headers) {
      if (name == "Content-Type") {
        content_type = value;
      } else {
        res.set_header(name, value);
      }
    }
    res.set_content(response.body, content_type);
  };
  for (const char* pattern : {".*"}) {
    server.Get(pattern, dispatch);
    server.Post(pattern, dispatch);
    server.Put(pattern, dispatch);
    server.Delete(pattern, dispatch);
  }
  self->port_ = server.bind_to_any_port("127.0.0.1");
  if (self->port_ <= 0) return absl::InternalError("cannot bind 127.0.0.1");
  self->thread_ =
      std::thread([raw] { raw->impl_->server->listen_after_bind(); });
  while (!server.is_running()) absl::SleepFor(absl::Milliseconds(1));
  return self;
}

LoopbackHttpServer::~LoopbackHttpServer() {
  if (impl_ && impl_->server) impl_->server->stop();
  if (thread_.joinable()) thread_.join();
}

std::string LoopbackHttpServer::Url(const std::string& path) const {
  return absl::StrCat(tls_ ? "https" : "http", "://127.0.0.1:", port_, path);
}

int UnusedLoopbackPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

}  // namespace coldstart
