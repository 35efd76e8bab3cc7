#include "lab/talos/talos_module.h"

#include <arpa/inet.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_certificate_verifier.h>
#include <grpcpp/security/tls_credentials_options.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "httplib.h"
#include "lab/faults/grpc_fault.h"
#include "lab/talos/config_validation.h"
#include "lab/talos/talos_pki.h"
#include "nlohmann/json.hpp"
#include "proto/talos/machine/machine.grpc.pb.h"

namespace coldstart::lab {

namespace {

constexpr char kMethodPrefix[] = "/machine.MachineService/";
constexpr int kMaintenanceMaxRequest = 4 << 20;  // gRPC default (≤1.12)
constexpr int kConfiguredMaxRequest = 32 << 20;  // GRPCMaxMessageSize

enum class Stage { kOff, kMaintenance, kApplying, kConfigured, kRebooting };

const char* StageName(Stage s) {
  switch (s) {
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

// apid's client-certificate rule on top of gRPC's chain verification.
class ExtKeyUsageVerifier
    : public grpc::experimental::ExternalCertificateVerifier {
 public:
  bool Verify(grpc::experimental::TlsCustomVerificationCheckRequest* request,
              std::function<void(grpc::Status)>,
              grpc::Status* sync_status) override {
    std::string chain(request->peer_cert_full_chain().data(),
                      request->peer_cert_full_chain().size());
    if (chain.empty()) {
      chain.assign(request->peer_cert().data(), request->peer_cert().size());
    }
    absl::Status status = CheckClientChainExtKeyUsage(chain);
    *sync_status = status.ok() ? grpc::Status::OK
                               : grpc::Status(grpc::UNAUTHENTICATED,
                                              std::string(status.message()));
    return true;
  }
  void Cancel(grpc::experimental::TlsCustomVerificationCheckRequest*) override {
  }
};

// One regular file "kubeconfig" (0600) in an unterminated ustar stream,
// gzip'd (facts/talos.md §2.2).
std::string GzipTarKubeconfig(const std::string& content) {
  std::string header(512, '\0');
  std::memcpy(&header[0], "kubeconfig", 10);
  std::memcpy(&header[100], "0000600", 7);
  std::memcpy(&header[108], "0000000", 7);
  std::memcpy(&header[116], "0000000", 7);
  char size[12];
  snprintf(size, sizeof(size), "%011o", static_cast<unsigned>(content.size()));
  std::memcpy(&header[124], size, 11);
  char mtime[12];
  snprintf(mtime, sizeof(mtime), "%011lo",
           static_cast<unsigned long>(absl::ToUnixSeconds(absl::Now())));
  std::memcpy(&header[136], mtime, 11);
  header[156] = '0';
  std::memcpy(&header[257],
              "ustar\0"
              "00",
              8);
  std::memset(&header[148], ' ', 8);
  unsigned sum = 0;
  for (unsigned char c : header) sum += c;
  char checksum[8];
  snprintf(checksum, sizeof(checksum), "%06o", sum);
  std::memcpy(&header[148], checksum, 7);
  const std::string tar = header + content;

  z_stream zs{};
  deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8,
               Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&zs, tar.size()) + 64, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(tar.data()));
  zs.avail_in = tar.size();
  zs.next_out = reinterpret_cast<Bytef*>(&out[0]);
  zs.avail_out = out.size();
  deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

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

}  // namespace

// --- The simulator: nodes, their servers, the world ------------------------

class TalosSimulator : public std::enable_shared_from_this<TalosSimulator> {
 public:
  struct NodeSpec {
    std::string name;
    std::string ip;
    bool control_plane = false;
  };

  TalosSimulator(ModuleContext& context, std::vector<NodeSpec> nodes, int port,
                 std::string api_vip)
      : context_(context), port_(port), api_vip_(std::move(api_vip)) {
    for (NodeSpec& n : nodes) {
      Node node;
      node.spec = n;
      nodes_.emplace(n.name, std::move(node));
    }
  }

