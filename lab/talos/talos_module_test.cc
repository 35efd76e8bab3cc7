// The Talos simulator against facts/talos.md, independent of the tool that
// uses it: the module in-process on a virtual clock (so the apply and etcd
// transitions happen exactly when the test advances time), called with the
// generated machine.MachineService stub over real gRPC+TLS on loopback.
#include "lab/talos/talos_module.h"

#include <grpcpp/grpcpp.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_certificate_verifier.h>
#include <grpcpp/security/tls_credentials_options.h>
#include <zlib.h>

#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_replace.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lab/faults/fault_injector.h"
#include "lab/talos/config_validation.h"
#include "lab/talos/golden_configs.h"
#include "lab/talos/talos_pki.h"
#include "lab/world/latency.h"
#include "lab/world/scheduler.h"
#include "lab/world/world.h"
#include "lib/secrets/crypto.h"
#include "lib/secrets/secret.h"
#include "proto/talos/machine/machine.grpc.pb.h"

namespace coldstart::lab {
namespace {

using ::testing::AnyOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

// gunzip of `gz` into `out`; false on a corrupt stream.
bool GunzipForTest(const std::string& gz, std::string* out) {
  z_stream zs{};
  if (inflateInit2(&zs, 15 + 16) != Z_OK) return false;
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(gz.data()));
  zs.avail_in = gz.size();
  char buffer[16384];
  int rc;
  do {
    zs.next_out = reinterpret_cast<Bytef*>(buffer);
    zs.avail_out = sizeof(buffer);
    rc = inflate(&zs, Z_NO_FLUSH);
    out->append(buffer, sizeof(buffer) - zs.avail_out);
  } while (rc == Z_OK);
  inflateEnd(&zs);
  return rc == Z_STREAM_END;
}

// Records the server's leaf certificate; accepts any (talosctl --insecure).
class RecordingVerifier
    : public grpc::experimental::ExternalCertificateVerifier {
 public:
  explicit RecordingVerifier(std::shared_ptr<std::string> leaf_pem)
      : leaf_pem_(std::move(leaf_pem)) {}
  bool Verify(grpc::experimental::TlsCustomVerificationCheckRequest* request,
              std::function<void(grpc::Status)>,
              grpc::Status* sync_status) override {
    *leaf_pem_ =
        std::string(request->peer_cert().data(), request->peer_cert().size());
    *sync_status = grpc::Status::OK;
    return true;
  }
  void Cancel(grpc::experimental::TlsCustomVerificationCheckRequest*) override {
  }

 private:
  std::shared_ptr<std::string> leaf_pem_;
};

grpc::ChannelArguments FreshChannelArguments() {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(32 << 20);
  args.SetMaxSendMessageSize(32 << 20);
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return args;
}

// An admin-style client certificate signed by the OS CA (facts §4): key of
// the CA's type, Subject O = `roles`, EKU clientAuth (plus serverAuth when
// `also_server_auth`, which apid must refuse).
PemKeyPair ClientCertificate(const TalosMachineConfig& config,
                             const std::vector<std::string>& roles,
                             bool also_server_auth = false) {
  absl::StatusOr<Certificate> ca = Certificate::FromPem(config.os_ca_cert_pem);
  absl::StatusOr<PrivateKey> ca_key = PrivateKey::FromPem(
      Secret::FromView(NormalizeKeyPemForOpenSsl(config.os_ca_key_pem)));
  EXPECT_TRUE(ca.ok() && ca_key.ok());
  PrivateKey key = PrivateKey::GenerateEd25519();
  CertificateTemplate spec;
  spec.organizations = roles;
  spec.key_usage = kDigitalSignature;
  spec.client_auth = true;
  spec.server_auth = also_server_auth;
  spec.not_before = absl::Now() - absl::Minutes(5);
  spec.not_after = absl::Now() + absl::Hours(1);
  absl::StatusOr<Certificate> cert =
      IssueCertificate(spec, key.public_key(), *ca_key, &*ca);
  absl::StatusOr<Secret> key_pem = key.ToPem(PrivateKeyPem::kPkcs8);
  EXPECT_TRUE(cert.ok() && key_pem.ok());
  return {cert->ToPem(), std::string(key_pem->Reveal())};
}

class TalosModuleTest : public ::testing::Test {
 protected:
  TalosModuleTest()
      : world_([this] { return scheduler_.Now(); }),
        latency_(*LatencyModel::Create(1.0)),
        processes_(std::getenv("TEST_TMPDIR")) {}

