#include "tools/talos-bootstrap/mesh_enrolment.h"

#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "lib/base/poll.h"
#include "lib/base/status_macros.h"
#include "lib/secrets/keystore.h"
#include "tools/talos-bootstrap/run_steps.h"

namespace coldstart {
namespace {

std::string PreauthItem(const std::string& node) {
  return absl::StrCat("headscale-preauth-", node);
}

// The stored "id\nkey" of a node's pre-auth key; empty id when none.
std::pair<std::string, Secret> StoredKey(Keystore& keystore,
                                         const v1::ClusterSpec& spec,
                                         const std::string& node) {
  absl::StatusOr<Secret> stored =
      keystore.Lookup(ClusterSecretAttributes(spec.name(), PreauthItem(node)));
  if (!stored.ok()) return {"", Secret()};
  std::pair<std::string, std::string> parts =
      absl::StrSplit(stored->Reveal(), absl::MaxSplits('\n', 1));
  return {parts.first, Secret(std::move(parts.second))};
}

}  // namespace

absl::StatusOr<std::unique_ptr<MeshEnrolment>> MeshEnrolment::Prepare(
    ToolRun& run) {
  const v1::MeshSpec& mesh = run.spec().mesh();
  if (mesh.headscale_url().empty()) return nullptr;
  std::unique_ptr<MeshEnrolment> enrolment(new MeshEnrolment());
  RETURN_IF_ERROR(RunStep(run, "mesh keys", "", [&]() -> absl::Status {
    ASSIGN_OR_RETURN(int generation,
                     HeadscaleClient::Generation(mesh.api_version()));
    ASSIGN_OR_RETURN(
        Secret api_key,
        run.Credential({"the Headscale API key", "HEADSCALE_API_KEY", "",
                        mesh.api_key().key().empty() ? "headscale-api-key"
                                                     : mesh.api_key().key()}));
    CurlHttpClientOptions http_options;
    http_options.trust.ca_file = mesh.ca_file();
    absl::StatusOr<std::unique_ptr<CurlHttpClient>> http =
        CurlHttpClient::Create(http_options);
    if (!http.ok()) {
      // A CA file the spec names that is missing or bad: bad input.
      return absl::InvalidArgumentError(
          absl::StrCat("spec.mesh.ca_file: ", http.status().message()));
    }
    enrolment->http_ = *std::move(http);
    std::string base(mesh.headscale_url());
    while (absl::EndsWith(base, "/")) base.pop_back();
    enrolment->headscale_ = std::make_unique<HeadscaleClient>(
        *enrolment->http_, base, std::move(api_key), generation);
    return enrolment->EnsureKeys(run);
  }));
  return enrolment;
}

absl::Status MeshEnrolment::EnsureKeys(ToolRun& run) {
  const v1::ClusterSpec& spec = run.spec();
  const v1::MeshSpec& mesh = spec.mesh();
  const std::string user_name = mesh.user().empty() ? spec.name() : mesh.user();
  if (run.dry_run()) {
    RETURN_IF_ERROR(run.CheckEndpoint("Headscale", mesh.headscale_url(),
                                      EndpointExistence::kMustExist,
                                      headscale_->Probe(user_name)));
  }
  absl::StatusOr<std::string> user =
      headscale_->EnsureUser(user_name, !run.dry_run());
  if (run.dry_run() && absl::IsNotFound(user.status())) {
    run.Plan(absl::StrCat("headscale: user ", user_name, " would be created"));
    return absl::OkStatus();
  }
  RETURN_IF_ERROR(user.status());
  user_ = *user;
  ASSIGN_OR_RETURN(std::vector<HeadscaleNode> nodes, headscale_->ListNodes());
  for (const HeadscaleNode& n : nodes) registered_.insert(n.name);
  ASSIGN_OR_RETURN(std::vector<HeadscaleKey> keys, headscale_->ListKeys(user_));
  ASSIGN_OR_RETURN(Keystore * keystore, run.keystore());
  const absl::Time now = run.clock().Now();
  const absl::Duration ttl = absl::Seconds(
      mesh.key_ttl_seconds() == 0 ? 3600 : mesh.key_ttl_seconds());
  for (const v1::Node& node : spec.nodes()) {
    auto [id, key] = StoredKey(*keystore, spec, node.name());
    bool usable = false;
    for (const HeadscaleKey& k : keys) {
      if (k.id == id && !id.empty()) {
        usable =
            (!k.used || k.reusable) && k.expiration > now + absl::Minutes(1);
      }
    }
    if (registered_.count(node.name()) > 0 || usable) {
      if (!key.empty()) {
        preauth_[node.name()] = key;
        preauth_ids_[node.name()] = id;
      }
      continue;
    }
    if (run.dry_run()) {
      run.Plan(absl::StrCat("headscale: ", node.name(),
                            ": a pre-auth key would be created"));
      continue;
    }
    ASSIGN_OR_RETURN(
        HeadscaleKey created,
        headscale_->CreateKey(
            user_, now + ttl, mesh.reusable_keys(), mesh.ephemeral_keys(),
            {mesh.acl_tags().begin(), mesh.acl_tags().end()}));
    RETURN_IF_ERROR(keystore->Store(
        ClusterSecretAttributes(spec.name(), PreauthItem(node.name())),
        absl::StrCat("coldstart ", spec.name(), " Headscale key ", node.name()),
        Secret(absl::StrCat(created.id, "\n", created.key.Reveal()))));
    run.events().Note(
        absl::StrCat("headscale: pre-auth key ", created.id, " created"),
        node.name());
    preauth_[node.name()] = created.key;
    preauth_ids_[node.name()] = created.id;
  }
  return absl::OkStatus();
}

Secret MeshEnrolment::PreauthKey(const std::string& node) const {
  auto it = preauth_.find(node);
  return it == preauth_.end() ? Secret() : it->second;
}

std::vector<std::string> MeshEnrolment::KeyIds() const {
  std::vector<std::string> ids;
  for (const auto& [node, id] : preauth_ids_) ids.push_back(id);
  return ids;
}

absl::Status MeshEnrolment::Complete(ToolRun& run, absl::Time deadline) {
  return RunStep(run, "mesh enrolment", "", [&]() -> absl::Status {
    std::set<std::string> wanted;
    for (const v1::Node& n : run.spec().nodes()) wanted.insert(n.name());
    std::vector<HeadscaleNode> nodes;
    RETURN_IF_ERROR(
        Poll(ConvergenceWait(run, "the nodes to enrol in Headscale", deadline),
             [&](PollAttempt&) -> absl::Status {
               ASSIGN_OR_RETURN(nodes, headscale_->ListNodes());
               std::set<std::string> seen;
               for (const HeadscaleNode& n : nodes) seen.insert(n.name);
               for (const std::string& w : wanted) {
                 if (seen.count(w) == 0) {
                   return absl::UnavailableError(
                       absl::StrCat(w, " has not enrolled yet"));
                 }
               }
               return absl::OkStatus();
             }));
    std::vector<HeadscaleNode> ours;
    for (HeadscaleNode& n : nodes) {
      if (wanted.count(n.name) > 0) ours.push_back(std::move(n));
    }
    RETURN_IF_ERROR(ApproveRoutes(run, ours));
    return ExpireKeys(run);
  });
}

absl::Status MeshEnrolment::ApproveRoutes(
    ToolRun& run, const std::vector<HeadscaleNode>& nodes) {
  const auto& routes = run.spec().mesh().advertise_routes();
  for (const HeadscaleNode& n : nodes) {
    std::vector<std::string> missing;
    for (const std::string& r : routes) {
      bool approved = false;
      for (const std::string& a : n.approved_routes) approved |= a == r;
      if (!approved) missing.push_back(r);
    }
    if (missing.empty()) continue;
    RETURN_IF_ERROR(headscale_->ApproveRoutes(n, missing));
    run.events().Note(
        absl::StrCat("headscale: approved ", absl::StrJoin(missing, ",")),
        n.name);
  }
  return absl::OkStatus();
}

// Enrolled: the nodes' keys are no longer needed.
absl::Status MeshEnrolment::ExpireKeys(ToolRun& run) {
  ASSIGN_OR_RETURN(std::vector<HeadscaleKey> keys, headscale_->ListKeys(user_));
  const absl::Time now = run.clock().Now();
  for (const auto& [node, id] : preauth_ids_) {
    for (HeadscaleKey& k : keys) {
      if (k.id != id || k.expiration <= now) continue;
      k.key = preauth_[node];
      RETURN_IF_ERROR(headscale_->ExpireKey(user_, k));
      run.events().Note(
          absl::StrCat("headscale: key ", id, " expired (node enrolled)"),
          node);
    }
  }
  return absl::OkStatus();
}

}  // namespace coldstart
