// How talos-bootstrap reaches a node's Talos API (apid): its address, the
// cluster's Talos credentials, and which mode the node is in (read from TLS,
// facts/talos.md §1, §7).
#ifndef COLDSTART_TOOLS_TALOS_BOOTSTRAP_TALOS_ACCESS_H_
#define COLDSTART_TOOLS_TALOS_BOOTSTRAP_TALOS_ACCESS_H_

#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "proto/coldstart/v1/cluster.pb.h"
#include "tools/talos-bootstrap/secrets_bundle.h"
#include "tools/talos-bootstrap/talos_client.h"

namespace coldstart {

bool IsControlPlane(const v1::Node& node);

// The control plane at network.bootstrap_endpoint, else the first control
// plane of the spec; nullptr when there is none (a validated spec always
// has one).
const v1::Node* FirstControlPlane(const v1::ClusterSpec& spec);

// The cluster's Talos secrets and the os:admin client certificate issued
// from them.
struct TalosCredentials {
  SecretsBundle bundle;
  CertAndKey admin;
};

// What a node's Talos API said about itself.
enum class TalosMode {
  // Maintenance: presents the maintenance-service.talos.dev certificate and
  // takes an insecure ApplyConfiguration (trust on first use).
  kMaintenance,
  // Configured: answers mutual TLS with the cluster's OS CA.
  kConfigured,
};

class TalosAccess {
 public:
  // `spec` and `credentials` must outlive this; `credentials` may be empty
  // (dry run before the bundle exists: only insecure calls).
  TalosAccess(const v1::ClusterSpec& spec,
              const std::optional<TalosCredentials>& credentials)
      : spec_(spec), credentials_(credentials) {}

  // "ip:port" of the node's apid (spec.talos.api_port, default 50000).
  std::string Address(const v1::Node& node) const;
  // Maintenance-mode client (no server verification, no client cert).
  std::unique_ptr<TalosClient> Insecure(const v1::Node& node) const;
  // Configured-mode client; requires credentials.
  std::unique_ptr<TalosClient> Mutual(const v1::Node& node) const;
  bool has_credentials() const { return credentials_.has_value(); }
  const TalosCredentials& credentials() const { return *credentials_; }

  // One look at the node: configured when it answers mutual TLS,
  // maintenance when it presents the maintenance certificate. Errors:
  // PermissionDenied/Unauthenticated for a configured node that refuses our
  // client certificate; Unavailable (with the node's error) otherwise (not
  // answering yet).
  absl::StatusOr<TalosMode> DetectMode(const v1::Node& node) const;

  // Whether etcd on `node` lists members (bootstrap done). Needs
  // credentials.
  absl::StatusOr<bool> HasEtcdMembers(const v1::Node& node) const;

 private:
  const v1::ClusterSpec& spec_;
  const std::optional<TalosCredentials>& credentials_;
};

}  // namespace coldstart

#endif  // COLDSTART_TOOLS_TALOS_BOOTSTRAP_TALOS_ACCESS_H_