  void SetUp() override {
    AddNode("ctrl-1", "127.0.1.1", coldstart::v1::NODE_ROLE_CONTROL_PLANE);
    AddNode("ctrl-2", "127.0.1.2", coldstart::v1::NODE_ROLE_CONTROL_PLANE);
    AddNode("worker-1", "127.0.2.1", coldstart::v1::NODE_ROLE_WORKER);
    spec_.mutable_spec()->mutable_network()->set_api_vip("127.0.3.1");
    auto faults = FaultInjector::Create(*ParseFaultFile(FaultText(), "test"));
    ASSERT_TRUE(faults.ok()) << faults.status();
    faults_ = std::move(*faults);
    context_.spec = &spec_;
    context_.world = &world_;
    context_.scheduler = &scheduler_;
    context_.latency = &latency_;
    context_.faults = faults_.get();
    context_.processes = &processes_;
    context_.requests = &requests_;
    context_.workdir = std::getenv("TEST_TMPDIR");
    context_.any_port = true;
    context_.log = [](const std::string&) {};
    ASSERT_TRUE(module_.Start(context_).ok());
    absl::StatusOr<TalosMachineConfig> config =
        ValidateMachineConfig(GoldenControlPlaneConfig());
    ASSERT_TRUE(config.ok()) << config.status();
    config_ = *config;
    admin_ = ClientCertificate(config_, {"os:admin"});
  }

  void TearDown() override { module_.Stop(); }

  // The lab fault rules of the test (text of a FaultFile); none by default.
  virtual std::string FaultText() const { return ""; }

  void AddNode(const std::string& name, const std::string& ip,
               coldstart::v1::NodeRole role) {
    auto* node = spec_.mutable_spec()->add_nodes();
    node->set_name(name);
    node->set_ip(ip);
    node->set_role(role);
  }

  void Boot(const std::string& node) {
    for (const auto& n : spec_.spec().nodes()) {
      if (n.name() == node) world_.Publish(NodeBooted{n.name(), n.ip()});
    }
  }

  // talosctl --insecure: no server verification, no client certificate.
  std::unique_ptr<machine::MachineService::Stub> Insecure(
      const std::string& node) {
    grpc::experimental::TlsChannelCredentialsOptions options;
    options.set_verify_server_certs(false);
    options.set_check_call_host(false);
    options.set_certificate_verifier(
        grpc::experimental::ExternalCertificateVerifier::Create<
            RecordingVerifier>(leaf_pem_));
    return machine::MachineService::NewStub(grpc::CreateCustomChannel(
        module_.Listeners().at(node),
        grpc::experimental::TlsCredentials(options), FreshChannelArguments()));
  }

  // talosctl with a talosconfig: the OS CA verifies the server, `client`
  // authenticates us.
  std::unique_ptr<machine::MachineService::Stub> Mutual(
      const std::string& node, const PemKeyPair& client) {
    auto provider =
        std::make_shared<grpc::experimental::StaticDataCertificateProvider>(
            config_.os_ca_cert_pem,
            std::vector<grpc::experimental::IdentityKeyCertPair>{
                {client.key_pem, client.cert_pem}});
    grpc::experimental::TlsChannelCredentialsOptions options;
    options.set_certificate_provider(provider);
    options.watch_root_certs();
    options.watch_identity_key_cert_pairs();
    options.set_verify_server_certs(true);
    return machine::MachineService::NewStub(grpc::CreateCustomChannel(
        module_.Listeners().at(node),
        grpc::experimental::TlsCredentials(options), FreshChannelArguments()));
  }
  std::unique_ptr<machine::MachineService::Stub> Admin(
      const std::string& node) {
    return Mutual(node, admin_);
  }

