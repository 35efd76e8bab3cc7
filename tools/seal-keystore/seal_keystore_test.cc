#include "tools/seal-keystore/seal_keystore.h"

#include <filesystem>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/cli/cluster_textproto.h"
#include "lib/secrets/crypto.h"
#include "lib/secrets/keystore.h"
#include "lib/testing/fake_clock.h"
#include "lib/testing/files.h"
#include "lib/testing/secret_testing.h"
#include "tools/seal-keystore/seal_keystore_testing.h"
#include "tools/seal-keystore/sealed_secret.h"
#include "tools/seal-keystore/sealing_keys.h"

namespace coldstart {
namespace {

namespace fs = std::filesystem;
using ::coldstart::testing::MakeTempDir;
using ::coldstart::testing::ReadTestFile;
using ::coldstart::testing::RunfilePath;
using ::coldstart::testing::RunSealKeystore;
using ::coldstart::testing::Vector;
using ::testing::HasSubstr;

void Write(const std::string& path, const std::string& text) {
  fs::create_directories(fs::path(path).parent_path());
  ::coldstart::testing::WriteTestFile(path, text);
}
std::string Read(const std::string& path) { return ReadTestFile(path); }

using Outcome = ::coldstart::testing::SealKeystoreOutcome;

// Another RSA key pair as the controller would make it (2048 bits to keep
// the test fast), NotBefore `not_before`.
SealingKey MakeKey(absl::Time not_before) {
  absl::StatusOr<PrivateKey> key = PrivateKey::GenerateRsa(2048);
  CertificateTemplate spec;
  spec.is_ca = true;
  spec.key_usage = kEncipherOnly;
  spec.not_before = not_before;
  spec.not_after = not_before + absl::Hours(87600);
  absl::StatusOr<Certificate> certificate =
      IssueCertificate(spec, key->public_key(), *key, nullptr);
  return SealingKey{*key->ToPem(), certificate->ToPem()};
}

std::string KeySecretYaml(const std::string& name, const SealingKey& key) {
  return absl::StrCat("apiVersion: v1\nkind: Secret\nmetadata:\n  name: ", name,
                      "\n  namespace: kube-system\n  labels:\n    "
                      "sealedsecrets.bitnami.com/sealed-secrets-key: active\n"
                      "type: kubernetes.io/tls\ndata:\n  tls.crt: ",
                      absl::Base64Escape(key.certificate_pem), "\n  tls.key: ",
                      absl::Base64Escape(key.private_key_pem.Reveal()), "\n");
}

// --- A real gnome-keyring in a private D-Bus session -------------------------

TEST(SealKeystoreKeyringTest, PlaybookPairIsUsedAndInitIsFoundBySecretTool) {
  const std::string dir = MakeTempDir("keyring");
  PrivateSecretService service(dir + "/service");
  ASSERT_TRUE(service.Start().ok());

  // The playbook's commands store a pair (secret-tool needs --label).
  for (auto [part, file] : std::vector<std::pair<std::string, std::string>>{
           {"private_key", "key.pem"}, {"public_key", "cert.pem"}}) {
    absl::StatusOr<ProcessResult> stored = RunProcess(
        {"/usr/bin/secret-tool", "store", "--label=sealed-secrets " + part,
         "service", "sealed-secrets", "key", part},
        Vector(file));
    ASSERT_TRUE(stored.ok()) << stored.status();
    ASSERT_EQ(stored->exit_code, 0) << stored->err;
  }
  // Our seal uses it: the vector key opens what it sealed.
  SealKeystoreOptions seal;
  seal.command = "seal";
  seal.common.keystore = "secret-service";
  Write(dir + "/secret.yaml", Vector("secret.yaml"));
  seal.args = {dir + "/secret.yaml"};
  Outcome sealed = RunSealKeystore(seal);
  ASSERT_TRUE(sealed.status.ok()) << sealed.status;
  absl::StatusOr<std::vector<SealedSecretDocument>> documents =
      ParseSealedSecrets(sealed.out, "seal output");
  ASSERT_TRUE(documents.ok() && documents->size() == 1u);
  absl::StatusOr<PrivateKey> vector_key =
      PrivateKey::FromPem(Secret::FromView(Vector("key.pem")));
  ASSERT_TRUE(vector_key.ok());
  absl::StatusOr<SecretObject> opened =
      UnsealSecret((*documents)[0].object, {*vector_key});
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(opened->data.at("username").Reveal(), "admin");

  // init with a pair present: nothing changes.
  SealKeystoreOptions init;
  init.command = "init";
  init.common.keystore = "secret-service";
  ASSERT_TRUE(RunSealKeystore(init).status.ok());
  absl::StatusOr<ProcessResult> lookup =
      RunProcess({"/usr/bin/secret-tool", "lookup", "service", "sealed-secrets",
                  "key", "private_key"});
  ASSERT_TRUE(lookup.ok());
  EXPECT_EQ(lookup->out, Vector("key.pem"));

  // An empty keyring: init makes a key that secret-tool finds.
  absl::StatusOr<ProcessResult> cleared = RunProcess(
      {"/usr/bin/secret-tool", "clear", "service", "sealed-secrets"});
  ASSERT_TRUE(cleared.ok() && cleared->exit_code == 0);
  Outcome made = RunSealKeystore(init);
  ASSERT_TRUE(made.status.ok()) << made.status;
  EXPECT_EQ(made.out, "");  // no key material on stdout
  lookup = RunProcess({"/usr/bin/secret-tool", "lookup", "service",
                       "sealed-secrets", "key", "private_key"});
  ASSERT_TRUE(lookup.ok());
  EXPECT_THAT(lookup->out, HasSubstr("-----BEGIN RSA PRIVATE KEY-----"));
  absl::StatusOr<PrivateKey> ours =
      PrivateKey::FromPem(Secret::FromView(lookup->out));
  ASSERT_TRUE(ours.ok());
  EXPECT_EQ(ours->public_key().RsaModulusBytes(), 512u);
  EXPECT_FALSE(ours->public_key() == vector_key->public_key());
  absl::StatusOr<ProcessResult> certificate =
      RunProcess({"/usr/bin/secret-tool", "lookup", "service", "sealed-secrets",
                  "key", "public_key"});
  ASSERT_TRUE(certificate.ok());
  absl::StatusOr<Certificate> parsed = Certificate::FromPem(certificate->out);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->SubjectString(), "CN=sealed-secrets");
  EXPECT_TRUE(*parsed->public_key() == ours->public_key());
  // cert prints it.
  SealKeystoreOptions cert;
  cert.command = "cert";
  cert.common.keystore = "secret-service";
  EXPECT_EQ(RunSealKeystore(cert).out, certificate->out);
  service.Stop();
}

// --- File keystore
// ------------------------------------------------------------

class SealKeystoreFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir("seal_keystore");
    keystore_ = "file:" + dir_ + "/keystore";
    Write(dir_ + "/key.pem", Vector("key.pem"));
    Write(dir_ + "/cert.pem", Vector("cert.pem"));
    ASSERT_TRUE(
        Command("import", {dir_ + "/key.pem", dir_ + "/cert.pem"}).status.ok());
  }
  SealKeystoreOptions Options(const std::string& command,
                              std::vector<std::string> args = {}) {
    SealKeystoreOptions options;
    options.command = command;
    options.args = std::move(args);
    options.common.keystore = keystore_;
    return options;
  }
  Outcome Run(const SealKeystoreOptions& options) {
    return RunSealKeystore(options, &clock_);
  }
  Outcome Command(const std::string& command,
                  std::vector<std::string> args = {}) {
    return Run(Options(command, std::move(args)));
  }
  // seal of the test vector Secret, from a file.
  SealKeystoreOptions SealVector() {
    Write(dir_ + "/secret.yaml", Vector("secret.yaml"));
    return Options("seal", {dir_ + "/secret.yaml"});
  }
  // seal --batch of the lab spec with the CSI token in the keystore.
  SealKeystoreOptions Batch(const v1::Cluster& cluster) {
    Write(dir_ + "/in.txtpb", ClusterToText(cluster));
    SealKeystoreOptions batch = Options("seal");
    batch.batch = true;
    batch.common.in = dir_ + "/in.txtpb";
    batch.gitops_checkout = dir_ + "/gitops";
    return batch;
  }
  void StoreCsiToken(const std::string& value) {
    auto keystore = OpenKeystore(keystore_);
    ASSERT_TRUE(keystore.ok());
    ASSERT_TRUE((*keystore)
                    ->Store(ClusterSecretAttributes("test-cluster",
                                                    "proxmox-csi-token"),
                            "csi token", Secret::FromView(value))
                    .ok());
  }
  v1::Cluster Lab() {
    absl::StatusOr<ParsedCluster> lab =
        ReadClusterFile(RunfilePath("testdata/lab.txtpb"));
    EXPECT_TRUE(lab.ok()) << lab.status();
    return lab.ok() ? lab->cluster : v1::Cluster();
  }
  std::vector<SealingKeyPair> Keys() {
    auto keystore = OpenKeystore(keystore_);
    auto keys = LoadSealingKeyPairs(**keystore);
    EXPECT_TRUE(keys.ok()) << keys.status();
    return *keys;
  }

  std::string dir_;
  std::string keystore_;
  FakeClock clock_{absl::Now()};
};

