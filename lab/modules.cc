#include "lab/modules.h"

#include "lab/echo/echo_module.h"

namespace coldstart::lab {

const std::vector<ModuleRegistration>& RegisteredModules() {
  static const auto* const kModules = new std::vector<ModuleRegistration>{
      {"echo", "example module: GET /echo, POST /things (async task)",
       [] { return std::make_unique<EchoModule>(); }},
      // Next: factory, pve, talos, kube, route53, headscale (their issues).
  };
  return *kModules;
}

}  // namespace coldstart::lab
