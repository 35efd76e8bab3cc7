#include "tools/provision-vms/provision_vms.h"

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "lib/base/status_macros.h"
#include "lib/secrets/credentials.h"
#include "nlohmann/json.hpp"
#include "tools/provision-vms/access.h"
#include "tools/provision-vms/destroy.h"
#include "tools/provision-vms/image.h"
#include "tools/provision-vms/provision_context.h"
#include "tools/provision-vms/pve_client.h"
#include "tools/provision-vms/vm_converge.h"
#include "tools/provision-vms/vm_plan.h"
#include "tools/provision-vms/vm_task.h"

namespace coldstart {
namespace {

using json = nlohmann::json;

constexpr char kTool[] = "provision-vms";

// Proxmox must be 8.4 or newer: it downloads qcow2 images as 'import'
// content.
absl::Status CheckVersion(PveClient& pve) {
  ASSIGN_OR_RETURN(json version, pve.Get("/version"));
  std::string text = PveString(version["version"]);
  std::vector<std::string> parts = absl::StrSplit(text, '.');
  int major = 0, minor = 0;
  if (parts.size() < 2 || !absl::SimpleAtoi(parts[0], &major) ||
      !absl::SimpleAtoi(parts[1], &minor)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "Proxmox reports version \"", text, "\", which is not a version"));
  }
  if (major < 8 || (major == 8 && minor < 4)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "Proxmox VE ", text,
        " cannot download a qcow2 image as 'import' content (needs 8.4 or "
        "newer); upgrade Proxmox VE"));
  }
  return absl::OkStatus();
}

class Provisioner {
 public:
  explicit Provisioner(ProvisionContext& context)
      : context_(context),
        provision_(
            context.run().cluster().mutable_status()->mutable_provision()) {}

  absl::Status Run();

 private:
  const v1::ProxmoxSpec& pve_spec() const { return context_.spec().proxmox(); }
  bool dry() const { return context_.dry_run(); }

  absl::StatusOr<std::optional<Secret>> AdminCredential();
  absl::StatusOr<AccessResult> Layer0(const Secret& admin);
  absl::StatusOr<Secret> ProvisioningCredential(
      const std::optional<Secret>& admin, const AccessResult& access);
  absl::Status CheckProxmoxAnswers(const Secret& credential);
  absl::Status PlanAndConverge(PveClient& pve,
                               const std::map<int, ObservedVm>& observed);
  absl::Status ConvergeVms(PveClient& pve, std::vector<VmPlan>& plans,
                           const std::map<int, ObservedVm>& observed);

  ProvisionContext& context_;
  v1::ProvisionStatus* provision_;
};

absl::Status Provisioner::Run() {
  ASSIGN_OR_RETURN(std::optional<Secret> admin, AdminCredential());
  AccessResult access;
  if (admin.has_value()) {
    ASSIGN_OR_RETURN(access, Layer0(*admin));
  }
  ASSIGN_OR_RETURN(Secret provisioning, ProvisioningCredential(admin, access));
  PveClient pve = context_.Client(provisioning);
  if (dry()) {
    if (!admin.has_value()) RETURN_IF_ERROR(CheckProxmoxAnswers(provisioning));
    RETURN_IF_ERROR(context_.run().CheckEndpoint(
        "the Image Factory", context_.spec().image().factory_url(),
        EndpointExistence::kMustExist, ProbeImageFactory(context_)));
  }
  RETURN_IF_ERROR(CheckVersion(pve));
  ASSIGN_OR_RETURN(auto observed, ObserveVms(context_, pve));
  provision_->clear_tokens_ensured();
  for (const auto& t : access.tokens_ensured) provision_->add_tokens_ensured(t);
  if (context_.options().destroy) {
    return DestroyVms(context_, pve, observed, provision_);
  }
  return PlanAndConverge(pve, observed);
}

// Environment first, then the keystore item; none: layer 0 is skipped.
absl::StatusOr<std::optional<Secret>> Provisioner::AdminCredential() {
  CredentialSource source;
  source.description = "Proxmox admin token";
  source.environment_variable = kAdminTokenEnvironmentVariable;
  source.keystore_key = pve_spec().admin_credentials().key();
  absl::StatusOr<Secret> admin = context_.run().Credential(source);
  if (absl::IsFailedPrecondition(admin.status())) {
    context_.Say(absl::StrCat(admin.status().message(),
                              ": users, tokens and ACLs are not checked"));
    return std::nullopt;
  }
  RETURN_IF_ERROR(admin.status());
  absl::StatusOr<std::string> id = PveTokenId(*admin);
  if (!id.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("the Proxmox admin token ($",
                     kAdminTokenEnvironmentVariable, " or keystore item ",
                     source.keystore_key, "): ", id.status().message()));
  }
  return std::optional<Secret>(*std::move(admin));
}

absl::StatusOr<AccessResult> Provisioner::Layer0(const Secret& admin) {
  if (dry()) RETURN_IF_ERROR(CheckProxmoxAnswers(admin));
  PveClient client = context_.Client(admin);
  Events::StepId step = context_.events().Start("access");
  absl::StatusOr<AccessResult> access = EnsureAccess(context_, client);
  context_.events().End(step, access.status());
  if (!access.ok()) {
    return absl::Status(access.status().code(),
                        absl::StrCat("layer 0 (users, tokens, ACLs): ",
                                     access.status().message()));
  }
  return access;
}

