// BoringSSL (prefixed, static) and Debian's gRPC (dynamically linked to OpenSSL
// 3) in one binary: BoringSSL computes known answers and issues a CA + server
// certificate, then gRPC serves TLS with them on loopback. Without the BSSL_
// prefix this process dies in gRPC's TLS initialisation.
#include <grpcpp/grpcpp.h>
#include <openssl/bio.h>
#include <openssl/bytestring.h>
#include <openssl/ec_key.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/mem.h>
#include <openssl/nid.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <string>

#include "gtest/gtest.h"
#include "tests/toolchain/echo.grpc.pb.h"
#include "tests/toolchain/echo_service.h"

#if !defined(BORINGSSL_PREFIX)
#error \
    "BoringSSL's headers must come from @boringssl//:crypto (prefixed), not Debian's OpenSSL"
#endif

namespace coldstart::toolchain {
namespace {

std::string Hex(const uint8_t* data, size_t size) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < size; ++i) {
    out += kDigits[data[i] >> 4];
    out += kDigits[data[i] & 15];
  }
  return out;
}

TEST(BoringSsl, Sha256KnownAnswer) {
  const std::string abc = "abc";  // FIPS 180-2 example
  uint8_t digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const uint8_t*>(abc.data()), abc.size(), digest);
  EXPECT_EQ(Hex(digest, sizeof(digest)),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(BoringSsl, HmacSha256Rfc4231Case2) {
  const std::string key = "Jefe";
  const std::string data = "what do ya want for nothing?";
  uint8_t mac[EVP_MAX_MD_SIZE];
  unsigned mac_size = 0;
  ASSERT_NE(HMAC(EVP_sha256(), key.data(), key.size(),
                 reinterpret_cast<const uint8_t*>(data.data()), data.size(),
                 mac, &mac_size),
            nullptr);
  EXPECT_EQ(Hex(mac, mac_size),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

struct KeyAndCert {
  bssl::UniquePtr<EVP_PKEY> key;
  bssl::UniquePtr<X509> cert;
};

bssl::UniquePtr<EVP_PKEY> NewP256Key() {
  bssl::UniquePtr<EC_KEY> ec(EC_KEY_new_by_curve_name(NID_X9_62_prime256v1));
  if (!ec || !EC_KEY_generate_key(ec.get())) return nullptr;
  bssl::UniquePtr<EVP_PKEY> key(EVP_PKEY_new());
  if (!EVP_PKEY_assign_EC_KEY(key.get(), ec.release())) return nullptr;
  return key;
}

bool AddExtension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  bssl::UniquePtr<X509_EXTENSION> ext(
      X509V3_EXT_nconf_nid(nullptr, &ctx, nid, value));
  return ext && X509_add_ext(cert, ext.get(), -1);
}

// Issues a certificate for `key` signed by `issuer_key` (self-signed when
// issuer is null).
bssl::UniquePtr<X509> Issue(const char* common_name, EVP_PKEY* key,
                            X509* issuer, EVP_PKEY* issuer_key, bool ca,
                            long serial) {
  bssl::UniquePtr<X509> cert(X509_new());
  bssl::UniquePtr<X509_NAME> name(X509_NAME_new());
  if (!cert || !name || !X509_set_version(cert.get(), X509_VERSION_3) ||
      !ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial) ||
      !X509_gmtime_adj(X509_getm_notBefore(cert.get()), -60) ||
      !X509_gmtime_adj(X509_getm_notAfter(cert.get()), 3600) ||
      !X509_NAME_add_entry_by_txt(name.get(), "CN", MBSTRING_UTF8,
                                  reinterpret_cast<const uint8_t*>(common_name),
                                  -1, -1, 0) ||
      !X509_set_subject_name(cert.get(), name.get()) ||
      !X509_set_issuer_name(
          cert.get(), issuer ? X509_get_subject_name(issuer) : name.get()) ||
      !X509_set_pubkey(cert.get(), key)) {
    return nullptr;
  }
  X509* issuer_cert = issuer ? issuer : cert.get();
  const bool extensions_ok =
      ca ? AddExtension(cert.get(), issuer_cert, NID_basic_constraints,
                        "critical,CA:TRUE") &&
               AddExtension(cert.get(), issuer_cert, NID_key_usage,
                            "critical,keyCertSign,cRLSign")
         : AddExtension(cert.get(), issuer_cert, NID_basic_constraints,
                        "critical,CA:FALSE") &&
               AddExtension(cert.get(), issuer_cert, NID_subject_alt_name,
                            "DNS:localhost,IP:127.0.0.1") &&
               AddExtension(cert.get(), issuer_cert, NID_ext_key_usage,
                            "serverAuth");
  if (!extensions_ok ||
      !X509_sign(cert.get(), issuer_key ? issuer_key : key, EVP_sha256())) {
    return nullptr;
  }
  return cert;
}

std::string CertPem(X509* cert) {
  bssl::UniquePtr<BIO> bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(bio.get(), cert);
  const uint8_t* data = nullptr;
  size_t size = 0;
  BIO_mem_contents(bio.get(), &data, &size);
  return std::string(reinterpret_cast<const char*>(data), size);
}

std::string KeyPem(EVP_PKEY* key) {
  bssl::UniquePtr<BIO> bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr,
                           nullptr);
  const uint8_t* data = nullptr;
  size_t size = 0;
  BIO_mem_contents(bio.get(), &data, &size);
  return std::string(reinterpret_cast<const char*>(data), size);
}

