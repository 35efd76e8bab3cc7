// The lab's Proxmox VE module: lab/pve/pve_api.h on HTTPS (lab CA, see
// lab/tls/lab_tls.h) with the lab frame's faults and request log.
//
// Listens on the spec's proxmox.endpoint (https://127.0.10.1:8006), or module
// option "address" HOST:PORT; port 0 under any_port. Paths under /api2/json.
// Options: "version" (default 8.4.1).
//
// Files in the work directory:
//   pve-admin-token   (0600) "root@pam!labd=<uuid>": the bootstrap admin
//                     token (privsep 0); never printed, never in argv.
//   lab-ca.pem        the lab CA (trust it, or pin pve-cert.sha256)
//   pve-cert.pem, pve-cert.sha256   the server certificate and its SHA-256
// Nodes: the spec's nodes' proxmox_node values (default "pve"). Storages:
// proxmox.image_storage (dir: iso, vztmpl, import, backup), vm_storage and
// every node's storage (zfspool: images, rootdir), plus "local" (dir) and
// "local-lvm" (lvmthin) when not named otherwise.
#ifndef COLDSTART_LAB_PVE_PVE_MODULE_H_
#define COLDSTART_LAB_PVE_PVE_MODULE_H_

#include <map>
#include <memory>
#include <string>

#include "lab/module.h"

namespace coldstart::lab {

class PveApi;
class TlsModuleServer;

inline constexpr char kPveDefaultAddress[] = "127.0.10.1:8006";
inline constexpr char kPveAdminTokenFile[] = "pve-admin-token";

class PveModule : public Module {
 public:
  PveModule();
  ~PveModule() override;

  absl::Status Start(ModuleContext& context) override;
  std::map<std::string, std::string> Listeners() const override;
  void Stop() override;

  // The simulator behind the API (tests inspect and seed it). Valid after
  // Start.
  PveApi& api() { return *api_; }

 private:
  std::unique_ptr<PveApi> api_;
  std::unique_ptr<TlsModuleServer> server_;
};

}  // namespace coldstart::lab

#endif  // COLDSTART_LAB_PVE_PVE_MODULE_H_
