#include "tools/talos-bootstrap/talos_access.h"

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "lib/base/status_macros.h"

namespace coldstart {

bool IsControlPlane(const v1::Node& node) {
  return node.role() == v1::NODE_ROLE_CONTROL_PLANE;
}

const v1::Node* FirstControlPlane(const v1::ClusterSpec& spec) {
  const v1::Node* first = nullptr;
  for (const v1::Node& node : spec.nodes()) {
    if (!IsControlPlane(node)) continue;
    if (node.ip() == spec.network().bootstrap_endpoint()) return &node;
    if (first == nullptr) first = &node;
  }
  return first;
}

std::string TalosAccess::Address(const v1::Node& node) const {
  const uint32_t port =
      spec_.talos().api_port() == 0 ? 50000 : spec_.talos().api_port();
  return absl::StrCat(node.ip(), ":", port);
}

std::unique_ptr<TalosClient> TalosAccess::Insecure(const v1::Node& node) const {
  return TalosClient::Insecure(Address(node));
}

std::unique_ptr<TalosClient> TalosAccess::Mutual(const v1::Node& node) const {
  return TalosClient::Mutual(Address(node), credentials_->bundle.os_ca.crt_pem,
                             credentials_->admin.crt_pem,
                             std::string(credentials_->admin.key_pem.Reveal()));
}

absl::StatusOr<TalosMode> TalosAccess::DetectMode(const v1::Node& node) const {
  absl::Status mutual = absl::UnavailableError("no Talos credentials yet");
  if (has_credentials()) {
    mutual = Mutual(node)->Version().status();
    if (mutual.ok()) return TalosMode::kConfigured;
  }
  std::unique_ptr<TalosClient> insecure = Insecure(node);
  absl::StatusOr<machine::VersionResponse> version = insecure->Version();
  const std::string peer = insecure->peer().leaf_common_name;
  // ≤1.12: Version is Unimplemented in maintenance; 1.13+: works.
  if (peer == kMaintenanceCommonName &&
      (version.ok() || absl::IsUnimplemented(version.status()))) {
    return TalosMode::kMaintenance;
  }
  // A configured node that does not accept our client certificate.
  if (!peer.empty() &&
      (absl::IsPermissionDenied(mutual) || absl::IsUnauthenticated(mutual))) {
    return mutual;
  }
  return absl::UnavailableError(has_credentials() ? mutual.message()
                                                  : version.status().message());
}

absl::StatusOr<bool> TalosAccess::HasEtcdMembers(const v1::Node& node) const {
  ASSIGN_OR_RETURN(machine::EtcdMemberListResponse members,
                   Mutual(node)->EtcdMemberList());
  return members.messages_size() > 0 && members.messages(0).members_size() > 0;
}

}  // namespace coldstart