// The keystore item; in a dry run whose layer 0 would (re)create it, the
// admin token stands in for it.
absl::StatusOr<Secret> Provisioner::ProvisioningCredential(
    const std::optional<Secret>& admin, const AccessResult& access) {
  const std::string& key = pve_spec().provisioning_credentials().key();
  auto planned = access.token_actions.find(key);
  if (dry() && admin.has_value() && planned != access.token_actions.end() &&
      planned->second != "ok") {
    return *admin;
  }
  CredentialSource source;
  source.description = "Proxmox provisioning token";
  source.keystore_key = key;
  absl::StatusOr<Secret> provisioning = context_.run().Credential(source);
  if (!absl::IsFailedPrecondition(provisioning.status())) return provisioning;
  if (dry() && admin.has_value()) return *admin;
  return absl::FailedPreconditionError(absl::StrCat(
      provisioning.status().message(), "; give the admin credential ($",
      kAdminTokenEnvironmentVariable, " or keystore item ",
      pve_spec().admin_credentials().key(), ") so layer 0 creates it"));
}

// Dry run: Proxmox must exist and accept the token (GET /version).
absl::Status Provisioner::CheckProxmoxAnswers(const Secret& credential) {
  PveClient probe = context_.Client(credential, kProbeAttempts);
  return context_.run().CheckEndpoint(
      "the Proxmox VE API", pve_spec().endpoint(),
      EndpointExistence::kMustExist, probe.Get("/version").status());
}

absl::Status Provisioner::PlanAndConverge(
    PveClient& pve, const std::map<int, ObservedVm>& observed) {
  std::vector<VmPlan> plans =
      PlanVms(context_.spec(), observed, context_.options().adopt);
  std::vector<std::string> conflicts;
  bool need_image = false;
  for (const auto& plan : plans) {
    std::string details = absl::StrJoin(plan.details, "; ");
    context_.Plan(absl::StrCat(
        Describe(*plan.node), ": ", ActionName(plan.action),
        details.empty() ? "" : " (", details, details.empty() ? "" : ")"));
    if (plan.action == VmAction::kConflict) {
      conflicts.push_back(absl::StrCat(Describe(*plan.node), ": ", details));
    }
    need_image |= plan.action == VmAction::kCreate;
  }
  if (!conflicts.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat(conflicts.size(), " VMID conflict(s), nothing changed:\n",
                     absl::StrJoin(conflicts, "\n")));
  }
  Events::StepId step = context_.events().Start("image");
  absl::Status image = EnsureImage(context_, pve, dry() || !need_image,
                                   provision_->mutable_image());
  context_.events().End(step, image);
  RETURN_IF_ERROR(image);
  if (dry()) return absl::OkStatus();
  return ConvergeVms(pve, plans, observed);
}

// Every VM in parallel; status entries keep the MACs already known for VMs
// that are unchanged.
absl::Status Provisioner::ConvergeVms(
    PveClient& pve, std::vector<VmPlan>& plans,
    const std::map<int, ObservedVm>& observed) {
  std::map<int, v1::VmStatus> previous;
  for (const auto& vm : provision_->vms()) previous[vm.vmid()] = vm;
  provision_->clear_vms();
  std::vector<v1::VmStatus> statuses(plans.size());
  for (size_t i = 0; i < plans.size(); ++i) {
    const v1::Node& node = *plans[i].node;
    v1::VmStatus& status = statuses[i];
    auto prev = previous.find(node.vmid());
    if (plans[i].action == VmAction::kUnchanged && prev != previous.end() &&
        prev->second.name() == node.name()) {
      status = prev->second;
    }
    status.set_name(node.name());
    status.set_vmid(node.vmid());
    status.set_proxmox_node(node.proxmox_node());
    if (plans[i].action == VmAction::kAdopt) {
      context_.Say(absl::StrCat(
          Describe(node),
          ": adopting (will set our tags and marker and bring cores, memory, "
          "cpu, scsihw, net0, ipconfig0, nameserver, agent and disk to the "
          "spec)"));
    }
  }
  const std::string image_volid = provision_->image().volume();
  absl::Status result = context_.ForEachParallel(plans.size(), [&](size_t i) {
    return ConvergeVm(context_, pve, plans[i], image_volid, &statuses[i]);
  });
  for (v1::VmStatus& status : statuses) {
    if (status.power_state() == v1::POWER_STATE_UNSPECIFIED) {
      auto it = observed.find(status.vmid());
      status.set_power_state(it == observed.end() ? v1::POWER_STATE_ABSENT
                             : it->second.status == "running"
                                 ? v1::POWER_STATE_RUNNING
                                 : v1::POWER_STATE_STOPPED);
    }
    *status.mutable_observed_at() = context_.Now();
    *provision_->add_vms() = status;
  }
  *provision_->mutable_updated_at() = context_.Now();
  return result;
}

absl::Status Provision(ToolRun& run, const ProvisionOptions& options) {
  ASSIGN_OR_RETURN(std::unique_ptr<ProvisionContext> context,
                   ProvisionContext::Create(run, options));
  return Provisioner(*context).Run();
}

}  // namespace

absl::Status RealMain(const ProvisionOptions& options, ToolIo& io) {
  RETURN_IF_ERROR(CheckProvisionOptions(options));
  ASSIGN_OR_RETURN(std::unique_ptr<ToolRun> run,
                   ToolRun::Open(kTool, options.common, io));
  return run->Finish(Provision(*run, options));
}

}  // namespace coldstart
