// Node lifecycle (boot, stop, VIP), world subscriptions and the call frame
// (faults, request log, authorization) of the Talos simulator.
#include "lab/talos/talos_simulator.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "lab/faults/grpc_fault.h"

namespace coldstart::lab {

namespace {

constexpr char kMethodPrefix[] = "/machine.MachineService/";

// The request log's status for a gRPC code.
int HttpStatusFor(grpc::StatusCode code) {
  switch (code) {
    case grpc::OK:
      return 200;
    case grpc::INVALID_ARGUMENT:
    case grpc::FAILED_PRECONDITION:
    case grpc::OUT_OF_RANGE:
      return 400;
    case grpc::UNAUTHENTICATED:
      return 401;
    case grpc::PERMISSION_DENIED:
      return 403;
    case grpc::NOT_FOUND:
      return 404;
    case grpc::ALREADY_EXISTS:
    case grpc::ABORTED:
      return 409;
    case grpc::RESOURCE_EXHAUSTED:
      return 429;
    case grpc::UNIMPLEMENTED:
      return 501;
    case grpc::UNAVAILABLE:
      return 503;
    case grpc::DEADLINE_EXCEEDED:
      return 504;
    default:
      return 500;
  }
}

}  // namespace

const char* StageName(Stage stage) {
  switch (stage) {
    case Stage::kOff:
      return "off";
    case Stage::kMaintenance:
      return "maintenance";
    case Stage::kApplying:
      return "applying";
    case Stage::kConfigured:
      return "configured";
    case Stage::kRebooting:
      return "rebooting";
  }
  return "?";
}

TalosSimulator::TalosSimulator(ModuleContext& context,
                               std::vector<NodeSpec> nodes, int port,
                               std::string api_vip)
    : context_(context), port_(port), api_vip_(std::move(api_vip)) {
  for (NodeSpec& n : nodes) {
    Node node;
    node.spec = n;
    nodes_.emplace(n.name, std::move(node));
  }
}

std::map<std::string, std::string> TalosSimulator::Listeners() const {
  std::map<std::string, std::string> out;
  for (const auto& [name, node] : nodes_) {
    out[name] = absl::StrCat(node.spec.ip, ":", port_);
  }
  return out;
}

int TalosSimulator::bootstrap_count() const {
  absl::MutexLock lock(&mu_);
  return bootstrap_count_;
}

bool TalosSimulator::stopped() const {
  absl::MutexLock lock(&mu_);
  return stopped_;
}

grpc::Status TalosSimulator::Call(const std::string& method,
                                  const std::string& log_suffix,
                                  const std::function<grpc::Status()>& body) {
  FaultDecision decision = context_.faults->Decide(
      "talos", "GRPC", absl::StrCat(kMethodPrefix, method));
  // A grpc_status fault answers instead of the method; drop_reply runs the
  // method and then loses the reply (lab/faults/grpc_fault.h).
  grpc::Status status = RunWithGrpcFault(decision, body);
  RequestRecord record;
  record.module = "talos";
  record.method = "GRPC";
  record.path = absl::StrCat(kMethodPrefix, method, log_suffix);
  record.status = HttpStatusFor(status.error_code());
  record.time = absl::Now();
  if (decision.fired()) record.fault = decision.rule->name();
  context_.requests->Append(record);
  return status;
}

std::optional<grpc::Status> TalosSimulator::RefusedInMaintenance(
    const std::string& name, const std::string& method) {
  {
    absl::MutexLock lock(&mu_);
    if (nodes_.at(name).stage != Stage::kMaintenance) return std::nullopt;
  }
  // §0: Version needs os:admin, which no maintenance client has.
  if (method == "Version") {
    return grpc::Status(grpc::UNIMPLEMENTED,
                        "API is not implemented in maintenance mode");
  }
  // §2.2 Reboot: not implemented in maintenance mode (≤1.12).
  if (method == "Reboot") {
    return grpc::Status(grpc::UNIMPLEMENTED, "method Reboot not implemented");
  }
  // §8.2 and §2.2 Kubeconfig: no machine type yet.
  if (method == "EtcdMemberList") {
    return grpc::Status(grpc::UNIMPLEMENTED,
                        "machine type is not set, cannot use etcd API");
  }
  if (method == "Kubeconfig") {
    return grpc::Status(grpc::UNIMPLEMENTED,
                        "machine type is not set, cannot use kubeconfig API");
  }
  // §8.3 step 1: without a config the CRI never comes up.
  if (method == "Bootstrap") {
    return grpc::Status(grpc::FAILED_PRECONDITION,
                        "bootstrap is not available yet");
  }
  return std::nullopt;
}

grpc::Status TalosSimulator::Authorize(grpc::ServerContext* ctx,
                                       const std::vector<std::string>& roles) {
  std::vector<grpc::string_ref> certs =
      ctx->auth_context()->FindPropertyValues("x509_pem_cert");
  if (certs.empty()) {
    return grpc::Status(grpc::UNAUTHENTICATED, "certificate required");
  }
  const std::vector<std::string> orgs =
      CertificateOrganizations(std::string(certs[0].data(), certs[0].size()));
  for (const std::string& org : orgs) {
    if (org == "os:admin") return grpc::Status::OK;
    for (const std::string& role : roles) {
      if (org == role) return grpc::Status::OK;
    }
  }
  return grpc::Status(grpc::PERMISSION_DENIED, "not authorized");
}

void TalosSimulator::After(absl::Duration delay,
                           std::function<void(TalosSimulator&)> fn) {
  std::weak_ptr<TalosSimulator> weak = weak_from_this();
  context_.scheduler->ScheduleAfter(delay, [weak, fn = std::move(fn)] {
    if (auto self = weak.lock()) fn(*self);
  });
}

void TalosSimulator::Log(const std::string& line) {
  if (context_.log) context_.log(absl::StrCat("talos: ", line));
}

bool TalosSimulator::VipIsUp() const {
  const WorldState state = context_.world->State();
  return std::find(state.vips_up.begin(), state.vips_up.end(), api_vip_) !=
         state.vips_up.end();
}

bool TalosSimulator::EtcdUp() const {
  return context_.world->State().etcd_bootstrapped_on.has_value();
}

bool TalosSimulator::HasEtcdData(const Node& node, bool etcd_up) const {
  return node.bootstrapped_etcd ||
         (etcd_up && node.stage == Stage::kConfigured &&
          node.config.control_plane);
}

void TalosSimulator::Subscribe() {
  std::weak_ptr<TalosSimulator> weak = shared_from_this();
  subscriptions_.push_back(
      context_.world->Subscribe<NodeBooted>([weak](const NodeBooted& e) {
        if (auto self = weak.lock()) self->OnBooted(e.node);
      }));
  subscriptions_.push_back(
      context_.world->Subscribe<VmStopped>([weak](const VmStopped& e) {
        if (auto self = weak.lock()) self->OnStopped(e.name);
      }));
  subscriptions_.push_back(
      context_.world->Subscribe<VmDeleted>([weak](const VmDeleted& e) {
        if (auto self = weak.lock()) self->OnStopped(e.name);
      }));
  subscriptions_.push_back(context_.world->Subscribe<::coldstart::lab::VipUp>(
      [weak](const ::coldstart::lab::VipUp&) {
        if (auto self = weak.lock()) self->OnVipUp();
      }));
}

void TalosSimulator::Stop() {
  for (World::SubscriptionId id : subscriptions_) {
    context_.world->Unsubscribe(id);
  }
  subscriptions_.clear();
  std::vector<std::string> names;
  {
    absl::MutexLock lock(&mu_);
    stopped_ = true;
    for (const auto& [name, node] : nodes_) names.push_back(name);
  }
  for (const std::string& name : names) StopServer(name);
}

void TalosSimulator::OnBooted(const std::string& name) {
  {
    absl::MutexLock lock(&mu_);
    auto it = nodes_.find(name);
    if (it == nodes_.end() || stopped_) return;
    Node& node = it->second;
    ++node.boot;
    // A node with a persisted config boots configured; otherwise maintenance.
    node.stage =
        node.config_yaml.empty() ? Stage::kMaintenance : Stage::kConfigured;
  }
  StopServer(name);
  StartServer(name);
}

void TalosSimulator::OnStopped(const std::string& name) {
  {
    absl::MutexLock lock(&mu_);
    auto it = nodes_.find(name);
    if (it == nodes_.end()) return;
    it->second.stage = Stage::kOff;
    ++it->second.boot;
  }
  StopServer(name);
}

void TalosSimulator::OnVipUp() {
  std::vector<std::string> start;
  {
    absl::MutexLock lock(&mu_);
    for (auto& [name, node] : nodes_) {
      if (!node.spec.control_plane && node.stage == Stage::kConfigured &&
          !node.listening) {
        start.push_back(name);
      }
    }
  }
  for (const std::string& name : start) StartServer(name);
}

}  // namespace coldstart::lab