  static std::unique_ptr<grpc::ClientContext> Deadline() {
    auto ctx = std::make_unique<grpc::ClientContext>();
    ctx->set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
    return ctx;
  }

  grpc::Status Apply(machine::MachineService::Stub& stub,
                     const std::string& yaml,
                     machine::ApplyConfigurationRequest::Mode mode,
                     bool dry_run = false,
                     machine::ApplyConfigurationResponse* out = nullptr) {
    machine::ApplyConfigurationRequest request;
    request.set_data(yaml);
    request.set_mode(mode);
    request.set_dry_run(dry_run);
    machine::ApplyConfigurationResponse response;
    grpc::Status s =
        stub.ApplyConfiguration(Deadline().get(), request, &response);
    if (out != nullptr) *out = response;
    return s;
  }

  grpc::Status Version(machine::MachineService::Stub& stub,
                       machine::VersionResponse* out = nullptr) {
    google::protobuf::Empty empty;
    machine::VersionResponse response;
    grpc::Status s = stub.Version(Deadline().get(), empty, &response);
    if (out != nullptr) *out = response;
    return s;
  }

  grpc::Status Bootstrap(machine::MachineService::Stub& stub) {
    machine::BootstrapResponse response;
    return stub.Bootstrap(Deadline().get(), machine::BootstrapRequest(),
                          &response);
  }

  grpc::Status EtcdMembers(machine::MachineService::Stub& stub,
                           machine::EtcdMemberListResponse* out) {
    return stub.EtcdMemberList(Deadline().get(),
                               machine::EtcdMemberListRequest(), out);
  }

  // Boots `node`, applies `yaml` in maintenance mode and lets config-apply
  // pass: the node is configured.
  void Configure(const std::string& node, const std::string& yaml) {
    Boot(node);
    ASSERT_TRUE(
        Apply(*Insecure(node), yaml, machine::ApplyConfigurationRequest::AUTO)
            .ok());
    scheduler_.AdvanceBy(latency_.Delay(Step::kConfigApply) + absl::Seconds(1));
  }

  void BootstrapEtcd() {
    ASSERT_TRUE(Bootstrap(*Admin("ctrl-1")).ok());
    scheduler_.AdvanceBy(latency_.Delay(Step::kEtcdBootstrap) +
                         absl::Seconds(1));
  }