  void Subscribe();
  void Stop();
  std::map<std::string, std::string> Listeners() const {
    std::map<std::string, std::string> out;
    for (const auto& [name, node] : nodes_) {
      out[name] = absl::StrCat(node.spec.ip, ":", port_);
    }
    return out;
  }
  int bootstrap_count() const {
    absl::MutexLock lock(&mu_);
    return bootstrap_count_;
  }
  bool stopped() const {
    absl::MutexLock lock(&mu_);
    return stopped_;
  }

  // --- RPC bodies (called by the per-node service) ---
  grpc::Status Apply(const std::string& node, grpc::ServerContext* ctx,
                     const machine::ApplyConfigurationRequest& request,
                     machine::ApplyConfigurationResponse* response);
  grpc::Status Bootstrap(const std::string& node, grpc::ServerContext* ctx,
                         machine::BootstrapResponse* response);
  grpc::Status Kubeconfig(const std::string& node, grpc::ServerContext* ctx,
                          grpc::ServerWriter<common::Data>* writer);
  grpc::Status Version(const std::string& node, grpc::ServerContext* ctx,
                       machine::VersionResponse* response);
  grpc::Status EtcdMemberList(const std::string& node, grpc::ServerContext* ctx,
                              machine::EtcdMemberListResponse* response);
  grpc::Status ServiceList(const std::string& node, grpc::ServerContext* ctx,
                           machine::ServiceListResponse* response);
  grpc::Status Reboot(const std::string& node, grpc::ServerContext* ctx,
                      machine::RebootResponse* response);
  grpc::Status Reset(const std::string& node, grpc::ServerContext* ctx,
                     const machine::ResetRequest& request,
                     machine::ResetResponse* response);

  // Fault decision + request log around an RPC body.
  grpc::Status Call(const std::string& method, const std::string& log_suffix,
                    const std::function<grpc::Status()>& body) {
    FaultDecision decision = context_.faults->Decide(
        "talos", "GRPC", absl::StrCat(kMethodPrefix, method));
    grpc::Status status;
    if (std::optional<grpc::Status> fault = GrpcStatusFor(decision)) {
      status = *fault;
    } else {
      status = body();
    }
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

 private:
  struct Node {
    NodeSpec spec;
    Stage stage = Stage::kOff;
    uint64_t boot = 0;  // incremented per boot; stale callbacks compare it
    std::string config_yaml;
    TalosMachineConfig config;
    PemKeyPair apid_cert;
    std::unique_ptr<grpc::Server> server;
    std::unique_ptr<grpc::Service> service;
    bool listening = false;
    bool tailscale_logged_in = false;
  };

  void OnBooted(const std::string& name);
  void OnStopped(const std::string& name);
  void OnVipUp();
  // Starts the node's listener for its current stage; must not hold mu_.
  void StartServer(const std::string& name);
  void StopServer(const std::string& name);
  // Stops the node's API shortly (the reply to Reboot/Reset goes out first)
  // and, with `boot_again`, boots it after the boot latency unless a later
  // reboot (another `boot` number) came in between.
  void GoDown(const std::string& name, uint64_t boot, bool boot_again);
  void FinishApply(const std::string& name, uint64_t boot);
  void TailscaleLogin(const std::string& name, int attempt);
  void Log(const std::string& line) {
    if (context_.log) context_.log(absl::StrCat("talos: ", line));
  }
  bool VipIsUp() const {
    const WorldState state = context_.world->State();
    return std::find(state.vips_up.begin(), state.vips_up.end(), api_vip_) !=
           state.vips_up.end();
  }
  bool EtcdUp() const {
    return context_.world->State().etcd_bootstrapped_on.has_value();
  }
  // os:admin (or any of `roles`) in the client cert; PermissionDenied.
  grpc::Status Authorize(grpc::ServerContext* ctx,
                         const std::vector<std::string>& roles);

  ModuleContext& context_;
  const int port_;
  const std::string api_vip_;
  std::vector<World::SubscriptionId> subscriptions_;
  mutable absl::Mutex mu_;
  std::map<std::string, Node> nodes_ ABSL_GUARDED_BY(mu_);
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  bool etcd_bootstrap_started_ ABSL_GUARDED_BY(mu_) = false;
  int bootstrap_count_ ABSL_GUARDED_BY(mu_) = 0;
  bool cas_shared_ ABSL_GUARDED_BY(mu_) = false;
};

namespace {

class NodeService final : public machine::MachineService::Service {
 public:
  NodeService(std::weak_ptr<TalosSimulator> sim, std::string node)
      : sim_(std::move(sim)), node_(std::move(node)) {}

