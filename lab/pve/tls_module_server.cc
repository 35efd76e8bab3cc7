#include "lab/pve/tls_module_server.h"

#include <sys/socket.h>

#include <atomic>
#include <csignal>
#include <memory>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "nlohmann/json.hpp"
#include "re2/re2.h"

namespace coldstart::lab {
namespace {

thread_local FaultDecision current_fault;
thread_local bool current_logged = false;

int LockVmid(const ProxmoxLockTimeout& lock, const httplib::Request& req) {
  if (lock.vmid() != 0) return static_cast<int>(lock.vmid());
  int vmid = 0;
  std::string digits;
  if (RE2::PartialMatch(req.path, R"(/qemu/(\d+))", &digits) &&
      absl::SimpleAtoi(digits, &vmid)) {
    return vmid;
  }
  if (absl::SimpleAtoi(req.get_param_value("vmid"), &vmid)) return vmid;
  return 100;
}

}  // namespace

TlsModuleServer::TlsModuleServer(ModuleServerOptions options,
                                 const std::string& cert_path,
                                 const std::string& key_path)
    : options_(std::move(options)),
      server_(cert_path.c_str(), key_path.c_str()) {
  server_.set_socket_options([](int sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  server_.set_pre_routing_handler(
      [this](const httplib::Request& req, httplib::Response& res) {
        return BeforeRouting(req, res);
      });
  server_.set_logger(
      [this](const httplib::Request& req, const httplib::Response& res) {
        Log(req, res.status);
        current_fault = FaultDecision{};
        current_logged = false;
      });
}

TlsModuleServer::~TlsModuleServer() { Stop(); }

httplib::Server::Handler TlsModuleServer::Wrap(Handler handler) {
  return [this, handler = std::move(handler)](const httplib::Request& req,
                                              httplib::Response& res) {
    handler(req, res, current_fault);
    if (res.status == -1) res.status = 200;
    Log(req, res.status);
  };
}

void TlsModuleServer::Get(const std::string& pattern, Handler handler) {
  server_.Get(pattern, Wrap(std::move(handler)));
}
void TlsModuleServer::Post(const std::string& pattern, Handler handler) {
  server_.Post(pattern, Wrap(std::move(handler)));
}
void TlsModuleServer::Put(const std::string& pattern, Handler handler) {
  server_.Put(pattern, Wrap(std::move(handler)));
}
void TlsModuleServer::Delete(const std::string& pattern, Handler handler) {
  server_.Delete(pattern, Wrap(std::move(handler)));
}

httplib::Server::HandlerResponse TlsModuleServer::BeforeRouting(
    const httplib::Request& req, httplib::Response& res) {
  current_fault = FaultDecision{};
  current_logged = false;
  if (options_.faults == nullptr) {
    return httplib::Server::HandlerResponse::Unhandled;
  }
  current_fault =
      options_.faults->Decide(options_.module, req.method, req.path);
  if (!current_fault.fired()) {
    return httplib::Server::HandlerResponse::Unhandled;
  }
  const FaultRule& rule = *current_fault.rule;
  switch (rule.kind_case()) {
    case FaultRule::kHttpStatus: {
      const HttpStatus& s = rule.http_status();
      res.status = s.code();
      res.set_content(s.body(), s.content_type().empty()
                                    ? "application/json"
                                    : s.content_type().c_str());
      Log(req, res.status);
      return httplib::Server::HandlerResponse::Handled;
    }
    case FaultRule::kDelay:
      absl::SleepFor(absl::Milliseconds(rule.delay().ms()));
      return httplib::Server::HandlerResponse::Unhandled;
    case FaultRule::kConnectionReset:
      Log(req, 0);
      ResetConnection(req);
      res.status = 500;
      return httplib::Server::HandlerResponse::Handled;
    case FaultRule::kProxmoxLockTimeout:
      if (rule.proxmox_lock_timeout().shape() ==
          ProxmoxLockTimeout::SHAPE_HTTP_500) {
        std::string text =
            ProxmoxLockTimeoutText(LockVmid(rule.proxmox_lock_timeout(), req));
        nlohmann::json body = {{"data", nullptr}, {"message", text + "\n"}};
        res.status = 500;
        res.set_content(body.dump(), "application/json;charset=UTF-8");
        Log(req, res.status);
        return httplib::Server::HandlerResponse::Handled;
      }
      return httplib::Server::HandlerResponse::Unhandled;
    default:
      return httplib::Server::HandlerResponse::Unhandled;
  }
}

void TlsModuleServer::Log(const httplib::Request& req, int status) {
  if (current_logged) return;
  current_logged = true;
  if (options_.requests == nullptr) return;
  RequestRecord record;
  record.module = options_.module;
  record.method = req.method;
  record.path = req.path;
  record.status = status;
  record.time = absl::Now();
  if (current_fault.fired()) record.fault = current_fault.rule->name();
  options_.requests->Append(record);
}

absl::Status TlsModuleServer::Start() {
  if (!server_.is_valid()) {
    return absl::UnavailableError(absl::StrCat(
        "lab module ", options_.module, ": cannot load TLS certificate/key"));
  }
  Handler unrouted = [status = options_.unrouted_status](
                         const httplib::Request& req, httplib::Response& res,
                         const FaultDecision&) {
    res.status = status;
    res.set_content(absl::StrCat("Method '", req.method, " ", req.path,
                                 "' not implemented"),
                    "text/plain");
  };
  Get(".*", unrouted);
  Post(".*", unrouted);
  Put(".*", unrouted);
  Delete(".*", unrouted);
  std::signal(SIGPIPE, SIG_IGN);
  if (options_.port == 0) {
    port_ = server_.bind_to_any_port(options_.host);
    if (port_ < 0) port_ = 0;
  } else {
    port_ =
        server_.bind_to_port(options_.host, options_.port) ? options_.port : 0;
  }
  if (port_ <= 0) {
    return absl::UnavailableError(absl::StrCat(
        "lab module ", options_.module, ": cannot bind ", options_.host, ":",
        options_.port, " (in use, or not a local address)"));
  }
  auto listen_returned = std::make_shared<std::atomic<bool>>(false);
  thread_ = std::thread([this, listen_returned] {
    server_.listen_after_bind();
    *listen_returned = true;
  });
  while (!server_.is_running() && !*listen_returned) {
    absl::SleepFor(absl::Milliseconds(1));
  }
  if (!server_.is_running()) {
    thread_.join();
    return absl::UnavailableError(absl::StrCat(
        "lab module ", options_.module, ": cannot listen on ", address()));
  }
  return absl::OkStatus();
}

void TlsModuleServer::Stop() {
  if (!thread_.joinable()) return;
  server_.stop();
  thread_.join();
}

std::string TlsModuleServer::address() const {
  return absl::StrCat(options_.host, ":", port_);
}

}  // namespace coldstart::lab