  VirtualScheduler scheduler_;
  World world_;
  LatencyModel latency_;
  Supervisor processes_;
  coldstart::v1::Cluster spec_;
  RequestLog requests_;
  std::unique_ptr<FaultInjector> faults_;
  ModuleContext context_;
  TalosModule module_;
  TalosMachineConfig config_;
  PemKeyPair admin_;
  std::shared_ptr<std::string> leaf_pem_ = std::make_shared<std::string>();
};

// §5 step 1 and README: nothing listens until the node has booted.
TEST_F(TalosModuleTest, NothingListensBeforeTheNodeBoots) {
  EXPECT_EQ(Version(*Insecure("ctrl-1")).error_code(), grpc::UNAVAILABLE);
}

// §1 maintenance-mode server cert: per-boot Ed25519 leaf, CN
// maintenance-service.talos.dev, EKU serverAuth; no client certificate
// requested (an insecure client without one gets answers). §0: Version needs
// os:admin on ≤1.11, so maintenance answers Unimplemented.
TEST_F(TalosModuleTest, MaintenanceModeIsInsecureTlsWithTheMaintenanceCert) {
  Boot("ctrl-1");
  grpc::Status version = Version(*Insecure("ctrl-1"));
  EXPECT_EQ(version.error_code(), grpc::UNIMPLEMENTED);
  EXPECT_EQ(version.error_message(),
            "API is not implemented in maintenance mode");

  absl::StatusOr<Certificate> leaf = Certificate::FromPem(*leaf_pem_);
  ASSERT_TRUE(leaf.ok()) << leaf.status();
  EXPECT_THAT(leaf->SubjectString(),
              HasSubstr("CN=maintenance-service.talos.dev"));
  EXPECT_FALSE(leaf->IsCa());
  EXPECT_EQ(leaf->public_key()->type(), KeyType::kEd25519);
  EXPECT_THAT(*leaf->ExtendedKeyUsageOids(),
              ElementsAre(std::string(kServerAuthOid)));
}

// §2.2: Reboot is not implemented in maintenance mode (≤1.12); Kubeconfig
// and the etcd RPCs need a machine type (§8.2: "machine type is not set");
// Bootstrap's first check is the CRI, which never runs without a config
// (§8.3 step 1: FailedPrecondition "bootstrap is not available yet").
TEST_F(TalosModuleTest, MaintenanceModeRefusesWhatNeedsAConfig) {
  Boot("ctrl-1");
  auto stub = Insecure("ctrl-1");
  machine::RebootResponse reboot;
  EXPECT_EQ(stub->Reboot(Deadline().get(), machine::RebootRequest(), &reboot)
                .error_code(),
            grpc::UNIMPLEMENTED);
  machine::EtcdMemberListResponse members;
  grpc::Status etcd = EtcdMembers(*stub, &members);
  EXPECT_EQ(etcd.error_code(), grpc::UNIMPLEMENTED);
  EXPECT_EQ(etcd.error_message(),
            "machine type is not set, cannot use etcd API");
  common::Data data;
  auto kubeconfig_ctx = Deadline();  // outlives the stream
  auto kubeconfig =
      stub->Kubeconfig(kubeconfig_ctx.get(), google::protobuf::Empty());
  EXPECT_FALSE(kubeconfig->Read(&data));
  EXPECT_EQ(kubeconfig->Finish().error_code(), grpc::UNIMPLEMENTED);
  grpc::Status bootstrap = Bootstrap(*stub);
  EXPECT_EQ(bootstrap.error_code(), grpc::FAILED_PRECONDITION);
  EXPECT_EQ(bootstrap.error_message(), "bootstrap is not available yet");
  EXPECT_EQ(module_.BootstrapCount(), 0);
}

// §0: maintenance ApplyConfiguration on ≤1.11 accepts AUTO, REBOOT and TRY;
// NO_REBOOT and STAGED are Unimplemented.
TEST_F(TalosModuleTest, MaintenanceApplyAcceptsOnlyAutoRebootAndTry) {
  Boot("ctrl-1");
  auto stub = Insecure("ctrl-1");
  using Mode = machine::ApplyConfigurationRequest;
  EXPECT_EQ(
      Apply(*stub, GoldenControlPlaneConfig(), Mode::NO_REBOOT).error_code(),
      grpc::UNIMPLEMENTED);
  EXPECT_EQ(Apply(*stub, GoldenControlPlaneConfig(), Mode::STAGED).error_code(),
            grpc::UNIMPLEMENTED);
  for (Mode::Mode mode : {Mode::AUTO, Mode::REBOOT, Mode::TRY}) {
    EXPECT_TRUE(
        Apply(*stub, GoldenControlPlaneConfig(), mode, /*dry_run=*/true).ok())
        << Mode::Mode_Name(mode);
  }
}

// §2.2 Errors: a validation error is InvalidArgument with the validation
// text (go-multierror: "1 error occurred:\n\t* ..."); §3.1: persist false is
// a validation error. The node stays in maintenance mode.
TEST_F(TalosModuleTest, InvalidConfigIsInvalidArgumentWithTheErrorList) {
  Boot("ctrl-1");
  const std::string invalid = absl::StrReplaceAll(
      GoldenControlPlaneConfig(), {{"persist: true", "persist: false"}});
  grpc::Status s = Apply(*Insecure("ctrl-1"), invalid,
                         machine::ApplyConfigurationRequest::AUTO);
  EXPECT_EQ(s.error_code(), grpc::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), StartsWith("1 error occurred:\n\t* "));
  EXPECT_THAT(s.error_message(), HasSubstr("persist"));
  scheduler_.AdvanceBy(latency_.Delay(Step::kConfigApply) + absl::Seconds(1));
  EXPECT_EQ(Version(*Insecure("ctrl-1")).error_code(), grpc::UNIMPLEMENTED);
  EXPECT_FALSE(world_.State().cas.has_value());
}

