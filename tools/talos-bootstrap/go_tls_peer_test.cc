// Our Talos client against a Go crypto/tls server with Talos's TLS settings
// (testdata/talos_tls_peer/main.go, built with Debian's golang-go): the
// server accepts our Ed25519 os:admin client cert (EKU exactly clientAuth,
// ALPN h2), rejects a client cert with another EKU, and our client refuses a
// server that does not chain to the OS CA.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "lib/secrets/crypto.h"
#include "tools/talos-bootstrap/secrets_bundle.h"
#include "tools/talos-bootstrap/talos_client.h"

namespace coldstart {
namespace {

std::string Tmp() { return std::getenv("TEST_TMPDIR"); }

void Write(const std::string& path, absl::string_view data) {
  std::ofstream(path) << data;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Builds the Go peer once per test binary.
const std::string& PeerBinary() {
  static const std::string* path = [] {
    const std::string out = Tmp() + "/talos_tls_peer";
    const std::string cmd = absl::StrCat(
        "cd tools/talos-bootstrap/testdata/talos_tls_peer && HOME=", Tmp(),
        " GOCACHE=", Tmp(), "/gocache GOPATH=", Tmp(),
        "/gopath GO111MODULE=off GOFLAGS= CGO_ENABLED=0 go build -o ", out,
        " main.go");
    EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
    return new std::string(out);
  }();
  return *path;
}

struct Peer {
  pid_t pid = 0;
  std::string address;
  ~Peer() {
    if (pid > 0) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
    }
  }
};

// Starts the Go server with `ca` as client CA and `server` as its cert.
void StartPeer(const std::string& name, const std::string& ca_pem,
               const CertAndKey& server, Peer* peer) {
  const std::string dir = Tmp() + "/" + name;
  ASSERT_EQ(std::system(("mkdir -p " + dir).c_str()), 0);
  Write(dir + "/ca.pem", ca_pem);
  Write(dir + "/cert.pem", server.crt_pem);
  Write(dir + "/key.pem", server.key_pem.Reveal());
  const std::string addr_file = dir + "/addr";
  const std::string binary = PeerBinary();
  ASSERT_EQ(access(binary.c_str(), X_OK), 0) << "the Go peer did not build";
  peer->pid = fork();
  if (peer->pid == 0) {
    execl(binary.c_str(), binary.c_str(), (dir + "/ca.pem").c_str(),
          (dir + "/cert.pem").c_str(), (dir + "/key.pem").c_str(),
          addr_file.c_str(), nullptr);
    _exit(127);
  }
  for (int i = 0; i < 200 && peer->address.empty(); ++i) {
    peer->address = ReadFile(addr_file);
    if (peer->address.empty()) absl::SleepFor(absl::Milliseconds(25));
  }
  ASSERT_FALSE(peer->address.empty());
}

// An Ed25519 apid-style server cert for 127.0.0.1 signed by `ca`.
CertAndKey ServerCert(const CertAndKey& ca) {
  auto ca_cert = Certificate::FromPem(ca.crt_pem);
  auto ca_key = PrivateKey::FromPem(ca.key_pem);
  EXPECT_TRUE(ca_cert.ok() && ca_key.ok());
  PrivateKey key = PrivateKey::GenerateEd25519();
  CertificateTemplate spec;
  spec.common_name = "ctrl-1";
  spec.key_usage = kDigitalSignature;
  spec.server_auth = true;
  spec.ip_addresses = {"127.0.0.1"};
  spec.not_before = absl::Now() - absl::Minutes(1);
  spec.not_after = absl::Now() + absl::Hours(24);
  auto cert = IssueCertificate(spec, key.public_key(), *ca_key, &*ca_cert);
  EXPECT_TRUE(cert.ok());
  return CertAndKey{cert->ToPem(), *key.ToPem(PrivateKeyPem::kPkcs8)};
}

class GoTlsPeerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto bundle = GenerateSecretsBundle(absl::Now());
    ASSERT_TRUE(bundle.ok());
    bundle_ = *bundle;
    auto admin = IssueTalosAdminCertificate(bundle_, absl::Now());
    ASSERT_TRUE(admin.ok());
    admin_ = *admin;
  }
  SecretsBundle bundle_;
  CertAndKey admin_;
};

TEST_F(GoTlsPeerTest, GoServerAcceptsOurAdminClient) {
  Peer peer;
  StartPeer("accept", bundle_.os_ca.crt_pem, ServerCert(bundle_.os_ca), &peer);
  auto client =
      TalosClient::Mutual(peer.address, bundle_.os_ca.crt_pem, admin_.crt_pem,
                          std::string(admin_.key_pem.Reveal()));
  absl::StatusOr<machine::VersionResponse> version = client->Version();
  EXPECT_TRUE(version.ok()) << version.status();
}

TEST_F(GoTlsPeerTest, GoServerRejectsAClientCertWithAnotherEku) {
  Peer peer;
  StartPeer("eku", bundle_.os_ca.crt_pem, ServerCert(bundle_.os_ca), &peer);
  // A cert with serverAuth + clientAuth signed by the OS CA.
  auto ca_cert = Certificate::FromPem(bundle_.os_ca.crt_pem);
  auto ca_key = PrivateKey::FromPem(bundle_.os_ca.key_pem);
  ASSERT_TRUE(ca_cert.ok() && ca_key.ok());
  PrivateKey key = PrivateKey::GenerateEd25519();
  CertificateTemplate spec;
  spec.organizations = {"os:admin"};
  spec.key_usage = kDigitalSignature;
  spec.client_auth = true;
  spec.server_auth = true;
  spec.not_before = absl::Now() - absl::Minutes(1);
  spec.not_after = absl::Now() + absl::Hours(1);
  auto cert = IssueCertificate(spec, key.public_key(), *ca_key, &*ca_cert);
  ASSERT_TRUE(cert.ok());
  auto client = TalosClient::Mutual(
      peer.address, bundle_.os_ca.crt_pem, cert->ToPem(),
      std::string(key.ToPem(PrivateKeyPem::kPkcs8)->Reveal()));
  EXPECT_FALSE(client->Version().ok());
}

TEST_F(GoTlsPeerTest, OurClientRejectsAServerNotSignedByTheOsCa) {
  auto other = GenerateSecretsBundle(absl::Now());
  ASSERT_TRUE(other.ok());
  Peer peer;
  StartPeer("rogue", bundle_.os_ca.crt_pem, ServerCert(other->os_ca), &peer);
  auto client =
      TalosClient::Mutual(peer.address, bundle_.os_ca.crt_pem, admin_.crt_pem,
                          std::string(admin_.key_pem.Reveal()));
  absl::StatusOr<machine::VersionResponse> version = client->Version();
  ASSERT_FALSE(version.ok());
  EXPECT_EQ(version.status().code(), absl::StatusCode::kUnavailable)
      << version.status();
}

}  // namespace
}  // namespace coldstart
