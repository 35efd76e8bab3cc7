// Headscale REST client for the API generations of facts/headscale.md
// (0.23-0.25 by user name; 0.26-0.27 by user id; 0.28+ keys by id, list
// without filter), with Bearer auth. Keys are returned as Secrets and never
// appear in messages.
#ifndef COLDSTART_TOOLS_TALOS_BOOTSTRAP_HEADSCALE_CLIENT_H_
#define COLDSTART_TOOLS_TALOS_BOOTSTRAP_HEADSCALE_CLIENT_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "lib/net/http.h"
#include "lib/secrets/secret.h"

namespace coldstart {

struct HeadscaleKey {
  std::string id;
  Secret key;  // full key on create; may be masked in 0.28+ listings
  bool used = false;
  bool reusable = false;
  absl::Time expiration;
};

struct HeadscaleNode {
  std::string id;
  std::string name;
  std::vector<std::string> available_routes;
  std::vector<std::string> approved_routes;
};

class HeadscaleClient {
 public:
  // `generation`: 23, 26 or 28 (from "0.23", "0.26", "0.28"; empty = 26).
  static absl::StatusOr<int> Generation(const std::string& api_version);

  HeadscaleClient(HttpClient& http, std::string base_url, Secret api_key,
                  int generation)
      : http_(http),
        base_(std::move(base_url)),
        api_key_(std::move(api_key)),
        gen_(generation) {}

  // The user's id (0.26+) or name (0.23) as the key endpoints want it;
  // created when missing unless `create` is false (then NotFound).
  absl::StatusOr<std::string> EnsureUser(const std::string& name, bool create);
  // One authenticated GET of the user list (no retry): OK when Headscale
  // answers it, Unavailable/DeadlineExceeded when it cannot be reached,
  // PermissionDenied for a rejected API key, FailedPrecondition for another
  // HTTP error. For the dry run's reachability check.
  absl::Status Probe(const std::string& user);
  absl::StatusOr<HeadscaleKey> CreateKey(const std::string& user,
                                         absl::Time expiration, bool reusable,
                                         bool ephemeral,
                                         const std::vector<std::string>& tags);
  absl::StatusOr<std::vector<HeadscaleKey>> ListKeys(const std::string& user);
  absl::Status ExpireKey(const std::string& user, const HeadscaleKey& key);
  absl::StatusOr<std::vector<HeadscaleNode>> ListNodes();
  // Approves `routes` on the node (0.26+: approve_routes with the union of
  // approved and `routes`; 0.23: enables the node's advertised routes in
  // `routes`).
  absl::Status ApproveRoutes(const HeadscaleNode& node,
                             const std::vector<std::string>& routes);

 private:
  HttpRequest Request(const std::string& method, const std::string& path,
                      const std::string& body) const;
  // The reply body of a 2xx; PermissionDenied for 401, FailedPrecondition
  // for other statuses.
  absl::StatusOr<std::string> Reply(const std::string& method,
                                    const std::string& path,
                                    const HttpResponse& response) const;
  absl::StatusOr<std::string> Call(const std::string& method,
                                   const std::string& path,
                                   const std::string& body);
  HttpClient& http_;
  std::string base_;
  Secret api_key_;
  int gen_;
};

}  // namespace coldstart

#endif  // COLDSTART_TOOLS_TALOS_BOOTSTRAP_HEADSCALE_CLIENT_H_