// §2.2 dry_run: validates and reports, applies nothing — the node stays in
// maintenance mode however long we wait.
TEST_F(TalosModuleTest, DryRunApplyInMaintenanceChangesNothing) {
  Boot("ctrl-1");
  EXPECT_TRUE(Apply(*Insecure("ctrl-1"), GoldenControlPlaneConfig(),
                    machine::ApplyConfigurationRequest::AUTO,
                    /*dry_run=*/true)
                  .ok());
  scheduler_.AdvanceBy(latency_.Delay(Step::kConfigApply) + absl::Seconds(1));
  EXPECT_EQ(Version(*Insecure("ctrl-1")).error_code(), grpc::UNIMPLEMENTED);
  EXPECT_THAT(*leaf_pem_, HasSubstr("BEGIN CERTIFICATE"));
  EXPECT_FALSE(world_.State().cas.has_value());
}

// §2.2: on ≤1.12 the maintenance reply has mode unset (0) and empty details;
// after it the maintenance API goes away (§5 step 2: the connection drops);
// §5 steps 3b/4: a disk-image node comes back configured, apid with a cert
// from the OS CA and mTLS (§1): Version now works for os:admin.
TEST_F(TalosModuleTest, ApplyClosesMaintenanceThenServesMutualTls) {
  Boot("ctrl-1");
  machine::ApplyConfigurationResponse reply;
  ASSERT_TRUE(Apply(*Insecure("ctrl-1"), GoldenControlPlaneConfig(),
                    machine::ApplyConfigurationRequest::AUTO, false, &reply)
                  .ok());
  ASSERT_EQ(reply.messages_size(), 1);
  EXPECT_EQ(reply.messages(0).mode(), 0);
  EXPECT_EQ(reply.messages(0).mode_details(), "");

  scheduler_.AdvanceBy(absl::Milliseconds(100));
  EXPECT_EQ(Version(*Insecure("ctrl-1")).error_code(), grpc::UNAVAILABLE);

  scheduler_.AdvanceBy(latency_.Delay(Step::kConfigApply));
  machine::VersionResponse version;
  grpc::Status s = Version(*Admin("ctrl-1"), &version);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(version.messages_size(), 1);
  EXPECT_EQ(version.messages(0).version().tag(), "v1.9.1");
  EXPECT_TRUE(version.messages(0).has_features());  // §2.2: set once configured
  // §1 configured mode: a client without a certificate gets nothing.
  EXPECT_FALSE(Version(*Insecure("ctrl-1")).ok());
  EXPECT_TRUE(world_.State().cas.has_value());
}

// §1: roles are the client cert's O values; no known role → every call
// PermissionDenied "not authorized"; os:reader may call Version but not the
// admin-only Bootstrap (§2.2 roles).
TEST_F(TalosModuleTest, ConfiguredModeAuthorizesByRole) {
  Configure("ctrl-1", GoldenControlPlaneConfig());
  auto nobody = Mutual("ctrl-1", ClientCertificate(config_, {"example"}));
  grpc::Status denied = Version(*nobody);
  EXPECT_EQ(denied.error_code(), grpc::PERMISSION_DENIED);
  EXPECT_EQ(denied.error_message(), "not authorized");

  auto reader = Mutual("ctrl-1", ClientCertificate(config_, {"os:reader"}));
  EXPECT_TRUE(Version(*reader).ok());
  EXPECT_EQ(Bootstrap(*reader).error_code(), grpc::PERMISSION_DENIED);
  EXPECT_EQ(module_.BootstrapCount(), 0);
}

