// The lab's Headscale simulator (facts/headscale.md): the REST API
// (/api/v1/...) of the release the spec names (spec.mesh.api_version, or
// --module-opt headscale.version=0.23 ... 0.29; default 0.26): users,
// pre-auth keys (create / list / expire; born expired when created without
// expiration), nodes (list, get, delete) and route approval (0.23:
// /api/v1/routes + enable; 0.26+: /api/v1/node/{id}/approve_routes), Bearer
// auth (401 "Unauthorized"), camelCase JSON, string ids, RFC 3339 times,
// gRPC-status error bodies. The routes are in headscale_api.h.
//
// HTTPS with the lab CA on spec.mesh.headscale_url's address. The API key
// is generated at start and written to <workdir>/headscale-api-key (0600).
// InvalidArgument from Start for an unsupported version.
//
// Node enrolment (what tailscaled does over the control protocol) is the
// lab-only POST /_lab/tailscale/login {"authkey","hostname","routes"}: the
// key must exist, be unexpired and (single-use) unused; the node is created
// (or, same hostname, logged in again) with its advertised routes, and the
// key marked used.
#ifndef COLDSTART_LAB_HEADSCALE_HEADSCALE_MODULE_H_
#define COLDSTART_LAB_HEADSCALE_HEADSCALE_MODULE_H_

#include <map>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "lab/module.h"

namespace coldstart::lab {

class HeadscaleState;
class TlsModuleServer;

class HeadscaleModule : public Module {
 public:
  HeadscaleModule();
  ~HeadscaleModule() override;
  absl::Status Start(ModuleContext& context) override;
  std::map<std::string, std::string> Listeners() const override;
  void Stop() override;

 private:
  std::unique_ptr<HeadscaleState> state_;
  std::unique_ptr<TlsModuleServer> server_;
};

}  // namespace coldstart::lab

#endif  // COLDSTART_LAB_HEADSCALE_HEADSCALE_MODULE_H_
