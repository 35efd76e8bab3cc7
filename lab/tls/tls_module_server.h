// ModuleServer (lab/http/module_server.h) serving HTTPS with the PEM
// certificate chain and key in these files: the same frame, handlers and
// fault semantics. Kept as a name for the modules that use it; new code can
// set ModuleServerOptions::tls_cert_path/tls_key_path directly.
#ifndef COLDSTART_LAB_TLS_TLS_MODULE_SERVER_H_
#define COLDSTART_LAB_TLS_TLS_MODULE_SERVER_H_

#include <string>
#include <utility>

#include "lab/http/module_server.h"

namespace coldstart::lab {

class TlsModuleServer : public ModuleServer {
 public:
  TlsModuleServer(ModuleServerOptions options, const std::string& cert_path,
                  const std::string& key_path)
      : ModuleServer(WithTls(std::move(options), cert_path, key_path)) {}

 private:
  static ModuleServerOptions WithTls(ModuleServerOptions options,
                                     const std::string& cert_path,
                                     const std::string& key_path) {
    options.tls_cert_path = cert_path;
    options.tls_key_path = key_path;
    return options;
  }
};

}  // namespace coldstart::lab

#endif  // COLDSTART_LAB_TLS_TLS_MODULE_SERVER_H_