// §1: every non-CA cert of the client chain must have EKU exactly
// [clientAuth]; anything else → handshake rejected.
TEST_F(TalosModuleTest, ClientCertWithMoreThanClientAuthIsRejected) {
  Configure("ctrl-1", GoldenControlPlaneConfig());
  auto both = Mutual("ctrl-1", ClientCertificate(config_, {"os:admin"},
                                                 /*also_server_auth=*/true));
  EXPECT_EQ(Version(*both).error_code(), grpc::UNAVAILABLE);
  EXPECT_TRUE(Version(*Admin("ctrl-1")).ok());
}

// §2.2 dry_run in configured mode changes nothing: a dry run of a different
// config, then a dry run of the applied one still reports no changes.
TEST_F(TalosModuleTest, DryRunApplyWhenConfiguredChangesNothing) {
  Configure("ctrl-1", GoldenControlPlaneConfig());
  using Mode = machine::ApplyConfigurationRequest;
  const std::string changed = absl::StrReplaceAll(
      GoldenControlPlaneConfig(), {{"- 127.0.10.53", "- 127.0.10.54"}});
  ASSERT_NE(changed, GoldenControlPlaneConfig());
  machine::ApplyConfigurationResponse reply;
  ASSERT_TRUE(Apply(*Admin("ctrl-1"), changed, Mode::AUTO, true, &reply).ok());
  EXPECT_THAT(reply.messages(0).mode_details(), HasSubstr("+"));
  ASSERT_TRUE(Apply(*Admin("ctrl-1"), GoldenControlPlaneConfig(), Mode::AUTO,
                    true, &reply)
                  .ok());
  EXPECT_THAT(reply.messages(0).mode_details(), HasSubstr("No changes."));
}

// §8.2: before etcd runs EtcdMemberList fails (§2.2: "timeouts/Unavailable/
// plain errors"); after Bootstrap (§8.3 step 7, etcd starts) it lists the
// control planes with their peer and client URLs.
TEST_F(TalosModuleTest, EtcdMemberListFailsBeforeBootstrapListsAfter) {
  Configure("ctrl-1", GoldenControlPlaneConfig());
  machine::EtcdMemberListResponse members;
  grpc::Status before = EtcdMembers(*Admin("ctrl-1"), &members);
  EXPECT_THAT(before.error_code(),
              AnyOf(grpc::UNAVAILABLE, grpc::UNKNOWN, grpc::DEADLINE_EXCEEDED));

  BootstrapEtcd();
  EXPECT_EQ(world_.State().etcd_bootstrapped_on, "ctrl-1");
  ASSERT_TRUE(EtcdMembers(*Admin("ctrl-1"), &members).ok());
  ASSERT_EQ(members.messages_size(), 1);
  ASSERT_EQ(members.messages(0).members_size(), 1);
  const machine::EtcdMember& member = members.messages(0).members(0);
  EXPECT_EQ(member.hostname(), "ctrl-1");
  EXPECT_THAT(member.peer_urls(), ElementsAre("https://127.0.1.1:2380"));
  EXPECT_THAT(member.client_urls(), ElementsAre("https://127.0.1.1:2379"));
  EXPECT_FALSE(member.is_learner());
}

// §8.3 step 5: Bootstrap twice on the same node → AlreadyExists "etcd data
// directory is not empty" (treat as done); one bootstrap happened.
TEST_F(TalosModuleTest, SecondBootstrapOnTheSameNodeIsAlreadyExists) {
  Configure("ctrl-1", GoldenControlPlaneConfig());
  ASSERT_TRUE(Bootstrap(*Admin("ctrl-1")).ok());
  grpc::Status again = Bootstrap(*Admin("ctrl-1"));
  EXPECT_EQ(again.error_code(), grpc::ALREADY_EXISTS);
  EXPECT_EQ(again.error_message(), "etcd data directory is not empty");
  EXPECT_EQ(module_.BootstrapCount(), 1);
}

