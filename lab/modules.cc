#include "lab/modules.h"

#include "lab/echo/echo_module.h"
#include "lab/factory/factory_module.h"
#include "lab/headscale/headscale_module.h"
#include "lab/kube/kube_module.h"
#include "lab/pve/pve_module.h"
#include "lab/talos/talos_module.h"

namespace coldstart::lab {

const std::vector<ModuleRegistration>& RegisteredModules() {
  static const auto* const kModules = new std::vector<ModuleRegistration>{
      {"echo", "example module: GET /echo, POST /things (async task)",
       [] { return std::make_unique<EchoModule>(); }},
      {"factory",
       "Talos Image Factory: POST /schematics, GET /image/{id}/{ver}/"
       "nocloud-amd64.qcow2 (HTTPS, lab CA)",
       [] { return std::make_unique<FactoryModule>(); }},
      {"pve",
       "Proxmox VE API: tokens, ACLs, VMs, tasks, locks, download-url, guest "
       "agent (HTTPS, lab CA; admin token in <workdir>/pve-admin-token)",
       [] { return std::make_unique<PveModule>(); }},
      {"kube",
       "Kubernetes API on the API VIP once etcd is up (HTTPS, client certs "
       "from the cluster CA; kubeconfig in <workdir>/kube/admin.kubeconfig); "
       "nodes Ready after the Cilium DaemonSet; kube.scenario=FILE plays "
       "layer 2",
       [] { return std::make_unique<KubeModule>(); }},
      {"talos",
       "Talos machine API per node (gRPC+TLS on <node ip>:50000): maintenance "
       "mode, 1.9.1 config validation, configured mTLS, Bootstrap, "
       "Kubeconfig, EtcdMemberList, ServiceList (opt talos.boot=all)",
       [] { return std::make_unique<TalosModule>(); }},
      {"headscale",
       "Headscale REST API: users, pre-auth keys, nodes, route approval "
       "(HTTPS, lab CA; API key in <workdir>/headscale-api-key; opt "
       "headscale.version)",
       [] { return std::make_unique<HeadscaleModule>(); }},
      // Next: route53 (its issue).
  };
  return *kModules;
}

}  // namespace coldstart::lab
