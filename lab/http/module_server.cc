#include "lab/http/module_server.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdlib>
#include <memory>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "nlohmann/json.hpp"
#include "re2/re2.h"

namespace coldstart::lab {
namespace {

// The decision for the request this thread is serving: httplib runs
// pre-routing, the handler and the logger of one request on one thread.
thread_local FaultDecision current_fault;
// Whether this request is already in the request log.
thread_local bool current_logged = false;

bool SameEndpoint(const sockaddr_in& a, const std::string& addr, int port) {
  char text[INET_ADDRSTRLEN];
  if (inet_ntop(AF_INET, &a.sin_addr, text, sizeof(text)) == nullptr) {
    return false;
  }
  return addr == text && ntohs(a.sin_port) == port;
}

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

bool ResetConnection(const httplib::Request& req) {
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return false;
  bool done = false;
  while (dirent* entry = readdir(dir)) {
    int fd = 0;
    if (!absl::SimpleAtoi(entry->d_name, &fd) || fd == dirfd(dir)) continue;
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode)) continue;
    sockaddr_in local{}, peer{};
    socklen_t local_len = sizeof(local), peer_len = sizeof(peer);
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &local_len) != 0 ||
        getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &peer_len) != 0 ||
        local.sin_family != AF_INET || peer.sin_family != AF_INET) {
      continue;
    }
    if (!SameEndpoint(local, req.local_addr, req.local_port) ||
        !SameEndpoint(peer, req.remote_addr, req.remote_port)) {
      continue;
    }
    // SO_LINGER 0 + disconnect (connect to AF_UNSPEC) makes Linux abort the
    // connection with a RST; the descriptor stays valid for the server.
    linger l{1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
    sockaddr unspec{};
    unspec.sa_family = AF_UNSPEC;
    connect(fd, &unspec, sizeof(unspec));
    done = true;
    break;
  }
  closedir(dir);
  return done;
}

namespace {

std::unique_ptr<httplib::Server> NewServer(const ModuleServerOptions& options) {
  if (options.tls_cert_path.empty()) return std::make_unique<httplib::Server>();
  return std::make_unique<httplib::SSLServer>(options.tls_cert_path.c_str(),
                                              options.tls_key_path.c_str());
}

}  // namespace

ModuleServer::ModuleServer(ModuleServerOptions options)
    : options_(std::move(options)), server_(NewServer(options_)) {
  // httplib's default adds SO_REUSEPORT, which would let a second lab share
  // a port silently; a taken address must fail to bind.
  server_->set_socket_options([](int sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  server_->set_pre_routing_handler(
      [this](const httplib::Request& req, httplib::Response& res) {
        return BeforeRouting(req, res);
      });
  server_->set_logger(
      [this](const httplib::Request& req, const httplib::Response& res) {
        AfterResponse(req, res);
      });
}

ModuleServer::~ModuleServer() { Stop(); }

httplib::Server::Handler ModuleServer::Wrap(Handler handler) {
  return [this, handler = std::move(handler)](const httplib::Request& req,
                                              httplib::Response& res) {
    handler(req, res, current_fault);
    if (current_fault.fired() && current_fault.rule->has_drop_reply()) {
      // The call is applied; its answer is lost: RST instead of the
      // response (httplib's write then fails on the reset socket).
      Log(req, 0);
      ResetConnection(req);
      return;
    }
    // Logged before the response is written, so a client that got its
    // answer finds the call in the log.
    if (res.status == -1) res.status = 200;
    Log(req, res.status);
  };
}

void ModuleServer::Get(const std::string& pattern, Handler handler) {
  server_->Get(pattern, Wrap(std::move(handler)));
}
void ModuleServer::Post(const std::string& pattern, Handler handler) {
  server_->Post(pattern, Wrap(std::move(handler)));
}
void ModuleServer::Put(const std::string& pattern, Handler handler) {
  server_->Put(pattern, Wrap(std::move(handler)));
}
void ModuleServer::Delete(const std::string& pattern, Handler handler) {
  server_->Delete(pattern, Wrap(std::move(handler)));
}

httplib::Server::HandlerResponse ModuleServer::BeforeRouting(
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
      // task_error, grpc_status: the handler applies them; drop_reply:
      // Wrap resets the connection after the handler.
      return httplib::Server::HandlerResponse::Unhandled;
  }
}

void ModuleServer::Log(const httplib::Request& req, int status) {
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

void ModuleServer::AfterResponse(const httplib::Request& req,
                                 const httplib::Response& res) {
  // Requests rejected before routing (malformed), or a handler exception.
  Log(req, res.status);
  current_fault = FaultDecision{};
  current_logged = false;
}

absl::Status ModuleServer::Start() {
  // Registered last, so they match only what no module route does.
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
  server_->Patch(".*", Wrap(unrouted));
  server_->Options(".*", Wrap(unrouted));
  if (!server_->is_valid()) {
    return absl::UnavailableError(absl::StrCat(
        "lab module ", options_.module, ": cannot load the TLS certificate ",
        options_.tls_cert_path, " or key ", options_.tls_key_path));
  }
  // A client that went away (or a reset fault) must not kill the lab.
  std::signal(SIGPIPE, SIG_IGN);
  if (options_.port == 0) {
    port_ = server_->bind_to_any_port(options_.host);
    if (port_ < 0) port_ = 0;
  } else {
    port_ =
        server_->bind_to_port(options_.host, options_.port) ? options_.port : 0;
  }
  if (port_ <= 0) {
    return absl::UnavailableError(absl::StrCat(
        "lab module ", options_.module, ": cannot bind ", options_.host, ":",
        options_.port, " (in use, or not a local address)"));
  }
  auto listen_returned = std::make_shared<std::atomic<bool>>(false);
  thread_ = std::thread([this, listen_returned] {
    server_->listen_after_bind();
    *listen_returned = true;
  });
  while (!server_->is_running() && !*listen_returned) {
    absl::SleepFor(absl::Milliseconds(1));
  }
  if (!server_->is_running()) {
    thread_.join();
    return absl::UnavailableError(absl::StrCat(
        "lab module ", options_.module, ": cannot listen on ", address()));
  }
  return absl::OkStatus();
}

void ModuleServer::Stop() {
  if (!thread_.joinable()) return;
  server_->stop();
  thread_.join();
}

std::string ModuleServer::address() const {
  return absl::StrCat(options_.host, ":", port_);
}

}  // namespace coldstart::lab