// §8.3 step 5: the check is local. A control plane that has joined the
// running cluster answers AlreadyExists; one that has not joined yet accepts
// Bootstrap and starts a second, independent cluster (split brain).
TEST_F(TalosModuleTest, BootstrapCheckIsLocalToTheNode) {
  Configure("ctrl-1", GoldenControlPlaneConfig());
  Configure("ctrl-2", GoldenControlPlaneConfig());
  ASSERT_TRUE(Bootstrap(*Admin("ctrl-1")).ok());
  // etcd on ctrl-1 is still starting: ctrl-2 has not joined.
  EXPECT_TRUE(Bootstrap(*Admin("ctrl-2")).ok());
  EXPECT_EQ(module_.BootstrapCount(), 2);
  scheduler_.AdvanceBy(latency_.Delay(Step::kEtcdBootstrap) + absl::Seconds(1));
  EXPECT_EQ(world_.State().etcd_bootstrapped_on, "ctrl-1");
}

TEST_F(TalosModuleTest, BootstrapOnAJoinedControlPlaneIsAlreadyExists) {
  Configure("ctrl-1", GoldenControlPlaneConfig());
  Configure("ctrl-2", GoldenControlPlaneConfig());
  BootstrapEtcd();
  EXPECT_EQ(Bootstrap(*Admin("ctrl-2")).error_code(), grpc::ALREADY_EXISTS);
  EXPECT_EQ(module_.BootstrapCount(), 1);
}

// §8.3 step 2 (1.9.1): Bootstrap on a worker → FailedPrecondition "bootstrap
// can only be performed on a control plane node". §1: the worker's apid
// listens only once trustd (reached via the VIP) signed its certificate.
TEST_F(TalosModuleTest, WorkerListensAfterTheVipAndRefusesBootstrap) {
  Configure("ctrl-1", GoldenControlPlaneConfig());
  Configure("worker-1", GoldenWorkerConfig());
  EXPECT_EQ(Version(*Admin("worker-1")).error_code(), grpc::UNAVAILABLE);
  world_.Publish(VipUp{"127.0.3.1"});
  ASSERT_TRUE(Version(*Admin("worker-1")).ok());
  grpc::Status s = Bootstrap(*Admin("worker-1"));
  EXPECT_EQ(s.error_code(), grpc::FAILED_PRECONDITION);
  EXPECT_EQ(s.error_message(),
            "bootstrap can only be performed on a control plane node");
}

// §2.2 ServiceList; §8.1: ids include etcd and trustd on control planes,
// apid/containerd/cri/kubelet/machined everywhere; etcd is "up" (Running +
// healthy) only once bootstrapped.
TEST_F(TalosModuleTest, ServiceListShowsEtcdUpOnlyAfterBootstrap) {
  Configure("ctrl-1", GoldenControlPlaneConfig());
  auto etcd_service = [&]() -> machine::ServiceInfo {
    machine::ServiceListResponse list;
    EXPECT_TRUE(
        Admin("ctrl-1")
            ->ServiceList(Deadline().get(), google::protobuf::Empty(), &list)
            .ok());
    std::vector<std::string> ids;
    machine::ServiceInfo etcd;
    for (const auto& s : list.messages(0).services()) {
      ids.push_back(s.id());
      if (s.id() == "etcd") etcd = s;
    }
    EXPECT_THAT(ids,
                ::testing::IsSupersetOf({"apid", "containerd", "cri", "etcd",
                                         "kubelet", "machined", "trustd"}));
    return etcd;
  };
  machine::ServiceInfo before = etcd_service();
  EXPECT_FALSE(before.state() == "Running" && before.health().healthy());
  EXPECT_TRUE(before.health().unknown());
  BootstrapEtcd();
  machine::ServiceInfo after = etcd_service();
  EXPECT_EQ(after.state(), "Running");
  EXPECT_TRUE(after.health().healthy());
}