  grpc::Status ApplyConfiguration(
      grpc::ServerContext* ctx, const machine::ApplyConfigurationRequest* req,
      machine::ApplyConfigurationResponse* resp) override {
    auto sim = sim_.lock();
    if (!sim) return grpc::Status(grpc::UNAVAILABLE, "shutting down");
    return sim->Call("ApplyConfiguration", req->dry_run() ? "#dry-run" : "",
                     [&] { return sim->Apply(node_, ctx, *req, resp); });
  }
  grpc::Status Bootstrap(grpc::ServerContext* ctx,
                         const machine::BootstrapRequest*,
                         machine::BootstrapResponse* resp) override {
    auto sim = sim_.lock();
    if (!sim) return grpc::Status(grpc::UNAVAILABLE, "shutting down");
    return sim->Call("Bootstrap", "",
                     [&] { return sim->Bootstrap(node_, ctx, resp); });
  }
  grpc::Status Kubeconfig(grpc::ServerContext* ctx,
                          const google::protobuf::Empty*,
                          grpc::ServerWriter<common::Data>* writer) override {
    auto sim = sim_.lock();
    if (!sim) return grpc::Status(grpc::UNAVAILABLE, "shutting down");
    return sim->Call("Kubeconfig", "",
                     [&] { return sim->Kubeconfig(node_, ctx, writer); });
  }
  grpc::Status Version(grpc::ServerContext* ctx, const google::protobuf::Empty*,
                       machine::VersionResponse* resp) override {
    auto sim = sim_.lock();
    if (!sim) return grpc::Status(grpc::UNAVAILABLE, "shutting down");
    return sim->Call("Version", "",
                     [&] { return sim->Version(node_, ctx, resp); });
  }
  grpc::Status EtcdMemberList(grpc::ServerContext* ctx,
                              const machine::EtcdMemberListRequest*,
                              machine::EtcdMemberListResponse* resp) override {
    auto sim = sim_.lock();
    if (!sim) return grpc::Status(grpc::UNAVAILABLE, "shutting down");
    return sim->Call("EtcdMemberList", "",
                     [&] { return sim->EtcdMemberList(node_, ctx, resp); });
  }
  grpc::Status ServiceList(grpc::ServerContext* ctx,
                           const google::protobuf::Empty*,
                           machine::ServiceListResponse* resp) override {
    auto sim = sim_.lock();
    if (!sim) return grpc::Status(grpc::UNAVAILABLE, "shutting down");
    return sim->Call("ServiceList", "",
                     [&] { return sim->ServiceList(node_, ctx, resp); });
  }
  grpc::Status Reboot(grpc::ServerContext* ctx, const machine::RebootRequest*,
                      machine::RebootResponse* resp) override {
    auto sim = sim_.lock();
    if (!sim) return grpc::Status(grpc::UNAVAILABLE, "shutting down");
    return sim->Call("Reboot", "",
                     [&] { return sim->Reboot(node_, ctx, resp); });
  }
  grpc::Status Reset(grpc::ServerContext* ctx, const machine::ResetRequest* req,
                     machine::ResetResponse* resp) override {
    auto sim = sim_.lock();
    if (!sim) return grpc::Status(grpc::UNAVAILABLE, "shutting down");
    return sim->Call("Reset", "",
                     [&] { return sim->Reset(node_, ctx, *req, resp); });
  }

