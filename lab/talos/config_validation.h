// The machine-config validation of the Talos simulator: what Talos 1.9.1
// rejects at ApplyConfiguration (facts/talos.md §3), with its error text
// shape ("N errors occurred:\n\t* ...").
//
// Multi-document YAML: exactly one v1alpha1 document (`version: v1alpha1`)
// plus optional documents with apiVersion/kind (ExtensionServiceConfig
// named, with KEY=VALUE environment entries).
#ifndef COLDSTART_LAB_TALOS_CONFIG_VALIDATION_H_
#define COLDSTART_LAB_TALOS_CONFIG_VALIDATION_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace coldstart::lab {

// What the simulator needs from a valid config. PEM texts (decoded).
struct TalosMachineConfig {
  bool control_plane = false;
  std::string hostname;
  std::vector<std::string> addresses;  // CIDRs
  std::vector<std::string> cert_sans;
  std::string vip;
  std::string endpoint;  // cluster.controlPlane.endpoint
  std::string cluster_name;
  std::string os_ca_cert_pem;
  std::string os_ca_key_pem;  // empty on workers
  std::string kubernetes_ca_cert_pem;
  std::string kubernetes_ca_key_pem;
  std::string etcd_ca_cert_pem;
  std::string etcd_ca_key_pem;
  // ExtensionServiceConfig name -> environment (KEY -> VALUE).
  std::map<std::string, std::map<std::string, std::string>> extension_env;
};

// Parses and validates `yaml` as Talos 1.9.1 does. InvalidArgument with the
// validation messages (Talos's wording where known) on any problem.
absl::StatusOr<TalosMachineConfig> ValidateMachineConfig(
    absl::string_view yaml);

}  // namespace coldstart::lab

#endif  // COLDSTART_LAB_TALOS_CONFIG_VALIDATION_H_