TEST(BoringSslWithGrpc, BoringSslIssuedCertificatesServeGrpcTls) {
  bssl::UniquePtr<EVP_PKEY> ca_key = NewP256Key();
  bssl::UniquePtr<EVP_PKEY> server_key = NewP256Key();
  ASSERT_TRUE(ca_key && server_key);
  bssl::UniquePtr<X509> ca =
      Issue("toolchain-test-ca", ca_key.get(), nullptr, nullptr, true, 1);
  ASSERT_NE(ca, nullptr);
  bssl::UniquePtr<X509> leaf =
      Issue("localhost", server_key.get(), ca.get(), ca_key.get(), false, 2);
  ASSERT_NE(leaf, nullptr);

  // BoringSSL verifies its own chain first.
  bssl::UniquePtr<X509_STORE> store(X509_STORE_new());
  ASSERT_TRUE(X509_STORE_add_cert(store.get(), ca.get()));
  bssl::UniquePtr<X509_STORE_CTX> verify(X509_STORE_CTX_new());
  ASSERT_TRUE(
      X509_STORE_CTX_init(verify.get(), store.get(), leaf.get(), nullptr));
  EXPECT_EQ(X509_verify_cert(verify.get()), 1)
      << X509_verify_cert_error_string(X509_STORE_CTX_get_error(verify.get()));

  grpc::SslServerCredentialsOptions server_options;
  server_options.pem_key_cert_pairs.push_back(
      {KeyPem(server_key.get()), CertPem(leaf.get())});
  EchoService service;
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0",
                           grpc::SslServerCredentials(server_options), &port);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  ASSERT_NE(server, nullptr);

  grpc::SslCredentialsOptions client_options;
  client_options.pem_root_certs = CertPem(ca.get());
  auto stub =
      Echo::NewStub(grpc::CreateChannel("127.0.0.1:" + std::to_string(port),
                                        grpc::SslCredentials(client_options)));
  grpc::ClientContext context;
  EchoRequest request;
  request.set_text("over tls");
  EchoReply reply;
  grpc::Status status = stub->Say(&context, request, &reply);
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(reply.text(), "over tls");

  // A client that trusts another CA is refused.
  bssl::UniquePtr<EVP_PKEY> rogue_key = NewP256Key();
  bssl::UniquePtr<X509> rogue =
      Issue("rogue-ca", rogue_key.get(), nullptr, nullptr, true, 3);
  grpc::SslCredentialsOptions rogue_options;
  rogue_options.pem_root_certs = CertPem(rogue.get());
  auto rogue_stub =
      Echo::NewStub(grpc::CreateChannel("127.0.0.1:" + std::to_string(port),
                                        grpc::SslCredentials(rogue_options)));
  grpc::ClientContext rogue_context;
  rogue_context.set_deadline(std::chrono::system_clock::now() +
                             std::chrono::seconds(10));
  EXPECT_FALSE(rogue_stub->Say(&rogue_context, request, &reply).ok());
  server->Shutdown();
}

}  // namespace
}  // namespace coldstart::toolchain
