#include "lab/tls/lab_tls.h"

#include <httplib.h>
#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "lib/secrets/crypto.h"
#include "lib/secrets/secret.h"

namespace coldstart::lab {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::string NewDir(const std::string& name) {
  std::string dir = absl::StrCat(std::getenv("TEST_TMPDIR"), "/", name);
  mkdir(dir.c_str(), 0700);
  return dir;
}

TEST(LabTlsTest, IssuesServerCertificatesUnderOneCaPerWorkdir) {
  const std::string dir = NewDir("shared");
  absl::StatusOr<ServerCertificateFiles> pve =
      IssueLabServerCertificate(dir, "pve", {"127.0.0.1", "10.0.0.5"});
  ASSERT_TRUE(pve.ok()) << pve.status();
  EXPECT_EQ(pve->ca_path, dir + "/lab-ca.pem");
  EXPECT_EQ(pve->cert_path, dir + "/pve-cert.pem");
  EXPECT_EQ(pve->key_path, dir + "/pve-key.pem");
  struct stat st;
  ASSERT_EQ(stat(pve->key_path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
  ASSERT_EQ(stat((dir + "/lab-ca-key.pem").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);

  absl::StatusOr<Certificate> ca = Certificate::FromPem(ReadFile(pve->ca_path));
  ASSERT_TRUE(ca.ok()) << ca.status();
  EXPECT_EQ(ca->SubjectString(), "CN=coldstart lab CA");
  absl::StatusOr<Certificate> leaf =
      Certificate::FromPem(ReadFile(pve->cert_path));
  ASSERT_TRUE(leaf.ok()) << leaf.status();
  EXPECT_EQ(leaf->SubjectString(), "CN=coldstart lab pve");
  for (const char* host : {"127.0.0.1", "10.0.0.5", "localhost"}) {
    EXPECT_TRUE(
        VerifyCertificateChain(*leaf, {}, {*ca}, absl::Now(), host).ok())
        << host;
  }
  EXPECT_FALSE(
      VerifyCertificateChain(*leaf, {}, {*ca}, absl::Now(), "10.0.0.6").ok());
  EXPECT_GT(leaf->not_after(), absl::Now() + absl::Hours(24 * 365 * 9));

  // PKCS#8, the key of the certificate; the pin is the DER's SHA-256.
  std::string key_pem = ReadFile(pve->key_path);
  EXPECT_EQ(key_pem.rfind("-----BEGIN PRIVATE KEY-----\n", 0), 0u);
  absl::StatusOr<PrivateKey> key =
      PrivateKey::FromPem(Secret(std::move(key_pem)));
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_EQ(key->type(), KeyType::kEcdsaP256);
  EXPECT_TRUE(key->public_key() == *leaf->public_key());
  std::string hex = HexEncode(leaf->Sha256Fingerprint());
  EXPECT_EQ(absl::StrReplaceAll(pve->cert_sha256, {{":", ""}}), hex);
  EXPECT_EQ(pve->cert_sha256.size(), 32u * 3 - 1);

  // A second module reuses the CA.
  const std::string ca_pem = ReadFile(pve->ca_path);
  absl::StatusOr<ServerCertificateFiles> factory =
      IssueLabServerCertificate(dir, "factory", {"127.0.0.1"});
  ASSERT_TRUE(factory.ok()) << factory.status();
  EXPECT_EQ(ReadFile(factory->ca_path), ca_pem);
  absl::StatusOr<Certificate> factory_leaf =
      Certificate::FromPem(ReadFile(factory->cert_path));
  ASSERT_TRUE(factory_leaf.ok());
  EXPECT_TRUE(
      VerifyCertificateChain(*factory_leaf, {}, {*ca}, absl::Now(), "127.0.0.1")
          .ok());
}

TEST(LabTlsTest, ReusesACaWrittenByOpenSsl) {
  // Work directories made before the move to lib/crypto hold a CA that
  // Debian's OpenSSL wrote (PKCS#8 key).
  const std::string dir = NewDir("openssl-ca");
  std::string command = absl::StrCat(
      "/usr/bin/openssl req -x509 -newkey ec -pkeyopt "
      "ec_paramgen_curve:P-256 -nodes -subj '/CN=old lab CA' -days 30 "
      "-addext keyUsage=critical,keyCertSign,cRLSign -keyout ",
      dir, "/lab-ca-key.pem -out ", dir, "/lab-ca.pem 2>/dev/null");
  ASSERT_EQ(std::system(command.c_str()), 0);
  absl::StatusOr<ServerCertificateFiles> files =
      IssueLabServerCertificate(dir, "pve", {"127.0.0.1"});
  ASSERT_TRUE(files.ok()) << files.status();
  absl::StatusOr<Certificate> ca =
      Certificate::FromPem(ReadFile(files->ca_path));
  absl::StatusOr<Certificate> leaf =
      Certificate::FromPem(ReadFile(files->cert_path));
  ASSERT_TRUE(ca.ok() && leaf.ok());
  EXPECT_EQ(ca->SubjectString(), "CN=old lab CA");
  EXPECT_TRUE(
      VerifyCertificateChain(*leaf, {}, {*ca}, absl::Now(), "127.0.0.1").ok());
}

TEST(LabTlsTest, UnreadableCaIsFailedPrecondition) {
  const std::string dir = NewDir("broken");
  std::ofstream(dir + "/lab-ca.pem") << "not a certificate\n";
  std::ofstream(dir + "/lab-ca-key.pem") << "not a key\n";
  absl::StatusOr<ServerCertificateFiles> files =
      IssueLabServerCertificate(dir, "pve", {"127.0.0.1"});
  EXPECT_EQ(files.status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(LabTlsTest, HttplibServesTheFilesAndItsClientTrustsTheCa) {
  // What the HTTPS modules do: cpp-httplib (Debian's OpenSSL) reads the
  // files; a client trusting lab-ca.pem verifies the server.
  const std::string dir = NewDir("httplib");
  absl::StatusOr<ServerCertificateFiles> files =
      IssueLabServerCertificate(dir, "pve", {"127.0.0.1"});
  ASSERT_TRUE(files.ok()) << files.status();
  httplib::SSLServer server(files->cert_path.c_str(), files->key_path.c_str());
  ASSERT_TRUE(server.is_valid());
  server.Get("/", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("lab", "text/plain");
  });
  const int port = server.bind_to_any_port("127.0.0.1");
  ASSERT_GT(port, 0);
  std::thread serving([&] { server.listen_after_bind(); });
  while (!server.is_running()) std::this_thread::yield();
  httplib::SSLClient client("127.0.0.1", port);
  client.set_ca_cert_path(files->ca_path.c_str());
  client.enable_server_certificate_verification(true);
  httplib::Result result = client.Get("/");
  server.stop();
  serving.join();
  ASSERT_TRUE(result) << httplib::to_string(result.error());
  EXPECT_EQ(result->body, "lab");
}

}  // namespace
}  // namespace coldstart::lab
