#include "tools/talos-bootstrap/talos_client.h"

#include <grpcpp/grpcpp.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_certificate_verifier.h>
#include <grpcpp/security/tls_credentials_options.h>
#include <zlib.h>

#include <memory>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "proto/talos/machine/machine.grpc.pb.h"

namespace coldstart {
namespace {

// Accepts any server certificate (maintenance mode has nothing to verify
// against) and records its CN.
class CapturingVerifier
    : public grpc::experimental::ExternalCertificateVerifier {
 public:
  explicit CapturingVerifier(std::shared_ptr<TalosPeer> peer,
                             std::shared_ptr<absl::Mutex> mu)
      : peer_(std::move(peer)), mu_(std::move(mu)) {}
  bool Verify(grpc::experimental::TlsCustomVerificationCheckRequest* request,
              std::function<void(grpc::Status)>,
              grpc::Status* sync_status) override {
    absl::MutexLock lock(mu_.get());
    peer_->leaf_common_name.assign(request->common_name().data(),
                                   request->common_name().size());
    *sync_status = grpc::Status::OK;
    return true;
  }
  void Cancel(grpc::experimental::TlsCustomVerificationCheckRequest*) override {
  }

 private:
  std::shared_ptr<TalosPeer> peer_;
  std::shared_ptr<absl::Mutex> mu_;
};

absl::Status FromGrpc(const grpc::Status& s, const char* method,
                      const std::string& address) {
  if (s.ok()) return absl::OkStatus();
  return absl::Status(
      static_cast<absl::StatusCode>(s.error_code()),
      absl::StrCat(method, " on ", address, ": ", s.error_message()));
}

class GrpcTalosClient : public TalosClient {
 public:
  GrpcTalosClient(std::string address, bool insecure, std::string ca,
                  std::string cert, std::string key)
      : address_(std::move(address)),
        insecure_(insecure),
        ca_(std::move(ca)),
        cert_(std::move(cert)),
        key_(std::move(key)),
        peer_(std::make_shared<TalosPeer>()),
        mu_(std::make_shared<absl::Mutex>()) {}

  std::unique_ptr<machine::MachineService::Stub> Stub() {
    grpc::experimental::TlsChannelCredentialsOptions options;
    if (insecure_) {
      options.set_verify_server_certs(false);
      options.set_check_call_host(false);
      options.set_certificate_verifier(
          grpc::experimental::ExternalCertificateVerifier::Create<
              CapturingVerifier>(peer_, mu_));
    } else {
      auto provider =
          std::make_shared<grpc::experimental::StaticDataCertificateProvider>(
              ca_, std::vector<grpc::experimental::IdentityKeyCertPair>{
                       {key_, cert_}});
      options.set_certificate_provider(provider);
      options.watch_root_certs();
      options.watch_identity_key_cert_pairs();
      options.set_verify_server_certs(true);
    }
    grpc::ChannelArguments args;
    args.SetMaxReceiveMessageSize(32 << 20);
    args.SetMaxSendMessageSize(32 << 20);
    // A fresh subchannel per client: apid restarts between calls.
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
    auto channel = grpc::CreateCustomChannel(
        address_, grpc::experimental::TlsCredentials(options), args);
    return machine::MachineService::NewStub(channel);
  }

  void Prepare(grpc::ClientContext& ctx) {
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
  }