 private:
  std::weak_ptr<TalosSimulator> sim_;
  std::string node_;
};

}  // namespace

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

void TalosSimulator::StopServer(const std::string& name) {
  std::unique_ptr<grpc::Server> server;
  std::unique_ptr<grpc::Service> service;
  {
    absl::MutexLock lock(&mu_);
    auto it = nodes_.find(name);
    if (it == nodes_.end()) return;
    server = std::move(it->second.server);
    service = std::move(it->second.service);
    it->second.listening = false;
  }
  if (server) {
    server->Shutdown(absl::ToChronoTime(absl::Now() + absl::Milliseconds(200)));
    server->Wait();
  }
}

void TalosSimulator::StartServer(const std::string& name) {
  Stage stage;
  NodeSpec spec;
  TalosMachineConfig config;
  {
    absl::MutexLock lock(&mu_);
    auto it = nodes_.find(name);
    if (it == nodes_.end() || stopped_ || it->second.server) return;
    stage = it->second.stage;
    spec = it->second.spec;
    config = it->second.config;
  }
  grpc::ServerBuilder builder;
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  std::shared_ptr<grpc::ServerCredentials> credentials;
  PemKeyPair apid;
  if (stage == Stage::kMaintenance) {
    absl::StatusOr<PemKeyPair> cert =
        IssueMaintenanceCertificate({spec.ip}, spec.name);
    if (!cert.ok()) {
      Log(absl::StrCat(
          name, ": maintenance certificate: ", cert.status().ToString()));
      return;
    }
    grpc::SslServerCredentialsOptions options(
        GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
    options.pem_key_cert_pairs.push_back({cert->key_pem, cert->cert_pem});
    credentials = grpc::SslServerCredentials(options);
    builder.SetMaxReceiveMessageSize(kMaintenanceMaxRequest);
  } else if (stage == Stage::kConfigured) {
    if (!spec.control_plane && !VipIsUp()) return;  // no trustd-signed cert yet
    std::vector<std::string> sans = config.cert_sans;
    sans.push_back(spec.ip);
    absl::StatusOr<PemKeyPair> cert =
        config.control_plane
            ? IssueApidCertificate(config.os_ca_cert_pem, config.os_ca_key_pem,
                                   spec.name, sans)
            : absl::StatusOr<PemKeyPair>(absl::UnknownError("worker"));
    if (!config.control_plane) {
      // trustd on a control plane signs the worker's apid certificate.
      absl::MutexLock lock(&mu_);
      for (const auto& [other_name, other] : nodes_) {
        if (other.stage == Stage::kConfigured && other.config.control_plane &&
            other.config.os_ca_cert_pem == config.os_ca_cert_pem) {
          cert =
              IssueApidCertificate(other.config.os_ca_cert_pem,
                                   other.config.os_ca_key_pem, spec.name, sans);
          break;
        }
      }
    }
    if (!cert.ok()) {
      Log(absl::StrCat(name, ": apid certificate: ", cert.status().ToString()));
      return;
    }
    apid = *cert;
    auto provider =
        std::make_shared<grpc::experimental::StaticDataCertificateProvider>(
            config.os_ca_cert_pem,
            std::vector<grpc::experimental::IdentityKeyCertPair>{
                {cert->key_pem, cert->cert_pem}});
    grpc::experimental::TlsServerCredentialsOptions options(provider);
    options.watch_root_certs();
    options.watch_identity_key_cert_pairs();
    options.set_cert_request_type(
        GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
    options.set_certificate_verifier(
        grpc::experimental::ExternalCertificateVerifier::Create<
            ExtKeyUsageVerifier>());
    credentials = grpc::experimental::TlsServerCredentials(options);
    builder.SetMaxReceiveMessageSize(kConfiguredMaxRequest);
  } else {
    return;
  }
  auto service = std::make_unique<NodeService>(weak_from_this(), name);
  int selected = 0;
  builder.AddListeningPort(absl::StrCat(spec.ip, ":", port_), credentials,
                           &selected);
  builder.RegisterService(service.get());
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server || selected == 0) {
    Log(absl::StrCat(name, ": cannot listen on ", spec.ip, ":", port_));
    return;
  }
  Log(absl::StrCat(name, " (", spec.ip, ":", port_, ") ", StageName(stage)));
  absl::MutexLock lock(&mu_);
  Node& node = nodes_.at(name);
  if (stopped_ || node.server) {
    server->Shutdown();
    return;
  }
  node.server = std::move(server);
  node.service = std::move(service);
  node.listening = true;
  node.apid_cert = apid;
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
    const std::string diff = LineDiff(current, request.data());
    reply->set_mode(maintenance
                        ? machine::ApplyConfigurationRequest::REBOOT
                        : machine::ApplyConfigurationRequest::NO_REBOOT);
    reply->set_mode_details(absl::StrCat(
        "Dry run summary:\nApplied configuration without a reboot (skipped in "
        "dry-run).\n\nConfig diff:\n\n",
        diff.empty() ? "No changes." : diff));
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
  // ≤1.12 maintenance replies: mode unset, no details.
  std::weak_ptr<TalosSimulator> weak = weak_from_this();
  // The maintenance API goes away right after the reply; the node comes back
  // configured after config-apply (disk image: no install, no reboot).
  context_.scheduler->ScheduleAfter(absl::Milliseconds(20), [weak, name] {
    if (auto self = weak.lock()) self->StopServer(name);
  });
  context_.scheduler->ScheduleAfter(
      std::max(absl::Milliseconds(40),
               context_.latency->Delay(Step::kConfigApply)),
      [weak, name, boot] {
        if (auto self = weak.lock()) self->FinishApply(name, boot);
      });
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

void TalosSimulator::TailscaleLogin(const std::string& name, int attempt) {
  std::map<std::string, std::string> env;
  {
    absl::MutexLock lock(&mu_);
    Node& node = nodes_.at(name);
    if (stopped_ || node.stage != Stage::kConfigured ||
        node.tailscale_logged_in) {
      return;
    }
    auto it = node.config.extension_env.find("tailscale");
    if (it == node.config.extension_env.end()) return;
    env = it->second;
  }
  std::string login_server;
  for (absl::string_view arg : absl::StrSplit(env["TS_EXTRA_ARGS"], ' ')) {
    if (absl::ConsumePrefix(&arg, "--login-server="))
      login_server = std::string(arg);
  }
  std::string key =
      env.count("TS_AUTHKEY") ? env["TS_AUTHKEY"] : env["TS_AUTH_KEY"];
  if (login_server.empty() || key.empty()) return;
  nlohmann::json body = {
      {"authkey", key},
      {"hostname", env.count("TS_HOSTNAME") ? env["TS_HOSTNAME"] : name},
      {"routes", nlohmann::json::array()}};
  for (absl::string_view route :
       absl::StrSplit(env["TS_ROUTES"], ',', absl::SkipEmpty())) {
    body["routes"].push_back(std::string(route));
  }
  httplib::Client client(login_server);
  client.set_ca_cert_path(
      absl::StrCat(context_.workdir, "/lab-ca.pem").c_str());
  client.enable_server_certificate_verification(true);
  client.set_connection_timeout(2, 0);
  auto res =
      client.Post("/_lab/tailscale/login", body.dump(), "application/json");
  if (res && res->status == 200) {
    absl::MutexLock lock(&mu_);
    nodes_.at(name).tailscale_logged_in = true;
    return;
  }
  Log(absl::StrCat(name, ": tailscale login to ", login_server, " failed (",
                   res ? absl::StrCat("HTTP ", res->status, " ", res->body)
                       : std::string("no connection"),
                   ")"));
  // containerboot retries; a refused key stays refused (as on a real node).
  if (res && res->status >= 400 && res->status < 500) return;
  if (attempt >= 20) return;
  std::weak_ptr<TalosSimulator> weak = weak_from_this();
  context_.scheduler->ScheduleAfter(absl::Milliseconds(200),
                                    [weak, name, attempt] {
                                      if (auto self = weak.lock())
                                        self->TailscaleLogin(name, attempt + 1);
                                    });
}

grpc::Status TalosSimulator::Bootstrap(const std::string& name,
                                       grpc::ServerContext* ctx,
                                       machine::BootstrapResponse* response) {
  grpc::Status auth = Authorize(ctx, {});
  if (!auth.ok()) return auth;
  uint64_t boot;
  {
    absl::MutexLock lock(&mu_);
    Node& node = nodes_.at(name);
    if (!node.config.control_plane) {
      return grpc::Status(grpc::FAILED_PRECONDITION,
                          "bootstrap can only be performed on a control plane "
                          "node");
    }
    if (node.config.etcd_ca_cert_pem.empty()) {
      return grpc::Status(grpc::INVALID_ARGUMENT,
                          "etcd is not configured (no cluster.etcd.ca)");
    }
    if (etcd_bootstrap_started_) {
      return grpc::Status(grpc::ALREADY_EXISTS,
                          "etcd data directory is not empty");
    }
    etcd_bootstrap_started_ = true;
    ++bootstrap_count_;
    boot = node.boot;
  }
  response->add_messages();
  std::weak_ptr<TalosSimulator> weak = weak_from_this();
  context_.scheduler->ScheduleAfter(
      context_.latency->Delay(Step::kEtcdBootstrap), [weak, name, boot] {
        auto self = weak.lock();
        if (!self) return;
        {
          absl::MutexLock lock(&self->mu_);
          if (self->stopped_ || self->nodes_.at(name).boot != boot) return;
        }
        self->context_.world->Publish(EtcdBootstrapped{name});
      });
  return grpc::Status::OK;
}

grpc::Status TalosSimulator::Kubeconfig(
    const std::string& name, grpc::ServerContext* ctx,
    grpc::ServerWriter<common::Data>* writer) {
  grpc::Status auth = Authorize(ctx, {});
  if (!auth.ok()) return auth;
  TalosMachineConfig config;
  {
    absl::MutexLock lock(&mu_);
    config = nodes_.at(name).config;
  }
  if (!config.control_plane) {
    return grpc::Status(grpc::UNIMPLEMENTED,
                        "kubeconfig is only available on control plane nodes");
  }
  absl::StatusOr<PemKeyPair> admin = IssueKubernetesAdminCertificate(
      config.kubernetes_ca_cert_pem, config.kubernetes_ca_key_pem);
  if (!admin.ok()) {
    return grpc::Status(grpc::FAILED_PRECONDITION,
                        std::string(admin.status().message()));
  }
  const std::string user = absl::StrCat("admin@", config.cluster_name);
  const std::string kubeconfig = absl::StrCat(
      "apiVersion: v1\nkind: Config\nclusters:\n    - name: ",
      config.cluster_name,
      "\n      cluster:\n        server: ", config.endpoint,
      "\n        certificate-authority-data: ",
      absl::Base64Escape(config.kubernetes_ca_cert_pem),
      "\nusers:\n    - name: ", user,
      "\n      user:\n        client-certificate-data: ",
      absl::Base64Escape(admin->cert_pem),
      "\n        client-key-data: ", absl::Base64Escape(admin->key_pem),
      "\ncontexts:\n    - context:\n        cluster: ", config.cluster_name,
      "\n        namespace: default\n        user: ", user,
      "\n      name: ", user, "\ncurrent-context: ", user, "\n");
  common::Data data;
  data.set_bytes(GzipTarKubeconfig(kubeconfig));
  writer->Write(data);
  return grpc::Status::OK;
}

grpc::Status TalosSimulator::Version(const std::string& name,
                                     grpc::ServerContext* ctx,
                                     machine::VersionResponse* response) {
  {
    absl::MutexLock lock(&mu_);
    if (nodes_.at(name).stage == Stage::kMaintenance) {
      return grpc::Status(grpc::UNIMPLEMENTED,
                          "API is not implemented in maintenance mode");
    }
  }
  grpc::Status auth = Authorize(ctx, {"os:operator", "os:reader"});
  if (!auth.ok()) return auth;
  machine::Version* v = response->add_messages();
  const std::string tag = context_.spec->spec().versions().talos().empty()
                              ? "v1.9.1"
                              : context_.spec->spec().versions().talos();
  v->mutable_version()->set_tag(tag);
  v->mutable_version()->set_os("Talos");
  v->mutable_version()->set_arch("amd64");
  v->mutable_version()->set_go_version("go1.23.4");
  v->mutable_platform()->set_name("nocloud");
  v->mutable_platform()->set_mode("cloud");
  v->mutable_features()->set_rbac(true);
  return grpc::Status::OK;
}

grpc::Status TalosSimulator::EtcdMemberList(
    const std::string& name, grpc::ServerContext* ctx,
    machine::EtcdMemberListResponse* response) {
  grpc::Status auth =
      Authorize(ctx, {"os:operator", "os:reader", "os:etcd:backup"});
  if (!auth.ok()) return auth;
  const bool up = EtcdUp();
  absl::MutexLock lock(&mu_);
  if (!nodes_.at(name).config.control_plane) {
    return grpc::Status(grpc::UNIMPLEMENTED,
                        "etcd is only available on control plane nodes");
  }
  if (!up) {
    return grpc::Status(grpc::UNAVAILABLE,
                        "etcd is not running: context deadline exceeded");
  }
  machine::EtcdMembers* members = response->add_messages();
  uint64_t id = 0x8e9e05c52164694dULL;
  for (const auto& [other_name, node] : nodes_) {
    if (node.stage != Stage::kConfigured || !node.config.control_plane)
      continue;
    machine::EtcdMember* m = members->add_members();
    m->set_id(id += 0x1111);
    m->set_hostname(other_name);
    m->add_peer_urls(absl::StrCat("https://", node.spec.ip, ":2380"));
    m->add_client_urls(absl::StrCat("https://", node.spec.ip, ":2379"));
    members->add_legacy_members(other_name);
  }
  return grpc::Status::OK;
}

grpc::Status TalosSimulator::ServiceList(
    const std::string& name, grpc::ServerContext* ctx,
    machine::ServiceListResponse* response) {
  grpc::Status auth = Authorize(ctx, {"os:operator", "os:reader"});
  if (!auth.ok()) return auth;
  bool control_plane, tailscale;
  {
    absl::MutexLock lock(&mu_);
    control_plane = nodes_.at(name).config.control_plane;
    tailscale = nodes_.at(name).tailscale_logged_in;
  }
  const bool etcd = EtcdUp();
  machine::ServiceList* list = response->add_messages();
  auto add = [list](const std::string& id, bool running) {
    machine::ServiceInfo* s = list->add_services();
    s->set_id(id);
    s->set_state(running ? "Running" : "Waiting");
    s->mutable_health()->set_healthy(running);
    s->mutable_health()->set_unknown(!running);
  };
  add("apid", true);
  add("containerd", true);
  add("cri", true);
  if (control_plane) add("etcd", etcd);
  add("ext-tailscale", tailscale);
  add("kubelet", etcd);
  add("machined", true);
  if (control_plane) add("trustd", true);
  add("udevd", true);
  return grpc::Status::OK;
}

grpc::Status TalosSimulator::Reboot(const std::string& name,
                                    grpc::ServerContext* ctx,
                                    machine::RebootResponse* response) {
  grpc::Status auth = Authorize(ctx, {"os:operator"});
  if (!auth.ok()) return auth;
  response->add_messages()->set_actor_id("lab");
  uint64_t boot;
  {
    absl::MutexLock lock(&mu_);
    Node& node = nodes_.at(name);
    node.stage = Stage::kRebooting;
    boot = ++node.boot;
  }
  GoDown(name, boot, /*boot_again=*/true);
  return grpc::Status::OK;
}

grpc::Status TalosSimulator::Reset(const std::string& name,
                                   grpc::ServerContext* ctx,
                                   const machine::ResetRequest& request,
                                   machine::ResetResponse* response) {
  grpc::Status auth = Authorize(ctx, {});
  if (!auth.ok()) return auth;
  bool wipe_state = request.system_partitions_to_wipe_size() == 0;
  for (const auto& p : request.system_partitions_to_wipe()) {
    wipe_state |= p.label() == "STATE" && p.wipe();
  }
  response->add_messages()->set_actor_id("lab");
  uint64_t boot;
  {
    absl::MutexLock lock(&mu_);
    Node& node = nodes_.at(name);
    if (wipe_state) {
      node.config_yaml.clear();
      node.config = TalosMachineConfig();
      node.tailscale_logged_in = false;
    }
    node.stage = Stage::kRebooting;
    boot = ++node.boot;
  }
  GoDown(name, boot, /*boot_again=*/request.reboot());
  return grpc::Status::OK;
}

void TalosSimulator::GoDown(const std::string& name, uint64_t boot,
                            bool boot_again) {
  std::weak_ptr<TalosSimulator> weak = weak_from_this();
  context_.scheduler->ScheduleAfter(absl::Milliseconds(20), [weak, name] {
    if (auto self = weak.lock()) self->StopServer(name);
  });
  if (!boot_again) return;
  context_.scheduler->ScheduleAfter(
      std::max(absl::Milliseconds(40), context_.latency->Delay(Step::kBoot)),
      [weak, name, boot] {
        auto self = weak.lock();
        if (!self) return;
        {
          absl::MutexLock lock(&self->mu_);
          // A later reboot or reset superseded this one.
          if (self->nodes_.at(name).boot != boot) return;
        }
        self->OnBooted(name);
      });
}

// --- Module -----------------------------------------------------------------

namespace {

// talos.boot_when_exists: boots `nodes` once `path` exists (checked every
// 20 ms on the lab's scheduler) unless the simulator has stopped.
void BootWhenExists(std::weak_ptr<TalosSimulator> weak, ModuleContext* context,
                    std::string path,
                    std::vector<std::pair<std::string, std::string>> nodes) {
  std::shared_ptr<TalosSimulator> self = weak.lock();
  if (self == nullptr || self->stopped()) return;
  if (access(path.c_str(), F_OK) == 0) {
    if (context->log) {
      context->log(absl::StrCat("talos: ", path, " exists; booting ",
                                nodes.size(), " nodes"));
    }
    for (const auto& [name, ip] : nodes) {
      context->world->Publish(NodeBooted{name, ip});
    }
    return;
  }
  context->scheduler->ScheduleAfter(
      absl::Milliseconds(20),
      [weak, context, path = std::move(path), nodes = std::move(nodes)] {
        BootWhenExists(weak, context, path, nodes);
      });
}

}  // namespace

TalosModule::TalosModule() = default;
TalosModule::~TalosModule() { Stop(); }

absl::Status TalosModule::Start(ModuleContext& context) {
  const auto& spec = context.spec->spec();
  std::vector<TalosSimulator::NodeSpec> nodes;
  for (const auto& node : spec.nodes()) {
    nodes.push_back({node.name(), node.ip(),
                     node.role() == coldstart::v1::NODE_ROLE_CONTROL_PLANE});
  }
  int port = spec.talos().api_port() == 0
                 ? 50000
                 : static_cast<int>(spec.talos().api_port());
  if (context.any_port && !nodes.empty()) {
    // One free port for every node address (so a spec can name it once).
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    inet_pton(AF_INET, nodes.front().ip.c_str(), &addr.sin_addr);
    socklen_t len = sizeof(addr);
    if (fd < 0 ||
        bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
        getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      if (fd >= 0) close(fd);
      return absl::UnavailableError("talos: no free port");
    }
    port = ntohs(addr.sin_port);
    close(fd);
  }
  simulator_ = std::make_shared<TalosSimulator>(context, std::move(nodes), port,
                                                spec.network().api_vip());
  simulator_->Subscribe();
  auto option = [&](const char* key) {
    auto it = context.options.find(key);
    return it == context.options.end() ? std::string() : it->second;
  };
  const std::string boot = option("boot");
  if (!boot.empty() && boot != "all") {
    return absl::InvalidArgumentError("talos.boot: want all");
  }
  const std::string skip = option("boot_skip");
  const std::string when = option("boot_when_exists");
  if (boot.empty() && (!skip.empty() || !when.empty())) {
    return absl::InvalidArgumentError(
        "talos.boot_skip and talos.boot_when_exists need talos.boot=all");
  }
  std::vector<std::pair<std::string, std::string>> booting;
  if (boot == "all") {
    for (const auto& node : spec.nodes()) {
      if (node.name() != skip) booting.push_back({node.name(), node.ip()});
    }
  }
  if (!when.empty()) {
    BootWhenExists(simulator_, &context, when, std::move(booting));
  } else {
    for (const auto& [name, ip] : booting) {
      context.world->Publish(NodeBooted{name, ip});
    }
  }
  return absl::OkStatus();
}

std::map<std::string, std::string> TalosModule::Listeners() const {
  return simulator_ ? simulator_->Listeners()
                    : std::map<std::string, std::string>();
}

void TalosModule::Stop() {
  if (simulator_) simulator_->Stop();
}

int TalosModule::BootstrapCount() const {
  return simulator_ ? simulator_->bootstrap_count() : 0;
}

}  // namespace coldstart::lab
