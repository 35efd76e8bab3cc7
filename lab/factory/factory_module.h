// The lab's Talos Image Factory (facts/talos.md §6, facts/talos-on-proxmox.md
// §3), HTTPS with the lab CA (lab/tls/lab_tls.h). README.md says what is
// simulated and what is not.
//
// Listens on the spec's image.factory_url (https://127.0.10.2:8443), or
// module option "address" HOST:PORT; port 0 under any_port.
//   POST /schematics           YAML/JSON body -> 201 {"id","schematic"};
//                              400 for unparsable input / unknown fields
//   GET  /schematics/{id}      200 application/yaml canonical body; 404
//                              "schematic not found"
//   GET|HEAD /image/{id}/{ver}/nocloud-amd64.qcow2
//                              the image (lab/factory/schematic.h); 404 for
//                              unknown schematics, versions or files
//   GET  /image/.../<file>.sha256  402 (Enterprise-only, as upstream)
#ifndef COLDSTART_LAB_FACTORY_FACTORY_MODULE_H_
#define COLDSTART_LAB_FACTORY_FACTORY_MODULE_H_

#include <map>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "lab/module.h"

namespace coldstart::lab {

class TlsModuleServer;

inline constexpr char kFactoryDefaultAddress[] = "127.0.10.2:8443";

class FactoryModule : public Module {
 public:
  FactoryModule();
  ~FactoryModule() override;

  absl::Status Start(ModuleContext& context) override;
  std::map<std::string, std::string> Listeners() const override;
  void Stop() override;

 private:
  std::unique_ptr<TlsModuleServer> server_;
  absl::Mutex mu_;
  // id -> canonical YAML of every schematic posted.
  std::map<std::string, std::string> schematics_ ABSL_GUARDED_BY(mu_);
};

}  // namespace coldstart::lab

#endif  // COLDSTART_LAB_FACTORY_FACTORY_MODULE_H_
