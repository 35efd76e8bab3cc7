// Serves an ApiServer over HTTPS on one loopback address with client
// certificate authentication: only clients presenting a certificate signed
// by the given CA complete the TLS handshake (as a real apiserver with
// --client-ca-file and no other authenticator). Faults (lab/faults) are
// applied before routing (http_status, delay, connection_reset) and every call
// goes to the request log.
//
// This header exposes no cpp-httplib/OpenSSL type, so code that also uses
// lib/crypto (BoringSSL) may include it.
#ifndef COLDSTART_LAB_KUBE_KUBE_HTTPS_H_
#define COLDSTART_LAB_KUBE_KUBE_HTTPS_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "lab/faults/fault_injector.h"
#include "lab/http/request_log.h"
#include "lab/kube/api_server.h"

namespace coldstart::lab {

struct KubeHttpsOptions {
  std::string host = "127.0.0.1";
  // 0: any free port.
  int port = 0;
  // PEM. The key is lab-internal material; it is written 0600 under
  // `tls_dir` because cpp-httplib loads files.
  std::string server_cert_pem;
  std::string server_key_pem;
  // CA that client certificates must chain to.
  std::string client_ca_pem;
  // Existing directory for the PEM files.
  std::string tls_dir;
  // Optional, not owned.
  FaultInjector* faults = nullptr;
  RequestLog* requests = nullptr;
  std::string module = "kube";
};

class KubeHttpsServer {
 public:
  // Listening when this returns. Unavailable if the address cannot be bound;
  // InvalidArgument if the certificate/key/CA do not load.
  static absl::StatusOr<std::unique_ptr<KubeHttpsServer>> Start(
      ApiServer& api, KubeHttpsOptions options);
  ~KubeHttpsServer();  // Stop()
  KubeHttpsServer(const KubeHttpsServer&) = delete;
  KubeHttpsServer& operator=(const KubeHttpsServer&) = delete;

  // Stops accepting and joins the serving thread; idempotent.
  void Stop();
  int port() const { return port_; }
  // "host:port"
  std::string address() const;
  // "https://host:port"
  std::string url() const { return "https://" + address(); }

 private:
  struct Impl;
  KubeHttpsServer() = default;
  std::unique_ptr<Impl> impl_;
  int port_ = 0;
  std::string host_;
};

}  // namespace coldstart::lab

#endif  // COLDSTART_LAB_KUBE_KUBE_HTTPS_H_
