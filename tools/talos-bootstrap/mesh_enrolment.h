// The nodes' enrolment in the Headscale mesh (spec.mesh): one pre-auth key
// per node not yet registered (always with an expiration, kept in the
// keystore as "headscale-preauth-<node>", reused while usable), and once the
// nodes have enrolled, the spec's routes approved and their keys expired.
// The Headscale API key comes from run.Credential (HEADSCALE_API_KEY, then
// the keystore item spec.mesh.api_key, default "headscale-api-key").
#ifndef COLDSTART_TOOLS_TALOS_BOOTSTRAP_MESH_ENROLMENT_H_
#define COLDSTART_TOOLS_TALOS_BOOTSTRAP_MESH_ENROLMENT_H_

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "lib/cli/tool_run.h"
#include "lib/net/http.h"
#include "lib/secrets/secret.h"
#include "tools/talos-bootstrap/headscale_client.h"

namespace coldstart {

class MeshEnrolment {
 public:
  // Step "mesh keys": looks the user up (created if missing) and makes sure
  // every node not yet registered has a usable pre-auth key. nullptr when
  // the spec names no Headscale. In a dry run Headscale must answer (an
  // authenticated GET: unreachable → Unavailable naming the URL; a rejected
  // key → PermissionDenied) and nothing is created: plan lines instead.
  // Errors: FailedPrecondition without an API key; Headscale's and the
  // keystore's errors.
  static absl::StatusOr<std::unique_ptr<MeshEnrolment>> Prepare(ToolRun& run);

  // The node's pre-auth key for its machine config; empty when it needs
  // none (registered) or, in a dry run, would get a new one.
  Secret PreauthKey(const std::string& node) const;
  // Ids of the keys handed out to this run's configs (status).
  std::vector<std::string> KeyIds() const;

  // Step "mesh enrolment": waits (until `deadline`) for every spec node to
  // enrol, approves spec.mesh.advertise_routes on them, and expires their
  // keys.
  absl::Status Complete(ToolRun& run, absl::Time deadline);

 private:
  MeshEnrolment() = default;
  absl::Status EnsureKeys(ToolRun& run);
  absl::Status ApproveRoutes(ToolRun& run,
                             const std::vector<HeadscaleNode>& nodes);
  absl::Status ExpireKeys(ToolRun& run);

  std::unique_ptr<CurlHttpClient> http_;
  std::unique_ptr<HeadscaleClient> headscale_;
  std::string user_;
  std::set<std::string> registered_;
  std::map<std::string, Secret> preauth_;           // node -> key
  std::map<std::string, std::string> preauth_ids_;  // node -> key id
};

}  // namespace coldstart

#endif  // COLDSTART_TOOLS_TALOS_BOOTSTRAP_MESH_ENROLMENT_H_
