#include "lib/secrets/crypto.h"

#include <unistd.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/testing/files.h"
#include "lib/testing/secret_testing.h"
#include "yaml-cpp/yaml.h"

namespace coldstart {
namespace {

using ::coldstart::testing::ReadTestFile;
using ::coldstart::testing::RunfilePath;
using ::coldstart::testing::TestTempDir;
using ::coldstart::testing::WriteTestFile;
using ::testing::HasSubstr;
using ::testing::StartsWith;

std::string Hex(absl::string_view hex) { return absl::HexStringToBytes(hex); }

// Runs /usr/bin/openssl with `args`; fails the test on a non-zero exit.
std::string OpenSsl(std::vector<std::string> args, absl::string_view in = {}) {
  args.insert(args.begin(), "/usr/bin/openssl");
  absl::StatusOr<ProcessResult> result = RunProcess(args, in);
  EXPECT_TRUE(result.ok()) << result.status();
  if (!result.ok()) return "";
  EXPECT_EQ(result->exit_code, 0)
      << "openssl " << absl::StrJoin(args, " ") << ": " << result->err;
  return result->out;
}

// --- Known-answer tests ------------------------------------------------------

TEST(Sha256Test, FipsExamples) {
  EXPECT_EQ(HexEncode(Sha256("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(HexEncode(Sha256("")),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(HexEncode(Sha256(
                "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(HmacSha256Test, Rfc4231) {
  // Test cases 1, 2, 3 and 6 of RFC 4231 §4.
  EXPECT_EQ(HexEncode(HmacSha256(std::string(20, '\x0b'), "Hi There")),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  EXPECT_EQ(HexEncode(HmacSha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_EQ(
      HexEncode(HmacSha256(std::string(20, '\xaa'), std::string(50, '\xdd'))),
      "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe");
  EXPECT_EQ(HexEncode(HmacSha256(
                std::string(131, '\xaa'),
                "Test Using Larger Than Block-Size Key - Hash Key First")),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

TEST(RandomBytesTest, LengthAndVariety) {
  EXPECT_EQ(RandomBytes(0), "");
  std::string a = RandomBytes(32), b = RandomBytes(32);
  EXPECT_EQ(a.size(), 32u);
  EXPECT_NE(a, b);
}

TEST(Aes256GcmTest, NistGcmSpecTestCases) {
  // McGrew & Viega, "The Galois/Counter Mode of Operation", test cases 13, 14
  // and 16 (the NIST GCM submission's 256-bit key cases).
  Secret zero_key = Secret::FromView(std::string(32, '\0'));
  std::string zero_iv(12, '\0');
  EXPECT_EQ(HexEncode(*Aes256GcmSeal(zero_key, zero_iv, "")),
            "530f8afbc74536b9a963b4f1c4cb738b");
  EXPECT_EQ(HexEncode(*Aes256GcmSeal(zero_key, zero_iv, std::string(16, '\0'))),
            "cea7403d4d606b6e074ec5d3baf39d18"
            "d0d1c8a799996bf0265b98b5d48ab919");

  Secret key = Secret::FromView(
      Hex("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308"));
  std::string iv = Hex("cafebabefacedbaddecaf888");
  std::string plaintext =
      Hex("d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
          "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39");
  std::string aad = Hex("feedfacedeadbeeffeedfacedeadbeefabaddad2");
  std::string expected =
      "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
      "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662"
      "76fc6ece0f4e1768cddf8853bb2d551b";
  absl::StatusOr<std::string> sealed = Aes256GcmSeal(key, iv, plaintext, aad);
  ASSERT_TRUE(sealed.ok()) << sealed.status();
  EXPECT_EQ(HexEncode(*sealed), expected);

  absl::StatusOr<Secret> opened = Aes256GcmOpen(key, iv, *sealed, aad);
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(opened->Reveal(), plaintext);

  std::string tampered = *sealed;
  tampered.back() ^= 1;
  EXPECT_EQ(Aes256GcmOpen(key, iv, tampered, aad).status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(Aes256GcmOpen(key, iv, *sealed, "other aad").status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(Aes256GcmSeal(Secret::FromView("short"), iv, "x").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(Ed25519Test, Rfc8032Vectors) {
  struct Vector {
    const char* secret;
    const char* public_key;
    const char* message;
    const char* signature;
  };
  const Vector vectors[] = {
      {"9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
       "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
       "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
       "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"},
      {"4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
       "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
       "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
       "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"},
  };
  for (const Vector& v : vectors) {
    absl::StatusOr<PrivateKey> key =
        PrivateKey::Ed25519FromSeed(Secret::FromView(Hex(v.secret)));
    ASSERT_TRUE(key.ok()) << key.status();
    EXPECT_EQ(HexEncode(*key->public_key().Ed25519Bytes()), v.public_key);
    absl::StatusOr<std::string> sig = key->Sign(Hex(v.message));
    ASSERT_TRUE(sig.ok()) << sig.status();
    EXPECT_EQ(HexEncode(*sig), v.signature);
    absl::StatusOr<PublicKey> pub =
        PublicKey::FromEd25519Bytes(Hex(v.public_key));
    ASSERT_TRUE(pub.ok());
    EXPECT_TRUE(pub->Verify(Hex(v.message), *sig).ok());
    EXPECT_EQ(pub->Verify("other message", *sig).code(),
              absl::StatusCode::kPermissionDenied);
  }
}

TEST(Ed25519Test, OpenSshPublicKey) {
  PrivateKey key = *PrivateKey::Ed25519FromSeed(Secret::FromView(
      Hex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")));
  // Expected line produced by an independent implementation
  // (python3-cryptography's OpenSSH serializer) for RFC 8032 test 1.
  EXPECT_EQ(*key.public_key().ToOpenSsh("flux@lab"),
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINdamAGCsQq31Uv+08lkBzoO4XLz2q"
            "YjJa8CGmj3B1Ea flux@lab");
  EXPECT_EQ(
      PrivateKey::GenerateEcdsaP256().public_key().ToOpenSsh().status().code(),
      absl::StatusCode::kInvalidArgument);
}

TEST(Ed25519Test, OpenSshPublicKeyReadBySshKeygen) {
  // openssh-client is not among the project's packages; say so if absent.
  if (access("/usr/bin/ssh-keygen", X_OK) != 0) {
    GTEST_SKIP() << "/usr/bin/ssh-keygen missing (package openssh-client); "
                    "the OpenSSH line is still checked against a known answer";
  }
  PrivateKey key = PrivateKey::GenerateEd25519();
  // ssh-keygen reads it back and agrees on the fingerprint it computes itself.
  std::string path = TestTempDir() + "/id_ed25519.pub";
  WriteTestFile(path, *key.public_key().ToOpenSsh() + "\n");
  absl::StatusOr<ProcessResult> fp =
      RunProcess({"/usr/bin/ssh-keygen", "-l", "-E", "sha256", "-f", path});
  ASSERT_TRUE(fp.ok()) << fp.status();
  EXPECT_EQ(fp->exit_code, 0) << fp->err;
  std::string wire =
      absl::StrCat(std::string("\0\0\0\x0bssh-ed25519\0\0\0\x20", 19),
                   *key.public_key().Ed25519Bytes());
  std::string expected_fp = absl::StrCat(
      "SHA256:",
      absl::StrReplaceAll(absl::Base64Escape(Sha256(wire)), {{"=", ""}}));
  EXPECT_THAT(fp->out, HasSubstr(expected_fp));
}

TEST(EcdsaTest, SignVerify) {
  PrivateKey key = PrivateKey::GenerateEcdsaP256();
  EXPECT_EQ(key.type(), KeyType::kEcdsaP256);
  std::string sig = *key.Sign("message");
  EXPECT_TRUE(key.public_key().Verify("message", sig).ok());
  EXPECT_EQ(key.public_key().Verify("massage", sig).code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(PrivateKey::GenerateEcdsaP256()
                .public_key()
                .Verify("message", sig)
                .code(),
            absl::StatusCode::kPermissionDenied);
}

// --- RSA: one RSA-4096 key generated per test binary ---------------------

class RsaTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    absl::StatusOr<PrivateKey> key = PrivateKey::GenerateRsa(4096);
    ASSERT_TRUE(key.ok()) << key.status();
    key_ = new PrivateKey(*std::move(key));
  }
  static void TearDownTestSuite() { delete key_; }
  static PrivateKey* key_;
};
PrivateKey* RsaTest::key_ = nullptr;

TEST_F(RsaTest, GeneratedKeyIs4096Bits) {
  EXPECT_EQ(key_->type(), KeyType::kRsa);
  EXPECT_EQ(key_->public_key().RsaModulusBytes(), 512u);
  EXPECT_EQ(PrivateKey::GenerateRsa(1024).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(RsaTest, OaepRoundTripWithLabels) {
  for (absl::string_view label : {"", "csi-proxmox", "csi-proxmox/plugin"}) {
    absl::StatusOr<std::string> ct =
        key_->public_key().OaepEncrypt("session key bytes", label);
    ASSERT_TRUE(ct.ok()) << ct.status();
    EXPECT_EQ(ct->size(), 512u);
    absl::StatusOr<Secret> pt = key_->OaepDecrypt(*ct, label);
    ASSERT_TRUE(pt.ok()) << pt.status();
    EXPECT_EQ(pt->Reveal(), "session key bytes");
    // A wrong label fails.
    absl::StatusOr<Secret> wrong =
        key_->OaepDecrypt(*ct, absl::StrCat(label, "x"));
    EXPECT_EQ(wrong.status().code(), absl::StatusCode::kPermissionDenied);
  }
  EXPECT_EQ(PrivateKey::GenerateEd25519().OaepDecrypt("x", "").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(RsaTest, HybridSealLayoutAndFailures) {
  const std::string plaintext = "token_secret: 00000000-1111";
  absl::StatusOr<std::string> blob =
      HybridSeal(key_->public_key(), plaintext, "ns/name");
  ASSERT_TRUE(blob.ok()) << blob.status();
  // facts/sealed-secrets.md §1: len = 2 + k + n + 16, starts 0x02 0x00.
  EXPECT_EQ(blob->size(), 2 + 512 + plaintext.size() + 16);
  EXPECT_EQ((*blob)[0], '\x02');
  EXPECT_EQ((*blob)[1], '\x00');
  EXPECT_THAT(absl::Base64Escape(*blob), StartsWith("Ag"));

  absl::StatusOr<Secret> opened = HybridOpen(*key_, *blob, "ns/name");
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(opened->Reveal(), plaintext);

  EXPECT_EQ(HybridOpen(*key_, *blob, "ns").status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(HybridOpen(*key_, *blob, "").status().code(),
            absl::StatusCode::kPermissionDenied);
  std::string tampered = *blob;
  tampered.back() ^= 0x01;  // last byte of the GCM tag
  EXPECT_EQ(HybridOpen(*key_, tampered, "ns/name").status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(HybridOpen(*key_, "\x02", "ns/name").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(HybridOpen(*key_, blob->substr(0, 300), "ns/name").status().code(),
            absl::StatusCode::kInvalidArgument);

  // Fresh session key each time: same input, different blob.
  EXPECT_NE(*HybridSeal(key_->public_key(), plaintext, "ns/name"), *blob);
}

TEST_F(RsaTest, PemInteropWithOpenSsl) {
  // Ours (PKCS#1 "RSA PRIVATE KEY") -> openssl computes the same public key.
  std::string path = TestTempDir() + "/rsa.pem";
  Secret pem = *key_->ToPem(PrivateKeyPem::kTalos);
  EXPECT_THAT(std::string(pem.Reveal()),
              StartsWith("-----BEGIN RSA PRIVATE KEY-----\n"));
  WriteTestFile(path, pem.Reveal());
  EXPECT_EQ(OpenSsl({"pkey", "-in", path, "-pubout"}),
            key_->public_key().ToPem());
  // And openssl's OAEP-SHA256 with a label decrypts our ciphertext.
  std::string ct_path = TestTempDir() + "/oaep.bin";
  WriteTestFile(ct_path, *key_->public_key().OaepEncrypt("from us", "ns/name"));
  std::string label_hex = HexEncode("ns/name");
  EXPECT_EQ(OpenSsl({"pkeyutl", "-decrypt", "-inkey", path, "-in", ct_path,
                     "-pkeyopt", "rsa_padding_mode:oaep", "-pkeyopt",
                     "rsa_oaep_md:sha256", "-pkeyopt", "rsa_mgf1_md:sha256",
                     "-pkeyopt", "rsa_oaep_label:" + label_hex}),
            "from us");
}

// --- Sealed-secrets vectors made by the real sealing code ----------------

class SealedSecretsVectorsTest : public ::testing::Test {
 protected:
  static std::string Dir() {
    return RunfilePath("lib/secrets/testdata/sealed-secrets/");
  }
  void SetUp() override {
    absl::StatusOr<PrivateKey> key =
        PrivateKey::FromPem(Secret(ReadTestFile(Dir() + "key.pem")));
    ASSERT_TRUE(key.ok()) << key.status();
    key_.emplace(*std::move(key));
    YAML::Node secret = YAML::LoadFile(Dir() + "secret.yaml");
    for (const auto& entry : secret["data"]) {
      std::string decoded;
      ASSERT_TRUE(
          absl::Base64Unescape(entry.second.as<std::string>(), &decoded));
      expected_[entry.first.as<std::string>()] = decoded;
    }
    ASSERT_EQ(expected_.size(), 2u);
  }
  // Opens every encryptedData value of `file` with `label`.
  void ExpectOpens(const std::string& file, const std::string& label) {
    YAML::Node sealed = YAML::LoadFile(Dir() + file);
    int opened = 0;
    for (const auto& entry : sealed["spec"]["encryptedData"]) {
      std::string blob;
      ASSERT_TRUE(absl::Base64Unescape(entry.second.as<std::string>(), &blob));
      absl::StatusOr<Secret> value = HybridOpen(*key_, blob, label);
      ASSERT_TRUE(value.ok())
          << file << " " << entry.first << ": " << value.status();
      EXPECT_EQ(value->Reveal(), expected_[entry.first.as<std::string>()]);
      // Any other scope's label fails.
      for (std::string other :
           {"", "csi-proxmox", "csi-proxmox/proxmox-csi-plugin",
            "kube-system/proxmox-csi-plugin"}) {
        if (other == label) continue;
        EXPECT_EQ(HybridOpen(*key_, blob, other).status().code(),
                  absl::StatusCode::kPermissionDenied)
            << file << " label '" << other << "'";
      }
      ++opened;
    }
    EXPECT_EQ(opened, 2);
  }
  std::optional<PrivateKey> key_;
  std::map<std::string, std::string> expected_;
};

TEST_F(SealedSecretsVectorsTest, Strict) {
  ExpectOpens("sealed-strict.yaml", "csi-proxmox/proxmox-csi-plugin");
}
TEST_F(SealedSecretsVectorsTest, NamespaceWide) {
  ExpectOpens("sealed-namespace-wide.yaml", "csi-proxmox");
}
TEST_F(SealedSecretsVectorsTest, ClusterWide) {
  ExpectOpens("sealed-cluster-wide.yaml", "");
}
TEST_F(SealedSecretsVectorsTest, CertificateMatchesKey) {
  absl::StatusOr<Certificate> cert =
      Certificate::FromPem(ReadTestFile(Dir() + "cert.pem"));
  ASSERT_TRUE(cert.ok()) << cert.status();
  EXPECT_TRUE(*cert->public_key() == key_->public_key());
  EXPECT_EQ(cert->SubjectString(), "CN=sealed-secrets");
  // Sealed with the certificate's key, opened with the vector key.
  std::string blob = *HybridSeal(*cert->public_key(), "x", "");
  EXPECT_EQ(HybridOpen(*key_, blob, "")->Reveal(), "x");
}

// --- Keys in PEM, both ways with openssl ----------------------------------

TEST(PemTest, TalosLabels) {
  PrivateKey ed = PrivateKey::GenerateEd25519();
  Secret ed_pem = *ed.ToPem(PrivateKeyPem::kTalos);
  EXPECT_THAT(std::string(ed_pem.Reveal()),
              StartsWith("-----BEGIN ED25519 PRIVATE KEY-----\n"));
  EXPECT_TRUE(PrivateKey::FromPem(ed_pem)->public_key() == ed.public_key());
  EXPECT_THAT(std::string(ed.ToPem(PrivateKeyPem::kPkcs8)->Reveal()),
              StartsWith("-----BEGIN PRIVATE KEY-----\n"));

  PrivateKey ec = PrivateKey::GenerateEcdsaP256();
  Secret ec_pem = *ec.ToPem(PrivateKeyPem::kTalos);
  EXPECT_THAT(std::string(ec_pem.Reveal()),
              StartsWith("-----BEGIN EC PRIVATE KEY-----\n"));
  EXPECT_TRUE(PrivateKey::FromPem(ec_pem)->public_key() == ec.public_key());

  EXPECT_EQ(PrivateKey::FromPem(Secret::FromView("garbage")).status().code(),
            absl::StatusCode::kInvalidArgument);
  // An Ed25519 label on a non-Ed25519 PKCS#8 body is refused.
  std::string mislabelled =
      absl::StrReplaceAll(ec.ToPem(PrivateKeyPem::kPkcs8)->Reveal(),
                          {{"PRIVATE KEY", "ED25519 PRIVATE KEY"}});
  EXPECT_EQ(PrivateKey::FromPem(Secret(std::move(mislabelled))).status().code(),
            absl::StatusCode::kInvalidArgument);
  // Error messages carry no key material.
  absl::Status bad =
      PrivateKey::FromPem(
          Secret::FromView(
              "-----BEGIN PRIVATE KEY-----\nc2VjcmV0LWJ5dGVz\n-----END PRIVATE "
              "KEY-----\n"))
          .status();
  EXPECT_EQ(bad.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.message(), ::testing::Not(HasSubstr("c2VjcmV0")));
}

TEST(PemTest, OursReadByOpenSsl) {
  PrivateKey ed = PrivateKey::GenerateEd25519();
  PrivateKey ec = PrivateKey::GenerateEcdsaP256();
  struct Case {
    std::string name;
    PrivateKey key;
    PrivateKeyPem format;
  };
  for (const Case& c : {Case{"ed-pkcs8", ed, PrivateKeyPem::kPkcs8},
                        Case{"ec-sec1", ec, PrivateKeyPem::kTalos},
                        Case{"ec-pkcs8", ec, PrivateKeyPem::kPkcs8}}) {
    std::string path = absl::StrCat(TestTempDir(), "/", c.name, ".pem");
    WriteTestFile(path, c.key.ToPem(c.format)->Reveal());
    EXPECT_EQ(OpenSsl({"pkey", "-in", path, "-pubout"}),
              c.key.public_key().ToPem())
        << c.name;
  }
  // Talos' "ED25519 PRIVATE KEY" is PKCS#8 inside: with the label rewritten
  // (facts/talos.md §4), openssl reads it.
  std::string path = TestTempDir() + "/ed-talos.pem";
  WriteTestFile(path,
                absl::StrReplaceAll(ed.ToPem(PrivateKeyPem::kTalos)->Reveal(),
                                    {{"ED25519 PRIVATE KEY", "PRIVATE KEY"}}));
  EXPECT_EQ(OpenSsl({"pkey", "-in", path, "-pubout"}), ed.public_key().ToPem());

  // Our Ed25519 signature verifies with openssl.
  std::string pub_path = TestTempDir() + "/ed.pub.pem",
              msg_path = TestTempDir() + "/msg",
              sig_path = TestTempDir() + "/msg.sig";
  WriteTestFile(pub_path, ed.public_key().ToPem());
  WriteTestFile(msg_path, "signed by coldstart");
  WriteTestFile(sig_path, *ed.Sign("signed by coldstart"));
  EXPECT_THAT(OpenSsl({"pkeyutl", "-verify", "-pubin", "-inkey", pub_path,
                       "-rawin", "-in", msg_path, "-sigfile", sig_path}),
              HasSubstr("Signature Verified Successfully"));
}

TEST(PemTest, OpenSslKeysReadByUs) {
  struct Case {
    std::vector<std::string> genkey;
    KeyType type;
    std::string label;
  };
  const std::vector<Case> cases = {
      {{"genpkey", "-algorithm", "ED25519"}, KeyType::kEd25519, "PRIVATE KEY"},
      {{"ecparam", "-name", "prime256v1", "-genkey", "-noout"},
       KeyType::kEcdsaP256,
       "EC PRIVATE KEY"},
      {{"genrsa", "-traditional", "2048"}, KeyType::kRsa, "RSA PRIVATE KEY"},
  };
  for (const Case& c : cases) {
    std::string pem = OpenSsl(c.genkey);
    EXPECT_THAT(pem, HasSubstr("-----BEGIN " + c.label + "-----"));
    absl::StatusOr<PrivateKey> key = PrivateKey::FromPem(Secret::FromView(pem));
    ASSERT_TRUE(key.ok()) << c.label << ": " << key.status();
    EXPECT_EQ(key->type(), c.type);
    std::string openssl_pub = OpenSsl({"pkey", "-pubout"}, pem);
    EXPECT_EQ(key->public_key().ToPem(), openssl_pub) << c.label;
    EXPECT_TRUE(PublicKey::FromPem(openssl_pub).ok());
  }
}

// --- X.509 ---------------------------------------------------------------

CertificateTemplate CaTemplate(absl::Time now) {
  CertificateTemplate ca;
  ca.organizations = {"talos"};
  ca.is_ca = true;
  ca.key_usage = kKeyCertSign | kDigitalSignature;
  ca.server_auth = ca.client_auth = true;
  ca.not_before = now - absl::Minutes(5);
  ca.not_after = now + absl::Hours(87600);
  return ca;
}

CertificateTemplate LeafTemplate(absl::Time now) {
  CertificateTemplate leaf;
  leaf.common_name = "localhost";
  leaf.key_usage = kDigitalSignature;
  leaf.server_auth = true;
  leaf.dns_names = {"localhost"};
  leaf.ip_addresses = {"127.0.0.1"};
  leaf.not_before = now - absl::Minutes(5);
  leaf.not_after = now + absl::Hours(24);
  return leaf;
}

TEST(X509Test, CaAndLeafChainVerifies) {
  absl::Time now = absl::Now();
  PrivateKey ca_key = PrivateKey::GenerateEd25519();
  absl::StatusOr<Certificate> ca =
      IssueCertificate(CaTemplate(now), ca_key.public_key(), ca_key, nullptr);
  ASSERT_TRUE(ca.ok()) << ca.status();
  PrivateKey leaf_key = PrivateKey::GenerateEcdsaP256();
  absl::StatusOr<Certificate> leaf =
      IssueCertificate(LeafTemplate(now), leaf_key.public_key(), ca_key, &*ca);
  ASSERT_TRUE(leaf.ok()) << leaf.status();

  EXPECT_EQ(ca->SubjectString(), "O=talos");
  EXPECT_EQ(absl::ToUnixSeconds(leaf->not_after()),
            absl::ToUnixSeconds(now + absl::Hours(24)));
  EXPECT_TRUE(*leaf->public_key() == leaf_key.public_key());

  EXPECT_TRUE(VerifyCertificateChain(*leaf, {}, {*ca}, now, "127.0.0.1").ok());
  EXPECT_TRUE(VerifyCertificateChain(*leaf, {}, {*ca}, now, "localhost").ok());
  EXPECT_EQ(VerifyCertificateChain(*leaf, {}, {*ca}, now, "10.0.0.1").code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(
      VerifyCertificateChain(*leaf, {}, {*ca}, now + absl::Hours(48)).code(),
      absl::StatusCode::kPermissionDenied);

  // A leaf signed by another CA of the same name is refused.
  PrivateKey rogue_key = PrivateKey::GenerateEd25519();
  Certificate rogue_ca = *IssueCertificate(
      CaTemplate(now), rogue_key.public_key(), rogue_key, nullptr);
  Certificate rogue_leaf = *IssueCertificate(
      LeafTemplate(now), leaf_key.public_key(), rogue_key, &rogue_ca);
  absl::Status rogue = VerifyCertificateChain(rogue_leaf, {}, {*ca}, now);
  EXPECT_EQ(rogue.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(rogue.message(), HasSubstr("CN=localhost"));

  // Issuing with a key that does not match the issuer certificate fails.
  EXPECT_EQ(IssueCertificate(LeafTemplate(now), leaf_key.public_key(),
                             rogue_key, &*ca)
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(X509Test, OpenSslVerifiesOurChainAndReadsExtensions) {
  absl::Time now = absl::Now();
  PrivateKey ca_key = PrivateKey::GenerateEcdsaP256();
  Certificate ca =
      *IssueCertificate(CaTemplate(now), ca_key.public_key(), ca_key, nullptr);
  PrivateKey leaf_key = PrivateKey::GenerateEd25519();
  CertificateTemplate spec = LeafTemplate(now);
  spec.client_auth = true;
  Certificate leaf =
      *IssueCertificate(spec, leaf_key.public_key(), ca_key, &ca);
  std::string ca_path = TestTempDir() + "/ca.pem",
              leaf_path = TestTempDir() + "/leaf.pem";
  WriteTestFile(ca_path, ca.ToPem());
  WriteTestFile(leaf_path, leaf.ToPem());

  EXPECT_THAT(OpenSsl({"verify", "-CAfile", ca_path, "-verify_ip", "127.0.0.1",
                       leaf_path}),
              HasSubstr(": OK"));
  std::string text = OpenSsl({"x509", "-in", leaf_path, "-noout", "-text"});
  EXPECT_THAT(text, HasSubstr("DNS:localhost, IP Address:127.0.0.1"));
  EXPECT_THAT(text, HasSubstr("TLS Web Server Authentication, TLS Web Client "
                              "Authentication"));
  EXPECT_THAT(text, HasSubstr("CA:FALSE"));
  EXPECT_THAT(text, HasSubstr("Digital Signature"));
  std::string ca_text = OpenSsl({"x509", "-in", ca_path, "-noout", "-text"});
  EXPECT_THAT(ca_text, HasSubstr("CA:TRUE"));
  EXPECT_THAT(ca_text, HasSubstr("Certificate Sign"));

  std::string fingerprint =
      OpenSsl({"x509", "-in", leaf_path, "-noout", "-fingerprint", "-sha256"});
  EXPECT_THAT(
      absl::AsciiStrToLower(absl::StrReplaceAll(fingerprint, {{":", ""}})),
      HasSubstr(HexEncode(leaf.Sha256Fingerprint())));
}

TEST(X509Test, OpenSslCertificateReadByUs) {
  std::string key_path = TestTempDir() + "/self.key",
              cert_path = TestTempDir() + "/self.pem";
  OpenSsl({"req", "-x509", "-newkey", "ec", "-pkeyopt",
           "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key_path,
           "-out", cert_path, "-subj", "/CN=pve1", "-days", "2", "-addext",
           "subjectAltName=IP:127.0.0.1"});
  absl::StatusOr<Certificate> cert =
      Certificate::FromPem(ReadTestFile(cert_path));
  ASSERT_TRUE(cert.ok()) << cert.status();
  EXPECT_EQ(cert->SubjectString(), "CN=pve1");
  EXPECT_TRUE(
      VerifyCertificateChain(*cert, {}, {*cert}, absl::Now(), "127.0.0.1")
          .ok());
  absl::StatusOr<PrivateKey> key =
      PrivateKey::FromPem(Secret(ReadTestFile(key_path)));
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_TRUE(*cert->public_key() == key->public_key());
  EXPECT_EQ(Certificate::FromPem("not pem").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(X509Test, ReadsOrganizationsCaFlagAndExtendedKeyUsages) {
  absl::Time now = absl::Now();
  PrivateKey ca_key = PrivateKey::GenerateEd25519();
  CertificateTemplate ca_spec = CaTemplate(now);
  ca_spec.organizations = {"talos", "os:admin"};
  Certificate ca =
      *IssueCertificate(ca_spec, ca_key.public_key(), ca_key, nullptr);
  EXPECT_TRUE(ca.IsCa());
  EXPECT_THAT(ca.Organizations(), ::testing::ElementsAre("talos", "os:admin"));
  EXPECT_THAT(*ca.ExtendedKeyUsageOids(),
              ::testing::ElementsAre(kServerAuthOid, kClientAuthOid));

  PrivateKey leaf_key = PrivateKey::GenerateEcdsaP256();
  Certificate leaf =
      *IssueCertificate(LeafTemplate(now), leaf_key.public_key(), ca_key, &ca);
  EXPECT_FALSE(leaf.IsCa());
  EXPECT_THAT(leaf.Organizations(), ::testing::IsEmpty());
  EXPECT_THAT(*leaf.ExtendedKeyUsageOids(),
              ::testing::ElementsAre(kServerAuthOid));

  CertificateTemplate no_eku = LeafTemplate(now);
  no_eku.server_auth = false;
  Certificate plain =
      *IssueCertificate(no_eku, leaf_key.public_key(), ca_key, &ca);
  absl::StatusOr<std::vector<std::string>> none = plain.ExtendedKeyUsageOids();
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_THAT(*none, ::testing::IsEmpty());
}

TEST(X509Test, ReadsOpenSslSubjectAndExtendedKeyUsages) {
  std::string key_path = TestTempDir() + "/eku.key",
              cert_path = TestTempDir() + "/eku.pem";
  OpenSsl({"req", "-x509", "-newkey", "ed25519", "-nodes", "-keyout", key_path,
           "-out", cert_path, "-utf8", "-subj",
           "/O=os:admin/O=Ünïcode/CN=client", "-days", "2", "-addext",
           "basicConstraints=critical,CA:FALSE", "-addext",
           "extendedKeyUsage=clientAuth,1.2.3.4.5,anyExtendedKeyUsage"});
  absl::StatusOr<Certificate> cert =
      Certificate::FromPem(ReadTestFile(cert_path));
  ASSERT_TRUE(cert.ok()) << cert.status();
  EXPECT_FALSE(cert->IsCa());
  EXPECT_THAT(cert->Organizations(),
              ::testing::ElementsAre("os:admin", "Ünïcode"));
  EXPECT_THAT(*cert->ExtendedKeyUsageOids(),
              ::testing::ElementsAre(kClientAuthOid, "1.2.3.4.5",
                                     kAnyExtendedKeyUsageOid));

  // `openssl req -x509` marks its self-signed certificate CA:TRUE by default.
  OpenSsl({"req", "-x509", "-newkey", "ed25519", "-nodes", "-keyout", key_path,
           "-out", cert_path, "-subj", "/CN=root", "-days", "2"});
  cert = Certificate::FromPem(ReadTestFile(cert_path));
  ASSERT_TRUE(cert.ok()) << cert.status();
  EXPECT_TRUE(cert->IsCa());

  // An extended key usage extension whose value is NULL, not a SEQUENCE.
  OpenSsl({"req", "-x509", "-newkey", "ed25519", "-nodes", "-keyout", key_path,
           "-out", cert_path, "-subj", "/CN=broken", "-days", "2", "-addext",
           "extendedKeyUsage=DER:05:00"});
  cert = Certificate::FromPem(ReadTestFile(cert_path));
  ASSERT_TRUE(cert.ok()) << cert.status();
  EXPECT_EQ(cert->ExtendedKeyUsageOids().status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace coldstart