  absl::StatusOr<machine::ApplyConfigurationResponse> Apply(
      const machine::ApplyConfigurationRequest& request) override {
    grpc::ClientContext ctx;
    Prepare(ctx);
    machine::ApplyConfigurationResponse response;
    grpc::Status s = Stub()->ApplyConfiguration(&ctx, request, &response);
    if (!s.ok()) return FromGrpc(s, "ApplyConfiguration", address_);
    return response;
  }
  absl::StatusOr<machine::BootstrapResponse> Bootstrap() override {
    grpc::ClientContext ctx;
    Prepare(ctx);
    machine::BootstrapResponse response;
    grpc::Status s =
        Stub()->Bootstrap(&ctx, machine::BootstrapRequest(), &response);
    if (!s.ok()) return FromGrpc(s, "Bootstrap", address_);
    return response;
  }
  absl::StatusOr<machine::VersionResponse> Version() override {
    grpc::ClientContext ctx;
    Prepare(ctx);
    machine::VersionResponse response;
    grpc::Status s =
        Stub()->Version(&ctx, google::protobuf::Empty(), &response);
    if (!s.ok()) return FromGrpc(s, "Version", address_);
    return response;
  }
  absl::StatusOr<machine::EtcdMemberListResponse> EtcdMemberList() override {
    grpc::ClientContext ctx;
    Prepare(ctx);
    machine::EtcdMemberListResponse response;
    grpc::Status s = Stub()->EtcdMemberList(
        &ctx, machine::EtcdMemberListRequest(), &response);
    if (!s.ok()) return FromGrpc(s, "EtcdMemberList", address_);
    return response;
  }
  absl::StatusOr<machine::ServiceListResponse> ServiceList() override {
    grpc::ClientContext ctx;
    Prepare(ctx);
    machine::ServiceListResponse response;
    grpc::Status s =
        Stub()->ServiceList(&ctx, google::protobuf::Empty(), &response);
    if (!s.ok()) return FromGrpc(s, "ServiceList", address_);
    return response;
  }
  absl::StatusOr<std::string> Kubeconfig() override {
    grpc::ClientContext ctx;
    Prepare(ctx);
    auto reader = Stub()->Kubeconfig(&ctx, google::protobuf::Empty());
    std::string bytes;
    common::Data data;
    while (reader->Read(&data)) bytes += data.bytes();
    grpc::Status s = reader->Finish();
    if (!s.ok()) return FromGrpc(s, "Kubeconfig", address_);
    return bytes;
  }
  TalosPeer peer() const override {
    absl::MutexLock lock(mu_.get());
    return *peer_;
  }

 private:
  std::string address_;
  bool insecure_;
  std::string ca_, cert_, key_;
  std::shared_ptr<TalosPeer> peer_;
  std::shared_ptr<absl::Mutex> mu_;
};

}  // namespace

std::unique_ptr<TalosClient> TalosClient::Insecure(std::string address) {
  return std::make_unique<GrpcTalosClient>(std::move(address), true, "", "",
                                           "");
}

std::unique_ptr<TalosClient> TalosClient::Mutual(std::string address,
                                                 std::string os_ca_pem,
                                                 std::string client_cert_pem,
                                                 std::string client_key_pem) {
  return std::make_unique<GrpcTalosClient>(
      std::move(address), false, std::move(os_ca_pem),
      std::move(client_cert_pem), std::move(client_key_pem));
}

absl::StatusOr<std::string> ExtractKubeconfig(const std::string& gzip_tar) {
  z_stream zs{};
  if (inflateInit2(&zs, 15 + 16) != Z_OK) {
    return absl::InternalError("zlib");
  }
  std::string tar;
  char buf[16384];
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(gzip_tar.data()));
  zs.avail_in = gzip_tar.size();
  int rc = Z_OK;
  while (rc == Z_OK) {
    zs.next_out = reinterpret_cast<Bytef*>(buf);
    zs.avail_out = sizeof(buf);
    rc = inflate(&zs, Z_NO_FLUSH);
    tar.append(buf, sizeof(buf) - zs.avail_out);
  }
  inflateEnd(&zs);
  if (rc != Z_STREAM_END) {
    return absl::InvalidArgumentError("kubeconfig stream is not valid gzip");
  }
  if (tar.size() < 512 || tar.compare(0, 10, "kubeconfig") != 0 ||
      tar[10] != '\0') {
    return absl::InvalidArgumentError(
        "kubeconfig stream: first tar entry is not \"kubeconfig\"");
  }
  std::string size_text;
  for (int i = 124; i < 136 && tar[i] >= '0' && tar[i] <= '7'; ++i) {
    size_text += tar[i];
  }
  uint64_t size = 0;
  for (char c : size_text) size = size * 8 + (c - '0');
  if (size_text.empty() || tar.size() < 512 + size) {
    return absl::InvalidArgumentError("kubeconfig stream is truncated");
  }
  return tar.substr(512, size);
}

}  // namespace coldstart
