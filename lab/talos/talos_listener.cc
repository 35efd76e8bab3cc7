// A node's gRPC listener: maintenance TLS (per-boot Ed25519 cert, no client
// cert, 4 MiB) or configured mTLS (apid cert from the OS CA, client certs
// verified against it with apid's EKU rule, 32 MiB) — facts/talos.md §0, §1.
#include <grpcpp/grpcpp.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_certificate_verifier.h>
#include <grpcpp/security/tls_credentials_options.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "lab/talos/talos_simulator.h"

namespace coldstart::lab {

namespace {

constexpr int kMaintenanceMaxRequest = 4 << 20;  // gRPC default (≤1.12)
constexpr int kConfiguredMaxRequest = 32 << 20;  // GRPCMaxMessageSize

// apid's client-certificate rule on top of gRPC's chain verification.
class ExtKeyUsageVerifier
    : public grpc::experimental::ExternalCertificateVerifier {
 public:
  bool Verify(grpc::experimental::TlsCustomVerificationCheckRequest* request,
              std::function<void(grpc::Status)>,
              grpc::Status* sync_status) override {
    // On the server side OpenSSL's peer chain leaves out the peer's own
    // certificate: check the leaf and the rest of the chain.
    const std::string chain =
        absl::StrCat(absl::string_view(request->peer_cert().data(),
                                       request->peer_cert().size()),
                     absl::string_view(request->peer_cert_full_chain().data(),
                                       request->peer_cert_full_chain().size()));
    absl::Status status = CheckClientChainExtKeyUsage(chain);
    *sync_status = status.ok() ? grpc::Status::OK
                               : grpc::Status(grpc::UNAUTHENTICATED,
                                              std::string(status.message()));
    return true;
  }
  void Cancel(grpc::experimental::TlsCustomVerificationCheckRequest*) override {
  }
};

}  // namespace

std::shared_ptr<grpc::ServerCredentials> TalosSimulator::MaintenanceCredentials(
    const NodeSpec& spec, grpc::ServerBuilder& builder) {
  absl::StatusOr<PemKeyPair> cert =
      IssueMaintenanceCertificate({spec.ip}, spec.name);
  if (!cert.ok()) {
    Log(absl::StrCat(spec.name,
                     ": maintenance certificate: ", cert.status().ToString()));
    return nullptr;
  }
  grpc::SslServerCredentialsOptions options(
      GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  options.pem_key_cert_pairs.push_back({cert->key_pem, cert->cert_pem});
  builder.SetMaxReceiveMessageSize(kMaintenanceMaxRequest);
  return grpc::SslServerCredentials(options);
}

absl::StatusOr<PemKeyPair> TalosSimulator::ApidCertificate(
    const NodeSpec& spec, const TalosMachineConfig& config) {
  std::vector<std::string> sans = config.cert_sans;
  sans.push_back(spec.ip);
  if (config.control_plane) {
    return IssueApidCertificate(config.os_ca_cert_pem, config.os_ca_key_pem,
                                spec.name, sans);
  }
  // trustd on a control plane signs the worker's apid certificate.
  absl::MutexLock lock(&mu_);
  for (const auto& [other_name, other] : nodes_) {
    if (other.stage == Stage::kConfigured && other.config.control_plane &&
        other.config.os_ca_cert_pem == config.os_ca_cert_pem) {
      return IssueApidCertificate(other.config.os_ca_cert_pem,
                                  other.config.os_ca_key_pem, spec.name, sans);
    }
  }
  return absl::UnknownError("worker");
}

std::shared_ptr<grpc::ServerCredentials> TalosSimulator::ConfiguredCredentials(
    const NodeSpec& spec, const TalosMachineConfig& config,
    grpc::ServerBuilder& builder, PemKeyPair* apid) {
  if (!spec.control_plane && !VipIsUp()) return nullptr;  // no trustd yet
  absl::StatusOr<PemKeyPair> cert = ApidCertificate(spec, config);
  if (!cert.ok()) {
    Log(absl::StrCat(spec.name,
                     ": apid certificate: ", cert.status().ToString()));
    return nullptr;
  }
  *apid = *cert;
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
  builder.SetMaxReceiveMessageSize(kConfiguredMaxRequest);
  return grpc::experimental::TlsServerCredentials(options);
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
    credentials = MaintenanceCredentials(spec, builder);
  } else if (stage == Stage::kConfigured) {
    credentials = ConfiguredCredentials(spec, config, builder, &apid);
  }
  if (credentials == nullptr) return;
  std::unique_ptr<grpc::Service> service =
      MakeNodeService(weak_from_this(), name);
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

}  // namespace coldstart::lab
