// lib/crypto (BoringSSL, prefixed) in the same translation unit as
// cpp-httplib's TLS server and client (Debian's OpenSSL headers and library):
// BoringSSL's include path stays private to the code that includes BoringSSL
// itself, so dependents of //lib/secrets:crypto still see Debian's
// <openssl/...>. lib/crypto issues the certificates; httplib serves and
// verifies them on loopback.
#include <httplib.h>

#include <filesystem>
#include <string>
#include <thread>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "lib/secrets/crypto.h"
#include "lib/secrets/secret.h"
#include "lib/testing/files.h"

namespace coldstart {
namespace {

using ::coldstart::testing::TestTempDir;
using ::coldstart::testing::WriteTestFile;

TEST(CryptoBesideHttplib, BoringSslCertificatesServeOpenSslHttps) {
  const std::string dir = TestTempDir();
  const absl::Time now = absl::Now();
  PrivateKey ca_key = PrivateKey::GenerateEcdsaP256();
  CertificateTemplate ca_template;
  ca_template.common_name = "toolchain-ca";
  ca_template.is_ca = true;
  ca_template.key_usage = kKeyCertSign | kCrlSign;
  ca_template.not_before = now - absl::Minutes(1);
  ca_template.not_after = now + absl::Hours(1);
  absl::StatusOr<Certificate> ca =
      IssueCertificate(ca_template, ca_key.public_key(), ca_key, nullptr);
  ASSERT_TRUE(ca.ok()) << ca.status();

  PrivateKey server_key = PrivateKey::GenerateEcdsaP256();
  CertificateTemplate leaf_template;
  leaf_template.common_name = "localhost";
  leaf_template.key_usage = kDigitalSignature;
  leaf_template.server_auth = true;
  leaf_template.ip_addresses = {"127.0.0.1"};
  leaf_template.not_before = now - absl::Minutes(1);
  leaf_template.not_after = now + absl::Hours(1);
  absl::StatusOr<Certificate> leaf =
      IssueCertificate(leaf_template, server_key.public_key(), ca_key, &*ca);
  ASSERT_TRUE(leaf.ok()) << leaf.status();
  absl::StatusOr<Secret> key_pem = server_key.ToPem(PrivateKeyPem::kPkcs8);
  ASSERT_TRUE(key_pem.ok()) << key_pem.status();

  WriteTestFile(dir + "/ca.pem", ca->ToPem());
  WriteTestFile(dir + "/server.pem", leaf->ToPem());
  WriteTestFile(dir + "/server.key", key_pem->Reveal());

  httplib::SSLServer server((dir + "/server.pem").c_str(),
                            (dir + "/server.key").c_str());
  ASSERT_TRUE(server.is_valid());
  server.Get("/hello", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("hello over tls", "text/plain");
  });
  const int port = server.bind_to_any_port("127.0.0.1");
  ASSERT_GT(port, 0);
  std::thread serving([&] { server.listen_after_bind(); });
  while (!server.is_running()) std::this_thread::yield();

  httplib::SSLClient trusting("127.0.0.1", port);
  trusting.set_ca_cert_path((dir + "/ca.pem").c_str());
  trusting.enable_server_certificate_verification(true);
  httplib::Result ok = trusting.Get("/hello");
  ASSERT_TRUE(ok) << httplib::to_string(ok.error());
  EXPECT_EQ(ok->body, "hello over tls");

  // A client that trusts only another CA is refused by OpenSSL's verifier.
  PrivateKey rogue_key = PrivateKey::GenerateEcdsaP256();
  ca_template.common_name = "rogue-ca";
  absl::StatusOr<Certificate> rogue =
      IssueCertificate(ca_template, rogue_key.public_key(), rogue_key, nullptr);
  ASSERT_TRUE(rogue.ok());
  WriteTestFile(dir + "/rogue.pem", rogue->ToPem());
  httplib::SSLClient doubting("127.0.0.1", port);
  doubting.set_ca_cert_path((dir + "/rogue.pem").c_str());
  doubting.enable_server_certificate_verification(true);
  EXPECT_FALSE(doubting.Get("/hello"));

  server.stop();
  serving.join();
}

}  // namespace
}  // namespace coldstart
