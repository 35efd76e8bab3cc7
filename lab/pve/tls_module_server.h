// ModuleServer's frame (lab/http/module_server.h: faults before routing,
// request log before the response, RST resets, no SO_REUSEPORT) over HTTPS.
// lab/http's ModuleServer serves plain HTTP only; the pve and factory modules
// need TLS with the lab CA. Same handler signature, same fault semantics.
// (Candidate to fold into lab/http as a `tls` option of ModuleServerOptions.)
#ifndef COLDSTART_LAB_PVE_TLS_MODULE_SERVER_H_
#define COLDSTART_LAB_PVE_TLS_MODULE_SERVER_H_

#include <memory>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "httplib.h"
#include "lab/http/module_server.h"

namespace coldstart::lab {

class TlsModuleServer {
 public:
  using Handler = ModuleServer::Handler;

  // Serves HTTPS with the PEM certificate chain and key in these files.
  TlsModuleServer(ModuleServerOptions options, const std::string& cert_path,
                  const std::string& key_path);
  ~TlsModuleServer();
  TlsModuleServer(const TlsModuleServer&) = delete;
  TlsModuleServer& operator=(const TlsModuleServer&) = delete;

  void Get(const std::string& pattern, Handler handler);
  void Post(const std::string& pattern, Handler handler);
  void Put(const std::string& pattern, Handler handler);
  void Delete(const std::string& pattern, Handler handler);

  // As ModuleServer::Start; also Unavailable when the certificate or key
  // cannot be loaded.
  absl::Status Start();
  void Stop();

  int port() const { return port_; }
  std::string address() const;

 private:
  httplib::Server::Handler Wrap(Handler handler);
  httplib::Server::HandlerResponse BeforeRouting(const httplib::Request& req,
                                                 httplib::Response& res);
  void Log(const httplib::Request& req, int status);

  ModuleServerOptions options_;
  httplib::SSLServer server_;
  int port_ = 0;
  std::thread thread_;
};

}  // namespace coldstart::lab

#endif  // COLDSTART_LAB_PVE_TLS_MODULE_SERVER_H_
