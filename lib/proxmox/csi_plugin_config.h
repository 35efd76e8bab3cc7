// The Proxmox CSI plugin's config.yaml, built in one place from the spec and
// the CSI token's stored secret.
//
// The format is the plugin's (github.com/sergelogvinov/proxmox-csi-plugin,
// docs/config.md; read by pkg/config/config.go with gopkg.in/yaml.v3): a list
// `clusters` whose entries have `url` (the API base URL, ".../api2/json"),
// `insecure` (true skips TLS certificate verification), `token_id`
// ("user@realm!tokenid"), `token_secret` and `region` (also the
// topology.kubernetes.io/region label). The plugin has no field for a CA
// certificate or a pin. We write one cluster:
//
//   clusters:
//   - url: "https://pve.example.com:8006/api2/json"
//     insecure: false
//     token_id: "kubernetes-csi@pve!csi"
//     token_secret: "00000000-0000-0000-0000-000000000000"
//     region: home
//
// Strings are written as go-yaml reads them back (lib/yaml/yaml_scalar.h).
#ifndef COLDSTART_LIB_PROXMOX_CSI_PLUGIN_CONFIG_H_
#define COLDSTART_LIB_PROXMOX_CSI_PLUGIN_CONFIG_H_

#include <string>

#include "absl/status/statusor.h"
#include "lib/proxmox/api_token.h"
#include "lib/secrets/secret.h"
#include "proto/coldstart/v1/cluster.pb.h"

namespace coldstart {

// The token the plugin uses, as the spec names it.
struct CsiToken {
  ProxmoxTokenId id;
  // Where it is in the spec, for messages: "spec.proxmox.users[1].tokens[0]".
  std::string spec_path;
  // The keystore item holding its secret (token.secret.key).
  std::string keystore_key;
};

// The CSI token of `proxmox`: among users with a token that is not the
// admin or provisioning credential, the one user an ACL grants a role whose
// name contains "csi" (any case), else the one user whose userid contains
// "csi"; of that user, the token the ACL names, else its first token.
// InvalidArgument when no user or more than one qualifies, or the token names
// no keystore item.
absl::StatusOr<CsiToken> FindCsiToken(const v1::ProxmoxSpec& proxmox);

struct CsiPluginConfig {
  // config.yaml (it holds the token secret).
  Secret config_yaml;
  // Whether it says `insecure: true`.
  bool insecure = false;
  // Non-empty when `insecure`: a warning for the user (what is skipped and
  // why), to be printed by the caller.
  std::string warning;
};

// config.yaml for `proxmox` (spec.proxmox) and `stored_token`, the CSI
// token's keystore value ("user@realm!tokenid=secret" or the bare secret,
// lib/proxmox/api_token.h).
//
// TLS: a Proxmox with a publicly trusted certificate (no ca_file, no
// cert_sha256) gets `insecure: false`. With a private CA or a pin the plugin
// cannot verify Proxmox, so this is FailedPrecondition (saying what to do)
// unless `csi_insecure` is set; csi_insecure gives `insecure: true` and a
// warning.
//
// Errors: as FindCsiToken; InvalidArgument when spec.proxmox.endpoint or
// region is empty, or the stored token is unreadable, or its token id is not
// the CSI token's; FailedPrecondition as above. Messages never contain the
// secret.
absl::StatusOr<CsiPluginConfig> BuildCsiPluginConfig(
    const v1::ProxmoxSpec& proxmox, const Secret& stored_token);

}  // namespace coldstart

#endif  // COLDSTART_LIB_PROXMOX_CSI_PLUGIN_CONFIG_H_
