#include "lib/secrets/keystore.h"

#include <dirent.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <cerrno>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/secrets/keystore_backends.h"
#include "lib/testing/files.h"
#include "lib/testing/secret_testing.h"

namespace coldstart {
namespace {

using ::coldstart::testing::TestTempDir;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

mode_t ModeOf(const std::string& path) {
  struct stat st;
  EXPECT_EQ(stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

std::vector<std::string> DirEntries(const std::string& dir) {
  std::vector<std::string> names;
  DIR* d = opendir(dir.c_str());
  while (struct dirent* e = readdir(d)) {
    std::string name = e->d_name;
    if (name != "." && name != "..") names.push_back(name);
  }
  closedir(d);
  return names;
}

std::string Describe(
    const absl::StatusOr<std::vector<KeystoreAttributes>>& items) {
  if (!items.ok()) return items.status().ToString();
  std::string out;
  for (const KeystoreAttributes& item : *items) {
    absl::StrAppend(&out, "{",
                    absl::StrJoin(item, ",", absl::PairFormatter("=")), "} ");
  }
  return out;
}

// --- The private Secret Service, shared by the whole binary ------------------

absl::Status* service_status = nullptr;

class SecretServiceEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    service_ = std::make_unique<PrivateSecretService>(TestTempDir() +
                                                      "/secret-service");
    service_status = new absl::Status(service_->Start());
    // Not skipping: without the daemon the secret-service tests fail.
    EXPECT_TRUE(service_status->ok()) << *service_status;
  }
  void TearDown() override {
    pid_t dbus = service_->dbus_pid(), keyring = service_->keyring_pid();
    service_->Stop();
    // No process is left behind.
    for (pid_t pid : {dbus, keyring}) {
      if (pid <= 0) continue;
      EXPECT_EQ(kill(pid, 0), -1) << "process " << pid << " still exists";
      EXPECT_EQ(errno, ESRCH);
    }
  }

 private:
  std::unique_ptr<PrivateSecretService> service_;
};

// --- file:DIR ----------------------------------------------------------------

TEST(FileKeystoreTest, CreatesPrivateDirectoryAndFiles) {
  std::string dir = TestTempDir() + "/ks-create";
  absl::StatusOr<std::unique_ptr<Keystore>> keystore =
      OpenKeystore("file:" + dir);
  ASSERT_TRUE(keystore.ok()) << keystore.status();
  EXPECT_EQ(ModeOf(dir), 0700);
  EXPECT_EQ((*keystore)->Describe(), "file:" + dir);

  KeystoreAttributes item = ClusterSecretAttributes("lab", "proxmox-token");
  ASSERT_TRUE((*keystore)
                  ->Store(item, "label",
                          Secret::FromView(absl::string_view("tok\0en", 6)))
                  .ok());
  std::vector<std::string> files = DirEntries(dir);
  ASSERT_EQ(files.size(), 1u);  // no temporary file left behind
  EXPECT_EQ(files[0], "cluster=lab,key=proxmox-token,service=coldstart");
  EXPECT_EQ(ModeOf(dir + "/" + files[0]), 0600);

  absl::StatusOr<Secret> value = (*keystore)->Lookup(item);
  ASSERT_TRUE(value.ok()) << value.status();
  EXPECT_EQ(value->Reveal(), absl::string_view("tok\0en", 6));

  // Replaced in place.
  ASSERT_TRUE((*keystore)->Store(item, "", Secret::FromView("v2")).ok());
  EXPECT_EQ((*keystore)->Lookup(item)->Reveal(), "v2");
  EXPECT_EQ(DirEntries(dir).size(), 1u);

  ASSERT_TRUE((*keystore)->Delete(item).ok());
  EXPECT_EQ((*keystore)->Lookup(item).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ((*keystore)->Delete(item).code(), absl::StatusCode::kNotFound);
}

TEST(FileKeystoreTest, RefusesGroupOrWorldAccessibleDirectory) {
  std::string dir = TestTempDir() + "/ks-0755";
  ASSERT_EQ(mkdir(dir.c_str(), 0700), 0);
  ASSERT_EQ(chmod(dir.c_str(), 0755), 0);
  absl::StatusOr<std::unique_ptr<Keystore>> keystore =
      OpenKeystore("file:" + dir);
  ASSERT_EQ(keystore.status().code(), absl::StatusCode::kPermissionDenied)
      << keystore.status();
  EXPECT_THAT(keystore.status().message(), HasSubstr("0755"));
  EXPECT_THAT(keystore.status().message(), HasSubstr("chmod 700"));

  // A directory that becomes accessible after opening is refused too.
  ASSERT_EQ(chmod(dir.c_str(), 0700), 0);
  keystore = OpenKeystore("file:" + dir);
  ASSERT_TRUE(keystore.ok()) << keystore.status();
  ASSERT_EQ(chmod(dir.c_str(), 0750), 0);
  EXPECT_EQ(
      (*keystore)
          ->Store(ClusterSecretAttributes("c", "k"), "", Secret::FromView("v"))
          .code(),
      absl::StatusCode::kPermissionDenied);
  EXPECT_TRUE(DirEntries(dir).empty());
}

TEST(FileKeystoreTest, RefusesReadableItemFile) {
  std::string dir = TestTempDir() + "/ks-file-mode";
  auto keystore = *OpenKeystore("file:" + dir);
  KeystoreAttributes item = ClusterSecretAttributes("lab", "talos-secrets");
  ASSERT_TRUE(keystore->Store(item, "", Secret::FromView("s")).ok());
  std::string path = dir + "/" + keystore_internal::FileNameForAttributes(item);
  ASSERT_EQ(chmod(path.c_str(), 0644), 0);
  absl::StatusOr<Secret> value = keystore->Lookup(item);
  EXPECT_EQ(value.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(value.status().message(), HasSubstr("0644"));
}

TEST(FileKeystoreTest, RefusesNonDirectory) {
  std::string path = TestTempDir() + "/ks-not-a-dir";
  FILE* f = fopen(path.c_str(), "w");
  fclose(f);
  EXPECT_EQ(OpenKeystore("file:" + path).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(FileKeystoreTest, SearchAndAttributeEncoding) {
  auto keystore = *OpenKeystore("file:" + TestTempDir() + "/ks-search");
  KeystoreAttributes odd = {{"service", "coldstart"},
                            {"cluster", "a/b,c=d%"},
                            {"key", "ünïcode key"}};
  ASSERT_TRUE(keystore->Store(odd, "", Secret::FromView("1")).ok());
  ASSERT_TRUE(keystore
                  ->Store(ClusterSecretAttributes("other", "k"), "",
                          Secret::FromView("2"))
                  .ok());
  ASSERT_TRUE(keystore
                  ->Store(SealingKeyAttributes(SealingKeyPart::kPrivateKey), "",
                          Secret::FromView("3"))
                  .ok());
  EXPECT_EQ(keystore->Lookup(odd)->Reveal(), "1");
  absl::StatusOr<std::vector<KeystoreAttributes>> found =
      keystore->Search({{"service", "coldstart"}});
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_THAT(*found,
              UnorderedElementsAre(odd, ClusterSecretAttributes("other", "k")));
  EXPECT_EQ(keystore->Search({{"service", "none"}})->size(), 0u);

  KeystoreAttributes decoded;
  EXPECT_TRUE(keystore_internal::AttributesFromFileName(
      keystore_internal::FileNameForAttributes(odd), &decoded));
  EXPECT_EQ(decoded, odd);
  EXPECT_FALSE(keystore_internal::AttributesFromFileName("a=%zz", &decoded));
}

TEST(KeystoreSpecTest, FactoryAndSelection) {
  EXPECT_EQ(OpenKeystore("vault").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(OpenKeystore("file:").status().code(),
            absl::StatusCode::kInvalidArgument);
  unsetenv(kKeystoreEnvironmentVariable);
  EXPECT_EQ(KeystoreSpec(""), "secret-service");
  setenv(kKeystoreEnvironmentVariable, "file:/x", 1);
  EXPECT_EQ(KeystoreSpec(""), "file:/x");
  EXPECT_EQ(KeystoreSpec("file:/flag"), "file:/flag");
  unsetenv(kKeystoreEnvironmentVariable);
}

TEST(ItemNamingTest, PlaybookAttributes) {
  EXPECT_EQ(SealingKeyAttributes(SealingKeyPart::kPrivateKey),
            (KeystoreAttributes{{"service", "sealed-secrets"},
                                {"key", "private_key"}}));
  EXPECT_EQ(SealingKeyAttributes(SealingKeyPart::kCertificate),
            (KeystoreAttributes{{"service", "sealed-secrets"},
                                {"key", "public_key"}}));
  EXPECT_EQ(ClusterSecretAttributes("lab", "flux-deploy-key"),
            (KeystoreAttributes{{"service", "coldstart"},
                                {"cluster", "lab"},
                                {"key", "flux-deploy-key"}}));
}

// Sealing-key rotation, run against both backends.
void ExpectSealingKeyRotation(Keystore& keystore) {
  SealingKey first{Secret::FromView("PRIVATE-1"), "CERT-1"};
  SealingKey second{Secret::FromView("PRIVATE-2"), "CERT-2"};
  ASSERT_TRUE(AddSealingKey(keystore, first).ok());
  ASSERT_TRUE(AddSealingKey(keystore, first).ok());  // no-op
  ASSERT_TRUE(AddSealingKey(keystore, second).ok());

  EXPECT_EQ(keystore.Lookup(SealingKeyAttributes(SealingKeyPart::kPrivateKey))
                ->Reveal(),
            "PRIVATE-2");
  absl::StatusOr<std::vector<SealingKey>> keys = LoadSealingKeys(keystore);
  ASSERT_TRUE(keys.ok()) << keys.status();
  ASSERT_EQ(keys->size(), 2u);
  EXPECT_EQ((*keys)[0].private_key_pem.Reveal(), "PRIVATE-2");
  EXPECT_EQ((*keys)[0].certificate_pem, "CERT-2");
  EXPECT_EQ((*keys)[1].private_key_pem.Reveal(), "PRIVATE-1");
  EXPECT_EQ((*keys)[1].certificate_pem, "CERT-1");
  EXPECT_EQ(keystore.Search({{"service", "sealed-secrets"}})->size(), 4u);

  // Half a pair is reported, not silently dropped.
  ASSERT_TRUE(
      keystore.Delete(SealingKeyAttributes(SealingKeyPart::kCertificate)).ok());
  EXPECT_EQ(LoadSealingKeys(keystore).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(FileKeystoreTest, HoldsSeveralSealingKeys) {
  auto keystore = *OpenKeystore("file:" + TestTempDir() + "/ks-sealing");
  ExpectSealingKeyRotation(*keystore);
}

// --- secret-service (private gnome-keyring)
// ---------------------------------------

class SecretServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(service_status != nullptr && service_status->ok())
        << "private gnome-keyring did not start: "
        << (service_status ? *service_status : absl::UnknownError("no env"));
    absl::StatusOr<std::unique_ptr<Keystore>> keystore =
        OpenKeystore("secret-service");
    ASSERT_TRUE(keystore.ok()) << keystore.status();
    keystore_ = *std::move(keystore);
    // Each test starts from an empty keyring.
    for (const char* service : {"sealed-secrets", "coldstart"}) {
      absl::StatusOr<std::vector<KeystoreAttributes>> items =
          keystore_->Search({{"service", service}});
      ASSERT_TRUE(items.ok()) << items.status();
      for (const KeystoreAttributes& item : *items) {
        ASSERT_TRUE(keystore_->Delete(item).ok());
      }
    }
  }

  static ProcessResult SecretTool(std::vector<std::string> args,
                                  absl::string_view in = {}) {
    args.insert(args.begin(), "/usr/bin/secret-tool");
    absl::StatusOr<ProcessResult> result = RunProcess(args, in);
    EXPECT_TRUE(result.ok()) << result.status();
    return result.ok() ? *result : ProcessResult{};
  }

  std::unique_ptr<Keystore> keystore_;
};

TEST_F(SecretServiceTest, StoreLookupDelete) {
  KeystoreAttributes item = ClusterSecretAttributes("lab", "headscale-api-key");
  ASSERT_TRUE(
      keystore_->Store(item, "lab headscale", Secret::FromView("hs-key")).ok());
  absl::StatusOr<Secret> value = keystore_->Lookup(item);
  ASSERT_TRUE(value.ok()) << value.status();
  EXPECT_EQ(value->Reveal(), "hs-key");

  // Exact match: a superset item is a different item.
  KeystoreAttributes superset = item;
  superset["extra"] = "1";
  ASSERT_TRUE(keystore_->Store(superset, "x", Secret::FromView("other")).ok());
  EXPECT_EQ(keystore_->Lookup(item)->Reveal(), "hs-key");
  absl::StatusOr<Secret> other = keystore_->Lookup(superset);
  ASSERT_TRUE(other.ok()) << other.status() << "; items: "
                          << Describe(
                                 keystore_->Search({{"service", "coldstart"}}));
  EXPECT_EQ(other->Reveal(), "other");

  ASSERT_TRUE(keystore_->Store(item, "lab", Secret::FromView("hs-key-2")).ok());
  EXPECT_EQ(keystore_->Lookup(item)->Reveal(), "hs-key-2");
  EXPECT_EQ(keystore_->Search({{"service", "coldstart"}})->size(), 2u);

  ASSERT_TRUE(keystore_->Delete(item).ok());
  EXPECT_EQ(keystore_->Lookup(item).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(keystore_->Delete(item).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(keystore_->Lookup(superset)->Reveal(), "other");
}

TEST_F(SecretServiceTest, StoredByUsFoundBySecretTool) {
  const std::string pem =
      "-----BEGIN RSA PRIVATE KEY-----\nMIIJ...\n-----END RSA PRIVATE "
      "KEY-----\n";
  ASSERT_TRUE(keystore_
                  ->Store(SealingKeyAttributes(SealingKeyPart::kPrivateKey),
                          "sealed-secrets private key", Secret::FromView(pem))
                  .ok());
  // The playbook's exact command.
  ProcessResult lookup =
      SecretTool({"lookup", "service", "sealed-secrets", "key", "private_key"});
  EXPECT_EQ(lookup.exit_code, 0) << lookup.err;
  EXPECT_EQ(absl::StripSuffix(lookup.out, "\n"), absl::StripSuffix(pem, "\n"));
}

TEST_F(SecretServiceTest, StoredBySecretToolFoundByUs) {
  // As the playbook stores the pair.
  ProcessResult store =
      SecretTool({"store", "--label=sealed-secrets public key", "service",
                  "sealed-secrets", "key", "public_key"},
                 "CERT-FROM-PLAYBOOK");
  ASSERT_EQ(store.exit_code, 0) << store.err;
  store = SecretTool({"store", "--label=token", "service", "coldstart",
                      "cluster", "lab", "key", "proxmox-token"},
                     "PVE-TOKEN");
  ASSERT_EQ(store.exit_code, 0) << store.err;

  absl::StatusOr<Secret> cert =
      keystore_->Lookup(SealingKeyAttributes(SealingKeyPart::kCertificate));
  ASSERT_TRUE(cert.ok()) << cert.status();
  EXPECT_EQ(cert->Reveal(), "CERT-FROM-PLAYBOOK");
  absl::StatusOr<Secret> token =
      keystore_->Lookup(ClusterSecretAttributes("lab", "proxmox-token"));
  ASSERT_TRUE(token.ok()) << token.status();
  EXPECT_EQ(token->Reveal(), "PVE-TOKEN");
}

TEST_F(SecretServiceTest, HoldsSeveralSealingKeysAndPlaybookSeesNewest) {
  ExpectSealingKeyRotation(*keystore_);
  // Restore the certificate deleted at the end of the rotation check.
  ASSERT_TRUE(keystore_
                  ->Store(SealingKeyAttributes(SealingKeyPart::kCertificate),
                          "", Secret::FromView("CERT-2"))
                  .ok());
  ProcessResult lookup =
      SecretTool({"lookup", "service", "sealed-secrets", "key", "private_key"});
  EXPECT_EQ(lookup.exit_code, 0) << lookup.err;
  EXPECT_EQ(absl::StripSuffix(lookup.out, "\n"), "PRIVATE-2");
}

}  // namespace
}  // namespace coldstart

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::AddGlobalTestEnvironment(
      new coldstart::SecretServiceEnvironment());
  return RUN_ALL_TESTS();
}