TEST_F(SealKeystoreFileTest, ImportIsIdempotentAndKeepsEveryKey) {
  ASSERT_EQ(Keys().size(), 1u);
  const std::string vector_id = Keys()[0].id;
  EXPECT_TRUE(Command("import", {dir_ + "/key.pem"}).status.ok());
  EXPECT_EQ(Keys().size(), 1u);
  // A kubectl backup with a newer key (and the vector key again).
  const SealingKey newer = MakeKey(clock_.now);
  const SealingKey vector{Secret::FromView(Vector("key.pem")),
                          Vector("cert.pem")};
  Write(dir_ + "/backup.yaml",
        absl::StrCat(KeySecretYaml("sealed-secrets-keyabcde", newer), "---\n",
                     KeySecretYaml("sealed-secrets-key", vector)));
  ASSERT_TRUE(Command("import", {dir_ + "/backup.yaml"}).status.ok());
  std::vector<SealingKeyPair> keys = Keys();
  ASSERT_EQ(keys.size(), 2u);
  EXPECT_EQ(keys[0].stored.certificate_pem, newer.certificate_pem);  // newest
  EXPECT_EQ(keys[1].id, vector_id);                                  // archived
  // An older key imported later is archived, not made newest.
  const SealingKey older = MakeKey(clock_.now - absl::Hours(24 * 365));
  Write(dir_ + "/older.yaml", KeySecretYaml("sealed-secrets-keyold", older));
  ASSERT_TRUE(Command("import", {dir_ + "/older.yaml"}).status.ok());
  keys = Keys();
  ASSERT_EQ(keys.size(), 3u);
  EXPECT_EQ(keys[0].stored.certificate_pem, newer.certificate_pem);
  // A key that does not match its certificate is refused, naming the Secret.
  SealingKey mismatched{older.private_key_pem, newer.certificate_pem};
  Write(dir_ + "/bad.yaml", KeySecretYaml("sealed-secrets-keybad", mismatched));
  Outcome bad = Command("import", {dir_ + "/bad.yaml"});
  EXPECT_EQ(bad.status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.status.message(), HasSubstr("sealed-secrets-keybad"));
  EXPECT_THAT(bad.status.message(), HasSubstr("not for this private key"));
}

