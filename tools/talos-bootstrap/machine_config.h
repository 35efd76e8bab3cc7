// Talos machine configs per node (facts/talos.md §3, talos-on-proxmox.md §5,
// headscale.md §5): a v1alpha1 document for the node's role, followed by the
// Tailscale extension's ExtensionServiceConfig document.
//
// Contents: static address (the same node IP/prefix the cloud-init drive
// carries), default route, nameservers, NTP, hostname, install disk +
// installer image of the schematic, the API VIP on control planes only,
// endpoint https://<API VIP>:<port>, cert SANs (bootstrap IP, VIP, spec
// extras), KubePrism on 7445, CNI none, kube-proxy disabled, node labels.
// Workers carry the OS and Kubernetes CA certificates without keys and none
// of the control-plane-only secrets. No inline manifests: Cilium is applied
// by server-side apply, and the sealed-secrets key is never in a config.
//
// Output is deterministic for equal inputs (map keys sorted), so a re-run
// renders byte-identical configs.
#ifndef COLDSTART_TOOLS_TALOS_BOOTSTRAP_MACHINE_CONFIG_H_
#define COLDSTART_TOOLS_TALOS_BOOTSTRAP_MACHINE_CONFIG_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "lib/secrets/secret.h"
#include "proto/coldstart/v1/cluster.pb.h"
#include "tools/talos-bootstrap/secrets_bundle.h"

namespace coldstart {

// What stands in for the Headscale pre-auth key in the hashed form.
inline constexpr absl::string_view kPreauthKeyPlaceholder = "[preauth-key]";

struct MachineConfig {
  // The YAML to apply (holds keys and tokens).
  Secret yaml;
  // Lower-case hex SHA-256 of the YAML with the pre-auth key replaced by
  // kPreauthKeyPlaceholder: stable across key rotation, safe to print.
  std::string sha256;
};

// The installer image of `schematic_id` for the spec's Talos version:
// "<factory host>/installer/<id>:<v>" before v1.10,
// "<factory host>/<platform>-installer/<id>:<v>" from v1.10 on.
std::string InstallerImage(const coldstart::v1::ClusterSpec& spec,
                           absl::string_view schematic_id);

// Renders the config of `node`. `preauth_key` may be empty (no TS_AUTHKEY
// line). InvalidArgument when the spec lacks what the config needs (subnet,
// gateway, VIP, role).
absl::StatusOr<MachineConfig> RenderMachineConfig(
    const coldstart::v1::ClusterSpec& spec, const coldstart::v1::Node& node,
    const SecretsBundle& bundle, absl::string_view schematic_id,
    const Secret& preauth_key);

}  // namespace coldstart

#endif  // COLDSTART_TOOLS_TALOS_BOOTSTRAP_MACHINE_CONFIG_H_
