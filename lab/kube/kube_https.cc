#include "lab/kube/kube_https.h"

#include <fcntl.h>
#include <unistd.h>

#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "httplib.h"
#include "lab/http/module_server.h"

#if defined(BORINGSSL_PREFIX)
#error "kube_https must not see BoringSSL headers (cpp-httplib uses OpenSSL)"
#endif

namespace coldstart::lab {
namespace {

// The drop_reply rule that fired for the request this server thread is
// handling (httplib runs a request's pre-routing and handler on one thread).
thread_local std::string dropped_reply_rule;

absl::Status WritePrivateFile(const std::string& path,
                              const std::string& content) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    return absl::PermissionDeniedError(absl::StrCat("cannot write ", path));
  }
  size_t done = 0;
  while (done < content.size()) {
    ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n <= 0) {
      ::close(fd);
      return absl::InternalError(absl::StrCat("short write to ", path));
    }
    done += static_cast<size_t>(n);
  }
  ::close(fd);
  return absl::OkStatus();
}

}  // namespace

struct KubeHttpsServer::Impl {
  std::unique_ptr<httplib::SSLServer> server;
  std::thread thread;
  KubeHttpsOptions options;
};

absl::StatusOr<std::unique_ptr<KubeHttpsServer>> KubeHttpsServer::Start(
    ApiServer& api, KubeHttpsOptions options) {
  std::string cert = absl::StrCat(options.tls_dir, "/apiserver.crt");
  std::string key = absl::StrCat(options.tls_dir, "/apiserver.key");
  std::string ca = absl::StrCat(options.tls_dir, "/client-ca.crt");
  for (const auto& [path, content] :
       {std::pair<const std::string&, const std::string&>{
            cert, options.server_cert_pem},
        {key, options.server_key_pem},
        {ca, options.client_ca_pem}}) {
    absl::Status s = WritePrivateFile(path, content);
    if (!s.ok()) return s;
  }
  std::unique_ptr<KubeHttpsServer> self(new KubeHttpsServer());
  self->impl_ = std::make_unique<Impl>();
  self->impl_->options = options;
  self->host_ = options.host;
  auto server = std::make_unique<httplib::SSLServer>(cert.c_str(), key.c_str(),
                                                     ca.c_str(), nullptr);
  if (!server->is_valid()) {
    return absl::InvalidArgumentError(
        "kube: the API server certificate, key or client CA does not load");
  }
  Impl* impl = self->impl_.get();
  server->set_pre_routing_handler(
      [impl](const httplib::Request& req, httplib::Response& res) {
        FaultInjector* faults = impl->options.faults;
        if (faults == nullptr)
          return httplib::Server::HandlerResponse::Unhandled;
        FaultDecision d =
            faults->Decide(impl->options.module, req.method, req.path);
        if (!d.fired()) return httplib::Server::HandlerResponse::Unhandled;
        const FaultRule& rule = *d.rule;
        auto log = [&](int status) {
          if (impl->options.requests == nullptr) return;
          impl->options.requests->Append({impl->options.module, req.method,
                                          req.path, status, absl::Now(),
                                          rule.name()});
        };
        switch (rule.kind_case()) {
          case FaultRule::kHttpStatus: {
            res.status = rule.http_status().code();
            std::string body = rule.http_status().body();
            if (body.empty()) {
              ApiResponse s =
                  StatusResponse(res.status, "InternalError",
                                 absl::StrCat("injected fault ", rule.name()));
              body = s.body;
            }
            res.set_content(body, "application/json");
            log(res.status);
            return httplib::Server::HandlerResponse::Handled;
          }
          case FaultRule::kDelay:
            absl::SleepFor(absl::Milliseconds(rule.delay().ms()));
            return httplib::Server::HandlerResponse::Unhandled;
          case FaultRule::kConnectionReset:
            log(0);
            ResetConnection(req);
            res.status = 500;
            return httplib::Server::HandlerResponse::Handled;
          case FaultRule::kDropReply:
            // Applied by dispatch: the call runs, then its answer is lost.
            dropped_reply_rule = rule.name();
            return httplib::Server::HandlerResponse::Unhandled;
          default:
            return httplib::Server::HandlerResponse::Unhandled;
        }
      });
  auto dispatch = [&api, impl](const httplib::Request& req,
                               httplib::Response& res) {
    ApiRequest request;
    request.method = req.method;
    request.path = req.path;
    for (const auto& [k, v] : req.params) request.query.emplace(k, v);
    request.accept = req.get_header_value("Accept");
    request.content_type = req.get_header_value("Content-Type");
    request.body = req.body;
    ApiResponse response = api.Handle(request);
    if (!dropped_reply_rule.empty()) {
      if (impl->options.requests != nullptr) {
        impl->options.requests->Append({impl->options.module, req.method,
                                        req.path, 0, absl::Now(),
                                        dropped_reply_rule});
      }
      dropped_reply_rule.clear();
      ResetConnection(req);
      return;
    }
    res.status = response.status;
    res.set_content(std::move(response.body), response.content_type.c_str());
    if (impl->options.requests != nullptr) {
      impl->options.requests->Append({impl->options.module, req.method,
                                      req.path, res.status, absl::Now(), ""});
    }
  };
  server->Get(".*", dispatch);
  server->Post(".*", dispatch);
  server->Put(".*", dispatch);
  server->Patch(".*", dispatch);
  server->Delete(".*", dispatch);
  server->set_keep_alive_max_count(1000);
  // Without it, Nagle + delayed ACK stall every response ~40 ms.
  server->set_tcp_nodelay(true);
  int port = options.port;
  if (port == 0) {
    port = server->bind_to_any_port(options.host.c_str());
  } else if (!server->bind_to_port(options.host.c_str(), port)) {
    port = -1;
  }
  if (port <= 0) {
    return absl::UnavailableError(
        absl::StrCat("kube: cannot bind ", options.host, ":", options.port));
  }
  self->port_ = port;
  httplib::SSLServer* raw = server.get();
  impl->server = std::move(server);
  impl->thread = std::thread([raw] { raw->listen_after_bind(); });
  while (!raw->is_running()) absl::SleepFor(absl::Milliseconds(1));
  return self;
}

KubeHttpsServer::~KubeHttpsServer() { Stop(); }

void KubeHttpsServer::Stop() {
  if (impl_ == nullptr || impl_->server == nullptr) return;
  impl_->server->stop();
  if (impl_->thread.joinable()) impl_->thread.join();
  impl_->server.reset();
}

std::string KubeHttpsServer::address() const {
  return absl::StrCat(host_, ":", port_);
}

}  // namespace coldstart::lab