TEST_F(SealKeystoreFileTest, ExpiredCertificateIsRefusedUntilRenewed) {
  clock_.now = Keys()[0].certificate.not_after() + absl::Hours(1);
  Outcome sealed = Run(SealVector());
  EXPECT_EQ(sealed.status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(sealed.status.message(), HasSubstr("renew-cert"));
  EXPECT_EQ(sealed.out, "");
  const std::string id = Keys()[0].id;
  ASSERT_TRUE(Command("renew-cert").status.ok());
  std::vector<SealingKeyPair> keys = Keys();
  ASSERT_EQ(keys.size(), 1u);
  EXPECT_EQ(keys[0].id, id);  // same key
  EXPECT_GT(keys[0].certificate.not_after(), clock_.now);
  sealed = Run(SealVector());
  ASSERT_TRUE(sealed.status.ok()) << sealed.status;
  // Not due: renew-cert does nothing.
  const std::string pem = keys[0].stored.certificate_pem;
  ASSERT_TRUE(Command("renew-cert").status.ok());
  EXPECT_EQ(Keys()[0].stored.certificate_pem, pem);
}

TEST_F(SealKeystoreFileTest, CheckListsWhatAnotherKeySealed) {
  const SealingKey other = MakeKey(clock_.now);
  Write(dir_ + "/other.pem", other.certificate_pem);
  SealKeystoreOptions seal = SealVector();
  seal.cert_file = dir_ + "/other.pem";
  Outcome foreign = Run(seal);
  ASSERT_TRUE(foreign.status.ok()) << foreign.status;
  Write(dir_ + "/repo/a/foreign.yaml", foreign.out);
  Write(dir_ + "/repo/b/strict.yaml", Vector("sealed-strict.yaml"));
  Write(dir_ + "/repo/b/notes.txt", "not a manifest");
  Outcome check = Command("check", {dir_ + "/repo"});
  EXPECT_EQ(check.status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(check.status.message(), HasSubstr("1 of 2 SealedSecret(s)"));
  EXPECT_EQ(check.out,
            "a/foreign.yaml:2: SealedSecret csi-proxmox/proxmox-csi-plugin "
            "(strict): does not decrypt: config.yaml (no key could decrypt "
            "secret), username (no key could decrypt secret)\n");
  // Importing that key fixes it.
  Write(dir_ + "/other-key.pem", std::string(other.private_key_pem.Reveal()));
  ASSERT_TRUE(Command("import", {dir_ + "/other-key.pem", dir_ + "/other.pem"})
                  .status.ok());
  EXPECT_TRUE(Command("check", {dir_ + "/repo"}).status.ok());
}

// The lab's Proxmox is trusted through a private CA (ca_file): the CSI
// plugin's config needs spec.proxmox.csi_insecure.
TEST_F(SealKeystoreFileTest,
       BatchSealsTheSpecItemsAndKeepsUnchangedCiphertext) {
  StoreCsiToken("kubernetes-csi@pve!csi=00000000-aaaa-bbbb-cccc-000000000000");
  v1::Cluster lab = Lab();
  lab.mutable_spec()->mutable_proxmox()->set_csi_insecure(true);
  SealKeystoreOptions batch = Batch(lab);
  Outcome first = Run(batch);
  ASSERT_TRUE(first.status.ok()) << first.status;
  EXPECT_THAT(first.err, HasSubstr("will not verify the TLS certificate"));
  const std::string path =
      dir_ + "/gitops/k8s/csi-proxmox/proxmox-csi-plugin.sealed.yaml";
  const std::string sealed = Read(path);
  ASSERT_FALSE(sealed.empty());
  absl::StatusOr<ParsedCluster> out = ParseClusterText(first.out, "out");
  ASSERT_TRUE(out.ok()) << out.status();
  ASSERT_EQ(out->cluster.status().seal().items_size(), 1);
  EXPECT_EQ(out->cluster.status().seal().items(0).certificate_sha256(),
            HexEncode(Keys()[0].certificate.Sha256Fingerprint()));
  EXPECT_EQ(first.out.find("00000000-aaaa"), std::string::npos);
  EXPECT_EQ(first.err.find("00000000-aaaa"), std::string::npos);

  Outcome unsealed = Command("unseal", {path});
  ASSERT_TRUE(unsealed.status.ok()) << unsealed.status;
  auto secrets = ParseSecrets(unsealed.out, "unsealed");
  ASSERT_TRUE(secrets.ok());
  EXPECT_EQ((*secrets)[0].data.at("config.yaml").Reveal(),
            "clusters:\n- url: \"https://127.0.10.1:8006/api2/json\"\n"
            "  insecure: true\n"
            "  token_id: \"kubernetes-csi@pve!csi\"\n"
            "  token_secret: \"00000000-aaaa-bbbb-cccc-000000000000\"\n"
            "  region: agentydragon\n");

  // Re-run: the file is byte-identical (git shows no diff).
  clock_.now += absl::Hours(1);
  Outcome second = Run(batch);
  ASSERT_TRUE(second.status.ok()) << second.status;
  EXPECT_EQ(Read(path), sealed);
  // A changed token is re-sealed.
  StoreCsiToken("rotated");
  ASSERT_TRUE(Run(batch).status.ok());
  EXPECT_NE(Read(path), sealed);
  // --dry-run writes nothing.
  const std::string before = Read(path);
  StoreCsiToken("again");
  batch.common.dry_run = true;
  ASSERT_TRUE(Run(batch).status.ok());
  EXPECT_EQ(Read(path), before);
}

TEST_F(SealKeystoreFileTest, BatchRefusesACsiConfigWithoutVerification) {
  StoreCsiToken("kubernetes-csi@pve!csi=00000000-aaaa-bbbb-cccc-000000000000");
  v1::Cluster lab = Lab();  // ca_file (a private CA) ...
  lab.mutable_spec()->mutable_proxmox()->clear_csi_insecure();  // ... alone
  Outcome outcome = Run(Batch(lab));
  EXPECT_EQ(outcome.status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(outcome.status.message(), HasSubstr("lab-ca.pem"));
  EXPECT_THAT(outcome.status.message(),
              HasSubstr("spec.proxmox.csi_insecure: true"));
  EXPECT_FALSE(fs::exists(dir_ + "/gitops"));
}

TEST_F(SealKeystoreFileTest, MissingTokenIsAClearFailure) {
  v1::Cluster lab = Lab();
  lab.mutable_spec()->mutable_proxmox()->set_csi_insecure(true);
  Outcome outcome = Run(Batch(lab));
  EXPECT_EQ(outcome.status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(outcome.status.message(),
              HasSubstr("keystore item proxmox-csi-token"));
  EXPECT_THAT(outcome.status.message(), HasSubstr("provision-vms"));
}

// --- Bad input, as a new user gives it
// -----------------------------------------

TEST_F(SealKeystoreFileTest, BatchValidatesTheSpec) {
  StoreCsiToken("kubernetes-csi@pve!csi=00000000-aaaa-bbbb-cccc-000000000000");
  v1::Cluster lab = Lab();
  lab.mutable_spec()->mutable_proxmox()->set_csi_insecure(true);
  lab.mutable_spec()->mutable_nodes(1)->set_ip(lab.spec().nodes(0).ip());
  Outcome outcome = Run(Batch(lab));
  EXPECT_EQ(outcome.status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(outcome.status.message()),
              ::testing::MatchesRegex(".*in\\.txtpb:[0-9]+:[0-9]+: .*"));
  EXPECT_FALSE(fs::exists(dir_ + "/gitops"));
  EXPECT_EQ(outcome.out, "");
}

TEST_F(SealKeystoreFileTest, UnterminatedQuotedStringIsRefusedWhereItStarts) {
  for (const char* tail :
       {"  password: \"s3cr3t\n  user: admin\n", "  password: 's3cr3t\n"}) {
    Write(dir_ + "/open.yaml",
          absl::StrCat("apiVersion: v1\nkind: Secret\nmetadata:\n  name: a\n"
                       "  namespace: b\nstringData:\n",
                       tail));
    Outcome outcome = Command("seal", {dir_ + "/open.yaml"});
    EXPECT_EQ(outcome.status.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(outcome.status.message(), HasSubstr("open.yaml:7:13: "));
    EXPECT_THAT(outcome.status.message(), HasSubstr("unterminated"));
    EXPECT_EQ(outcome.out, "");
  }
  // Closed quotes, escapes and '' inside are fine.
  Write(dir_ + "/closed.yaml",
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: a\n  namespace: b\n"
        "stringData:\n  p: \"a\\\"b\"\n  q: 'it''s'\n  r: &x \"y\"\n"
        "  s: *x\n");
  Outcome closed = Command("seal", {dir_ + "/closed.yaml"});
  ASSERT_TRUE(closed.status.ok()) << closed.status;
}

TEST_F(SealKeystoreFileTest, HugeValuesAreAbbreviatedInMessages) {
  const std::string huge(50 << 20, 'x');
  Write(dir_ + "/kind.yaml", absl::StrCat("apiVersion: v1\nkind: ", huge,
                                          "\nmetadata:\n  name: a\n"));
  Write(dir_ + "/name.yaml",
        absl::StrCat("apiVersion: v1\nkind: Secret\nmetadata:\n  name: ", huge,
                     "\n  namespace: b\n"));
  for (const char* file : {"/kind.yaml", "/name.yaml"}) {
    Outcome outcome = Command("seal", {dir_ + file});
    EXPECT_EQ(outcome.status.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_LT(outcome.status.message().size(), 400u) << file;
    EXPECT_THAT(outcome.status.message(), HasSubstr(file));
  }
  SealKeystoreOptions scope = SealVector();
  scope.scope = huge;
  Outcome outcome = Run(scope);
  EXPECT_EQ(outcome.status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_LT(outcome.status.message().size(), 400u);
}

TEST_F(SealKeystoreFileTest, MissingOrUnreadableCertFileIsBadInput) {
  SealKeystoreOptions seal = SealVector();
  seal.cert_file = dir_ + "/missing.pem";
  Outcome missing = Run(seal);
  EXPECT_EQ(missing.status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(missing.status.message(), HasSubstr("missing.pem"));
  Write(dir_ + "/garbage.pem", "not a certificate");
  seal.cert_file = dir_ + "/garbage.pem";
  Outcome garbage = Run(seal);
  EXPECT_EQ(garbage.status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(garbage.status.message(), HasSubstr("garbage.pem"));
  seal.cert_file = dir_;  // a directory
  EXPECT_EQ(Run(seal).status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(missing.out + garbage.out, "");
}

}  // namespace
}  // namespace coldstart

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
