// Layer 0 of provision-vms: the roles, users, tokens and ACLs of
// spec.proxmox, ensured with the admin credential. A token's secret is shown
// once: it is stored in the keystore right after Proxmox returns it; a token
// whose secret the keystore lacks or that no longer authenticates is rotated
// (DELETE + POST), never left half-known.
#ifndef COLDSTART_TOOLS_PROVISION_VMS_ACCESS_H_
#define COLDSTART_TOOLS_PROVISION_VMS_ACCESS_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "tools/provision-vms/provision_context.h"
#include "tools/provision-vms/pve_client.h"

namespace coldstart {

struct AccessResult {
  // Full token ids ("user@realm!tokenid") of the spec's tokens.
  std::vector<std::string> tokens_ensured;
  // Keystore key of each token -> what was (dry run: would be) done: "ok",
  // "create", "rotate (...)".
  std::map<std::string, std::string> token_actions;
};

// Converges layer 0 through `admin`; in a dry run only prints the plan
// lines. Errors: the Proxmox calls' and the keystore's.
absl::StatusOr<AccessResult> EnsureAccess(ProvisionContext& context,
                                          PveClient& admin);

}  // namespace coldstart

#endif  // COLDSTART_TOOLS_PROVISION_VMS_ACCESS_H_
