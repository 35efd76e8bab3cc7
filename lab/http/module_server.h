// The HTTP(S) frame every HTTP simulator module runs on (cpp-httplib): binds
// one loopback address:port, consults the fault injector before routing, and
// writes the module's request log after every response.
//
//   ModuleServer server({.module = "echo", .host = "127.0.10.250", .port = 0,
//                        .faults = &faults, .requests = &log});
//   server.Get("/echo", [](const httplib::Request& req, httplib::Response& res,
//                          const FaultDecision& fault) { ... });
//   RETURN_IF_ERROR(server.Start());   // listening when this returns
//   ... server.address() ...           // "127.0.10.250:41234"
//
// Fault kinds applied by the frame before the handler runs (the handler is
// then skipped): http_status, connection_reset (TCP RST, no response),
// proxmox_lock_timeout in SHAPE_HTTP_500. delay sleeps, then routes normally.
// drop_reply runs the handler, then resets the connection (TCP RST) instead
// of sending its response: the effect happened, the client sees a
// connection error. task_error, proxmox_lock_timeout SHAPE_TASK and
// grpc_status are passed to the handler in `fault` for it to apply.
//
// The request-log record of a call is written before its response is sent
// (after it only for requests httplib rejects before routing, e.g. a
// malformed request line). Calls that got no response (connection_reset,
// drop_reply) are logged with status 0.
//
// Limitation (httplib 0.11): the reason phrase is always the standard one
// for the status; error text goes into the body.
#ifndef COLDSTART_LAB_HTTP_MODULE_SERVER_H_
#define COLDSTART_LAB_HTTP_MODULE_SERVER_H_

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "httplib.h"
#include "lab/faults/fault_injector.h"
#include "lab/http/request_log.h"

namespace coldstart::lab {

struct ModuleServerOptions {
  // Names the module in fault endpoints and the request log.
  std::string module;
  // Loopback address to bind, e.g. "127.0.10.1".
  std::string host;
  // 0: any free port (see port() after Start).
  int port = 0;
  // Optional; not owned.
  FaultInjector* faults = nullptr;
  // Optional; not owned.
  RequestLog* requests = nullptr;
  // Status of calls no route matches (Proxmox answers 501).
  int unrouted_status = 404;
  // HTTPS when set: PEM files of the certificate chain and its key.
  std::string tls_cert_path;
  std::string tls_key_path;
};

class ModuleServer {
 public:
  using Handler = std::function<void(const httplib::Request&,
                                     httplib::Response&, const FaultDecision&)>;

  explicit ModuleServer(ModuleServerOptions options);
  ~ModuleServer();
  ModuleServer(const ModuleServer&) = delete;
  ModuleServer& operator=(const ModuleServer&) = delete;

  // Routes (httplib regex patterns, matched against the whole path). Register
  // before Start.
  void Get(const std::string& pattern, Handler handler);
  void Post(const std::string& pattern, Handler handler);
  void Put(const std::string& pattern, Handler handler);
  void Delete(const std::string& pattern, Handler handler);

  // Binds and starts serving; returns once the server accepts connections.
  // Sets SIGPIPE to ignored for the process (a vanished client must not kill
  // the lab).
  // Unavailable if the address cannot be bound (in use, not local) or the
  // TLS certificate or key cannot be loaded.
  absl::Status Start();
  // Stops accepting, waits for the serving thread; idempotent.
  void Stop();

  const std::string& module() const { return options_.module; }
  int port() const { return port_; }
  // "host:port".
  std::string address() const;

 private:
  httplib::Server::Handler Wrap(Handler handler);
  httplib::Server::HandlerResponse BeforeRouting(const httplib::Request& req,
                                                 httplib::Response& res);
  // Appends the current call to the request log, once per call.
  void Log(const httplib::Request& req, int status);
  void AfterResponse(const httplib::Request& req, const httplib::Response& res);

  ModuleServerOptions options_;
  std::unique_ptr<httplib::Server> server_;
  int port_ = 0;
  std::thread thread_;
};

// Resets the TCP connection the request came in on (RST), without closing
// the descriptor (the server closes it as usual). False if it was not found.
bool ResetConnection(const httplib::Request& req);

}  // namespace coldstart::lab

#endif  // COLDSTART_LAB_HTTP_MODULE_SERVER_H_
