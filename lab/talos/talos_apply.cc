// ApplyConfiguration (facts/talos.md §2.2): maintenance AUTO/REBOOT/TRY with
// 1.9.1's validation, then the apply transition (listener closes, the node
// comes back configured after config-apply); configured-mode applies and
// dry runs.
#include <algorithm>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "lab/talos/talos_simulator.h"

namespace coldstart::lab {

namespace {

// Lines of `before` missing from `after` ("-") and new lines ("+"), secrets
// included as Talos prints them (the real diff shows the whole config).
std::string LineDiff(const std::string& before, const std::string& after) {
  std::vector<std::string> a = absl::StrSplit(before, '\n');
  std::vector<std::string> b = absl::StrSplit(after, '\n');
  std::multiset<std::string> in_a(a.begin(), a.end()), in_b(b.begin(), b.end());
  std::string out;
  for (const std::string& line : a) {
    if (in_b.count(line) == 0) absl::StrAppend(&out, "-", line, "\n");
  }
  for (const std::string& line : b) {
    if (in_a.count(line) == 0) absl::StrAppend(&out, "+", line, "\n");
  }
  return out;
}

void DryRunReply(bool maintenance, const std::string& current,
                 const std::string& requested,
                 machine::ApplyConfiguration* reply) {
  const std::string diff = LineDiff(current, requested);
  reply->set_mode(maintenance ? machine::ApplyConfigurationRequest::REBOOT
                              : machine::ApplyConfigurationRequest::NO_REBOOT);
  reply->set_mode_details(absl::StrCat(
      "Dry run summary:\nApplied configuration without a reboot (skipped in "
      "dry-run).\n\nConfig diff:\n\n",
      diff.empty() ? "No changes." : diff));
}

}  // namespace

grpc::Status TalosSimulator::Apply(
    const std::string& name, grpc::ServerContext* ctx,
    const machine::ApplyConfigurationRequest& request,
    machine::ApplyConfigurationResponse* response) {
  Stage stage;
  std::string current;
  bool was_control_plane;
  {
    absl::MutexLock lock(&mu_);
    stage = nodes_.at(name).stage;
    current = nodes_.at(name).config_yaml;
    was_control_plane = nodes_.at(name).config.control_plane;
  }
  const bool maintenance = stage == Stage::kMaintenance;
  if (!maintenance) {
    grpc::Status auth = Authorize(ctx, {});
    if (!auth.ok()) return auth;
    if (stage != Stage::kConfigured) {
      return grpc::Status(grpc::FAILED_PRECONDITION,
                          "another apply configuration is already in progress");
    }
  }
  const auto mode = request.mode();
  if (maintenance && (mode == machine::ApplyConfigurationRequest::NO_REBOOT ||
                      mode == machine::ApplyConfigurationRequest::STAGED)) {
    return grpc::Status(grpc::UNIMPLEMENTED,
                        "apply configuration mode is not supported in "
                        "maintenance mode");
  }
  absl::StatusOr<TalosMachineConfig> config =
      ValidateMachineConfig(request.data());
  if (!config.ok()) {
    return grpc::Status(grpc::INVALID_ARGUMENT,
                        std::string(config.status().message()));
  }
  machine::ApplyConfiguration* reply = response->add_messages();
  if (request.dry_run()) {
    DryRunReply(maintenance, current, request.data(), reply);
    return grpc::Status::OK;
  }
  if (!maintenance) {
    if (config->control_plane != was_control_plane) {
      return grpc::Status(grpc::INVALID_ARGUMENT,
                          "machine type can't be changed");
    }
    absl::MutexLock lock(&mu_);
    Node& node = nodes_.at(name);
    node.config_yaml = request.data();
    node.config = *config;
    reply->set_mode(machine::ApplyConfigurationRequest::NO_REBOOT);
    reply->set_mode_details("Applied configuration without a reboot");
    return grpc::Status::OK;
  }
  uint64_t boot;
  {
    absl::MutexLock lock(&mu_);
    Node& node = nodes_.at(name);
    node.stage = Stage::kApplying;
    node.config_yaml = request.data();
    node.config = *config;
    boot = node.boot;
  }
  // ≤1.12 maintenance replies: mode unset, no details. The maintenance API
  // goes away right after the reply; the node comes back configured after
  // config-apply (disk image: no install, no reboot).
  After(absl::Milliseconds(20),
        [name](TalosSimulator& self) { self.StopServer(name); });
  After(std::max(absl::Milliseconds(40),
                 context_.latency->Delay(Step::kConfigApply)),
        [name, boot](TalosSimulator& self) { self.FinishApply(name, boot); });
  return grpc::Status::OK;
}

void TalosSimulator::FinishApply(const std::string& name, uint64_t boot) {
  std::optional<ClusterCas> cas;
  bool control_plane = false;
  {
    absl::MutexLock lock(&mu_);
    Node& node = nodes_.at(name);
    if (stopped_ || node.boot != boot || node.stage != Stage::kApplying) return;
    node.stage = Stage::kConfigured;
    control_plane = node.config.control_plane;
    if (control_plane && !cas_shared_) {
      cas_shared_ = true;
      cas = ClusterCas{
          node.config.os_ca_cert_pem,         node.config.os_ca_key_pem,
          node.config.kubernetes_ca_cert_pem, node.config.kubernetes_ca_key_pem,
          node.config.etcd_ca_cert_pem,       node.config.etcd_ca_key_pem};
    }
  }
  StopServer(name);
  StartServer(name);
  if (cas && !context_.world->State().cas.has_value()) {
    context_.world->Publish(ClusterCasShared{*cas});
  }
  context_.world->Publish(ConfigApplied{name, control_plane});
  TailscaleLogin(name, 0);
}

}  // namespace coldstart::lab