// §2.2 Kubeconfig: a stream of common.Data; gzip of an unterminated ustar
// stream holding one file "kubeconfig" (mode 0600): 512-byte header, then
// exactly `size` bytes; context admin@<clusterName>, server = the endpoint.
TEST_F(TalosModuleTest, KubeconfigIsAGzippedUnterminatedTar) {
  Configure("ctrl-1", GoldenControlPlaneConfig());
  auto admin = Admin("ctrl-1");  // stub and context outlive the stream
  auto ctx = Deadline();
  auto stream = admin->Kubeconfig(ctx.get(), google::protobuf::Empty());
  std::string gz;
  common::Data data;
  while (stream->Read(&data)) gz += data.bytes();
  ASSERT_TRUE(stream->Finish().ok());
  ASSERT_GE(gz.size(), 2u);
  EXPECT_EQ(static_cast<unsigned char>(gz[0]), 0x1f);  // gzip magic
  EXPECT_EQ(static_cast<unsigned char>(gz[1]), 0x8b);
  std::string tar;
  ASSERT_TRUE(GunzipForTest(gz, &tar));
  ASSERT_GT(tar.size(), 512u);
  EXPECT_EQ(std::string(tar.c_str()), "kubeconfig");
  EXPECT_EQ(tar.substr(100, 7), "0000600");
  const size_t size = std::stoul(tar.substr(124, 11), nullptr, 8);
  EXPECT_EQ(tar.size(), 512 + size);  // no padding, no end blocks
  const std::string kubeconfig = tar.substr(512);
  EXPECT_THAT(kubeconfig,
              HasSubstr("current-context: admin@" + config_.cluster_name));
  EXPECT_THAT(kubeconfig, HasSubstr("server: " + config_.endpoint));
}

// §2.2 Reset: asynchronous (reply first); wiping STATE and EPHEMERAL with
// reboot=true returns a disk-image node to maintenance mode.
TEST_F(TalosModuleTest, ResetWipingStateReturnsToMaintenance) {
  Configure("ctrl-1", GoldenControlPlaneConfig());
  machine::ResetRequest request;
  request.set_reboot(true);
  for (const char* label : {"STATE", "EPHEMERAL"}) {
    auto* partition = request.add_system_partitions_to_wipe();
    partition->set_label(label);
    partition->set_wipe(true);
  }
  machine::ResetResponse reply;
  ASSERT_TRUE(Admin("ctrl-1")->Reset(Deadline().get(), request, &reply).ok());
  EXPECT_EQ(reply.messages_size(), 1);
  scheduler_.AdvanceBy(absl::Milliseconds(100));
  EXPECT_EQ(Version(*Admin("ctrl-1")).error_code(), grpc::UNAVAILABLE);
  scheduler_.AdvanceBy(latency_.Delay(Step::kBoot));
  EXPECT_EQ(Version(*Insecure("ctrl-1")).error_code(), grpc::UNIMPLEMENTED);
  EXPECT_THAT(*leaf_pem_, HasSubstr("BEGIN CERTIFICATE"));
  absl::StatusOr<Certificate> leaf = Certificate::FromPem(*leaf_pem_);
  ASSERT_TRUE(leaf.ok());
  EXPECT_THAT(leaf->SubjectString(),
              HasSubstr("CN=maintenance-service.talos.dev"));
}

class TalosModuleDropReplyTest : public TalosModuleTest {
 protected:
  std::string FaultText() const override {
    return R"pb(rules {
                  name: "lost"
                  endpoint: "talos:GRPC /machine.MachineService/Bootstrap"
                  nth_call: 1
                  drop_reply {}
                })pb";
  }
};

// lab/faults drop_reply on gRPC: the method runs (etcd is bootstrapped) but
// the client sees UNAVAILABLE, as when the connection dies before the reply;
// a retry then meets the effect of the lost call (§8.3.5 AlreadyExists).
TEST_F(TalosModuleDropReplyTest, BootstrapAppliedButTheReplyLost) {
  Configure("ctrl-1", GoldenControlPlaneConfig());
  grpc::Status lost = Bootstrap(*Admin("ctrl-1"));
  EXPECT_EQ(lost.error_code(), grpc::UNAVAILABLE);
  EXPECT_EQ(module_.BootstrapCount(), 1);
  EXPECT_EQ(Bootstrap(*Admin("ctrl-1")).error_code(), grpc::ALREADY_EXISTS);
}

}  // namespace
}  // namespace coldstart::lab
