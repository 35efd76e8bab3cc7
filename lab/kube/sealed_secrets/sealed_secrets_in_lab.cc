#include "lab/kube/sealed_secrets/sealed_secrets_in_lab.h"

#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace coldstart::lab {

absl::StatusOr<std::unique_ptr<SealedSecretsInLab>> SealedSecretsInLab::ForSpec(
    ApiServer& api, const v1::ClusterSpec& spec,
    const std::map<std::string, std::string>& module_options,
    std::function<void(const std::string&)> log,
    std::function<absl::Time()> now) {
  auto option = [&](const char* name, const char* fallback) {
    auto it = module_options.find(name);
    return it == module_options.end() ? std::string(fallback) : it->second;
  };
  const std::string mode = option("sealed_secrets", "on_deploy");
  if (mode != "on_deploy" && mode != "at_start" && mode != "off") {
    return absl::InvalidArgumentError(absl::StrCat(
        "kube.sealed_secrets=", mode, ": want on_deploy, at_start or off"));
  }
  if (!spec.has_sealed_secrets() || mode == "off") return nullptr;
  SealedSecretsControllerOptions options;
  if (!spec.sealed_secrets().controller_namespace().empty()) {
    options.ns = spec.sealed_secrets().controller_namespace();
  }
  const std::string bits = option("sealed_secrets_key_bits", "4096");
  if (!absl::SimpleAtoi(bits, &options.key_bits) || options.key_bits < 2048 ||
      options.key_bits > 8192 || options.key_bits % 8 != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("kube.sealed_secrets_key_bits=", bits,
                     ": want a multiple of 8 in [2048, 8192]"));
  }
  const std::string period = option("sealed_secrets_renew_period", "720h");
  if (!absl::ParseDuration(period, &options.renew_period) ||
      options.renew_period < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("kube.sealed_secrets_renew_period=", period,
                     ": want a duration such as 720h"));
  }
  options.now = std::move(now);
  const std::string name = spec.sealed_secrets().controller_name().empty()
                               ? "sealed-secrets-controller"
                               : spec.sealed_secrets().controller_name();
  options.pod_name_prefix = absl::StrCat(name, "-");
  std::unique_ptr<SealedSecretsInLab> lab(
      new SealedSecretsInLab(api, std::move(options), name, std::move(log)));
  if (mode == "at_start") {
    lab->StartController("started with the API server");
  } else {
    SealedSecretsInLab* self = lab.get();
    api.AddWriteObserver(
        [self](WriteVerb verb, const ResourceType& type, const Json& object) {
          self->OnWrite(verb, type, object);
        });
  }
  return lab;
}

SealedSecretsInLab::SealedSecretsInLab(
    ApiServer& api, SealedSecretsControllerOptions options,
    std::string deployment_name, std::function<void(const std::string&)> log)
    : api_(api),
      options_(std::move(options)),
      deployment_name_(std::move(deployment_name)),
      log_(std::move(log)) {}

SealedSecretsController* SealedSecretsInLab::controller() {
  absl::MutexLock lock(&mu_);
  return controller_.get();
}

void SealedSecretsInLab::StartController(const std::string& why) {
  SealedSecretsController* controller;
  {
    absl::MutexLock lock(&mu_);
    if (controller_ != nullptr) return;
    controller_ = std::make_unique<SealedSecretsController>(api_, options_);
    controller = controller_.get();
  }
  const absl::Status status = controller->Start();
  if (log_) {
    log_(absl::StrCat(
        "kube: sealed-secrets controller in ", options_.ns, " ", why, ": ",
        controller->LoadedKeyCount(), " key(s) loaded",
        status.ok() ? "" : absl::StrCat(" (", status.message(), ")")));
  }
}

void SealedSecretsInLab::OnWrite(WriteVerb verb, const ResourceType& type,
                                 const Json& object) {
  if (verb != WriteVerb::kCreate) return;
  if (type.kind != "Deployment" && type.kind != "HelmRelease") return;
  const Json meta = object.value("metadata", Json::object());
  const std::string name = meta.value("name", "");
  if (meta.value("namespace", "") != options_.ns ||
      (name != deployment_name_ && name != "sealed-secrets")) {
    return;
  }
  StartController(absl::StrCat("started (", type.kind, " ", name, " created)"));
}

}  // namespace coldstart::lab
