// backup and restore against the lab's Kubernetes simulator (lab/kube's API
// server over HTTPS with client certificates, through lib/kube and a real
// kubeconfig) with the lab's sealed-secrets controller in it.
#include <sys/stat.h>

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lab/kube/api_server.h"
#include "lab/kube/sealed_secrets/sealed_secrets_controller.h"
#include "lab/kube/sealed_secrets/sealed_secrets_in_lab.h"
#include "lab/kube/test_server.h"
#include "lib/cli/cluster_textproto.h"
#include "lib/secrets/crypto.h"
#include "lib/secrets/keystore.h"
#include "lib/secrets/secret.h"
#include "lib/testing/fake_clock.h"
#include "lib/testing/files.h"
#include "tools/seal-keystore/seal_keystore.h"
#include "tools/seal-keystore/seal_keystore_testing.h"
#include "tools/seal-keystore/sealed_secret.h"
#include "tools/seal-keystore/sealing_keys.h"

namespace coldstart {
namespace {

namespace fs = std::filesystem;
using lab::Json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::SizeIs;

std::string Read(const std::string& path) {
  return ::coldstart::testing::ReadTestFile(path);
}
using ::coldstart::testing::Vector;
void Write(const std::string& path, const std::string& text) {
  fs::create_directories(fs::path(path).parent_path());
  ::coldstart::testing::WriteTestFile(path, text);
}

// Every file of a keystore directory and its content: equal snapshots mean
// the run wrote nothing.
std::map<std::string, std::string> Snapshot(const std::string& dir) {
  std::map<std::string, std::string> files;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (entry.is_regular_file()) {
      files[entry.path().string()] = Read(entry.path().string());
    }
  }
  return files;
}

// The repo's SealedSecrets (the vectors: all three scopes, sealed for the
// vector key) as the objects Flux would apply.
bool IsKeySecret(const Json& object) {
  const Json labels =
      object.value("metadata", Json::object()).value("labels", Json::object());
  return labels.contains(kSealingKeyLabel);
}

std::vector<Json> RepoSealedSecrets() {
  std::vector<Json> objects;
  for (const char* file : {"sealed-strict.yaml", "sealed-namespace-wide.yaml",
                           "sealed-cluster-wide.yaml"}) {
    absl::StatusOr<std::vector<SealedSecretDocument>> documents =
        ParseSealedSecrets(Vector(file), file);
    EXPECT_TRUE(documents.ok()) << documents.status();
    for (const SealedSecretDocument& document : *documents) {
      const SealedSecretObject& sealed = document.object;
      Json meta = {{"name", sealed.metadata.name},
                   {"namespace", sealed.metadata.namespace_}};
      if (!sealed.metadata.annotations.empty()) {
        meta["annotations"] = sealed.metadata.annotations;
      }
      objects.push_back({{"apiVersion", "bitnami.com/v1alpha1"},
                         {"kind", "SealedSecret"},
                         {"metadata", meta},
                         {"spec",
                          {{"encryptedData", sealed.encrypted_data},
                           {"template", {{"type", sealed.template_type}}}}}});
    }
  }
  return objects;
}

class RestoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::coldstart::testing::MakeTempDir("restore");
    fs::create_directories(dir_ + "/keystore");
    chmod((dir_ + "/keystore").c_str(), 0700);
    keystore_ = "file:" + dir_ + "/keystore";
    // An hour after the vector key's NotBefore: the key is fresh.
    absl::StatusOr<Certificate> vector_cert =
        Certificate::FromPem(Vector("cert.pem"));
    ASSERT_TRUE(vector_cert.ok());
    clock_.now = vector_cert->not_before() + absl::Hours(1);
    lab::ApiServerOptions api_options;
    api_options.now = [this] { return clock_.now; };
    absl::StatusOr<std::unique_ptr<lab::TestKubeApi>> kube =
        lab::StartTestKubeApi(dir_, api_options);
    ASSERT_TRUE(kube.ok()) << kube.status();
    kube_ = *std::move(kube);
    api().AddWriteObserver([this](lab::WriteVerb verb,
                                  const lab::ResourceType& type,
                                  const Json& object) {
      if (type.kind == "Secret" && IsKeySecret(object)) {
        ++key_secret_writes_;
      }
      if (type.kind == "Pod" && verb == lab::WriteVerb::kDelete) {
        ++pod_deletes_;
      }
    });
    for (const char* ns : {"csi-proxmox", "apps"}) {
      ASSERT_TRUE(api()
                      .Apply(Json{{"apiVersion", "v1"},
                                  {"kind", "Namespace"},
                                  {"metadata", {{"name", ns}}}})
                      .ok());
    }
    Write(dir_ + "/key.pem", Vector("key.pem"));
    Write(dir_ + "/cert.pem", Vector("cert.pem"));
    ASSERT_TRUE(
        Run(Options("import", {dir_ + "/key.pem", dir_ + "/cert.pem"})).ok());
    vector_id_ = Keys()[0].id;
    absl::StatusOr<ParsedCluster> cluster = ReadClusterFile(
        ::coldstart::testing::RunfilePath("testdata/lab.txtpb"));
    ASSERT_TRUE(cluster.ok()) << cluster.status();
    cluster_ = cluster->cluster;
  }
  void TearDown() override {
    in_lab_.reset();
    if (kube_ != nullptr) kube_->https->Stop();
  }

  lab::ApiServer& api() { return *kube_->api; }

  SealKeystoreOptions Options(const std::string& command,
                              std::vector<std::string> args = {}) {
    SealKeystoreOptions options;
    options.command = command;
    options.args = std::move(args);
    options.common.keystore = keystore_;
    options.kube.kubeconfig = kube_->kubeconfig_path;
    return options;
  }
  // backup / restore on cluster_; the Cluster written back into cluster_.
  absl::Status RunOnCluster(const std::string& command, bool dry_run = false) {
    Write(dir_ + "/in.txtpb", ClusterToText(cluster_));
    SealKeystoreOptions options = Options(command);
    options.common.in = dir_ + "/in.txtpb";
    options.common.dry_run = dry_run;
    absl::Status status = Run(options);
    if (status.ok()) {
      absl::StatusOr<ParsedCluster> out = ParseClusterText(out_, "out");
      EXPECT_TRUE(out.ok()) << out.status();
      if (out.ok()) cluster_ = out->cluster;
    }
    return status;
  }
  absl::Status Run(const SealKeystoreOptions& options) {
    ::coldstart::testing::SealKeystoreOutcome outcome =
        ::coldstart::testing::RunSealKeystore(options, &clock_);
    out_ = outcome.out;
    progress_ = outcome.err;
    return outcome.status;
  }
  std::vector<SealingKeyPair> Keys() {
    auto keystore = OpenKeystore(keystore_);
    auto keys = LoadSealingKeyPairs(**keystore);
    EXPECT_TRUE(keys.ok()) << keys.status();
    return *keys;
  }
  // Starts the lab's controller in `ns` the way the lab does: the
  // controller starts when its Deployment is created.
  lab::SealedSecretsController& DeployController(const std::string& ns) {
    v1::ClusterSpec spec = cluster_.spec();
    spec.mutable_sealed_secrets()->set_controller_namespace(ns);
    absl::StatusOr<std::unique_ptr<lab::SealedSecretsInLab>> in_lab =
        lab::SealedSecretsInLab::ForSpec(
            api(), spec, {{"sealed_secrets_key_bits", "2048"}}, nullptr,
            [this] { return clock_.now; });
    EXPECT_TRUE(in_lab.ok()) << in_lab.status();
    in_lab_ = *std::move(in_lab);
    EXPECT_TRUE(api()
                    .Apply(Json{{"apiVersion", "v1"},
                                {"kind", "Namespace"},
                                {"metadata", {{"name", ns}}}})
                    .ok());
    EXPECT_TRUE(api()
                    .Apply(Json{{"apiVersion", "apps/v1"},
                                {"kind", "Deployment"},
                                {"metadata",
                                 {{"name", "sealed-secrets-controller"},
                                  {"namespace", ns}}}})
                    .ok());
    EXPECT_NE(in_lab_->controller(), nullptr);
    return *in_lab_->controller();
  }
  void ApplyRepoSealedSecrets() {
    for (const Json& sealed : RepoSealedSecrets()) {
      ASSERT_TRUE(api().Apply(sealed).ok());
    }
  }
  // The Secrets the controller made from the repo's SealedSecrets hold the
  // plaintext (username "admin" in every vector).
  void ExpectRepoSecretsUnsealed() {
    for (const Json& sealed : RepoSealedSecrets()) {
      const std::string ns = sealed["metadata"]["namespace"];
      const std::string name = sealed["metadata"]["name"];
      std::optional<Json> secret = api().Get("v1", "Secret", ns, name);
      ASSERT_TRUE(secret.has_value()) << ns << "/" << name;
      std::string username;
      ASSERT_TRUE(absl::Base64Unescape(
          (*secret)["data"]["username"].get<std::string>(), &username));
      EXPECT_EQ(username, "admin");
      std::optional<Json> status =
          api().Get("bitnami.com/v1alpha1", "SealedSecret", ns, name);
      EXPECT_EQ((*status)["status"]["conditions"][0]["status"], "True");
    }
  }
  std::vector<Json> KeySecretsIn(const std::string& ns) {
    std::vector<Json> keys;
    for (const Json& secret : api().List("v1", "Secret", ns)) {
      if (IsKeySecret(secret)) {
        keys.push_back(secret);
      }
    }
    return keys;
  }

  std::string dir_;
  std::string keystore_;
  FakeClock clock_{absl::UnixEpoch()};
  std::unique_ptr<lab::TestKubeApi> kube_;
  std::unique_ptr<lab::SealedSecretsInLab> in_lab_;
  v1::Cluster cluster_;
  std::string vector_id_;
  std::string out_;
  std::string progress_;
  int key_secret_writes_ = 0;
  int pod_deletes_ = 0;
};

TEST_F(RestoreTest, BeforeTheControllerIsDeployedThenBackupTakesARenewedKey) {
  // An older key too: every key is restored, not only the newest.
  {
    absl::StatusOr<PrivateKey> key = PrivateKey::GenerateRsa(2048);
    ASSERT_TRUE(key.ok());
    CertificateTemplate spec;
    spec.is_ca = true;
    spec.not_before = clock_.now - absl::Hours(24 * 200);
    spec.not_after = spec.not_before + absl::Hours(87600);
    absl::StatusOr<Certificate> certificate =
        IssueCertificate(spec, key->public_key(), *key, nullptr);
    ASSERT_TRUE(certificate.ok());
    Write(dir_ + "/old.pem",
          absl::StrCat(key->ToPem()->Reveal(), certificate->ToPem()));
    ASSERT_TRUE(Run(Options("import", {dir_ + "/old.pem"})).ok());
    ASSERT_THAT(Keys(), SizeIs(2));
  }
  // The controller's namespace does not exist yet.
  cluster_.mutable_spec()->mutable_sealed_secrets()->set_controller_namespace(
      "sealed-secrets");

  // --dry-run changes nothing.
  ASSERT_TRUE(RunOnCluster("restore", /*dry_run=*/true).ok()) << progress_;
  EXPECT_THAT(progress_, HasSubstr("plan: create namespace sealed-secrets"));
  EXPECT_EQ(key_secret_writes_, 0);
  EXPECT_FALSE(api().Get("v1", "Namespace", "", "sealed-secrets").has_value());

  absl::Status restored = RunOnCluster("restore");
  ASSERT_TRUE(restored.ok()) << restored << "\n" << progress_;
  EXPECT_EQ(key_secret_writes_, 2);
  std::vector<Json> keys = KeySecretsIn("sealed-secrets");
  ASSERT_THAT(keys, SizeIs(2));
  for (const Json& key : keys) {
    EXPECT_EQ(key["type"], "kubernetes.io/tls");
    EXPECT_EQ(key["metadata"]["labels"][kSealingKeyLabel], "active");
    EXPECT_EQ(key["metadata"]["labels"]["app.kubernetes.io/managed-by"],
              "coldstart");
  }
  EXPECT_THAT(cluster_.status().seal().restored_keys(), SizeIs(2));
  EXPECT_THAT(cluster_.status().seal().restored_keys(),
              ::testing::Contains("sealed-secrets-key-" + vector_id_));
  EXPECT_THAT(progress_, HasSubstr("no controller pod in sealed-secrets yet"));

  // Flux deploys the controller: it loads both keys, makes none, and the
  // repo's SealedSecrets become Secrets.
  lab::SealedSecretsController& controller = DeployController("sealed-secrets");
  EXPECT_EQ(controller.LoadedKeyCount(), 2u);
  EXPECT_THAT(KeySecretsIn("sealed-secrets"), SizeIs(2));
  ApplyRepoSealedSecrets();
  ExpectRepoSecretsUnsealed();

  // A re-run applies nothing and restarts nothing; backup writes nothing.
  const int writes = key_secret_writes_;
  const auto keystore_before = Snapshot(dir_ + "/keystore");
  clock_.now += absl::Minutes(5);
  ASSERT_TRUE(RunOnCluster("restore").ok()) << progress_;
  EXPECT_EQ(key_secret_writes_, writes);
  EXPECT_EQ(pod_deletes_, 0);
  EXPECT_EQ(controller.Starts(), 1);
  ASSERT_TRUE(RunOnCluster("backup").ok()) << progress_;
  EXPECT_EQ(Snapshot(dir_ + "/keystore"), keystore_before);
  EXPECT_THAT(progress_, HasSubstr("nothing written"));

  // 30 days later the controller renews (at its next start, here a
  // restart): backup takes the new key, which becomes the newest.
  clock_.now += absl::Hours(721);
  ASSERT_TRUE(
      api().Delete("v1", "Pod", "sealed-secrets", controller.PodName()).ok());
  EXPECT_EQ(controller.LoadedKeyCount(), 3u);
  ASSERT_THAT(KeySecretsIn("sealed-secrets"), SizeIs(3));
  ASSERT_TRUE(RunOnCluster("backup").ok()) << progress_;
  std::vector<SealingKeyPair> after = Keys();
  ASSERT_THAT(after, SizeIs(3));
  EXPECT_EQ(after[0].certificate.not_before(), clock_.now);  // the renewed
  EXPECT_THAT(cluster_.status().seal().backed_up_keys(), SizeIs(3));
  // Idempotent.
  const auto keystore_after = Snapshot(dir_ + "/keystore");
  ASSERT_TRUE(RunOnCluster("backup").ok());
  EXPECT_EQ(Snapshot(dir_ + "/keystore"), keystore_after);
}

TEST_F(RestoreTest, IntoARunningControllerThatMadeItsOwnKey) {
  // The controller was deployed first and generated a key; the repo's
  // SealedSecrets do not decrypt.
  lab::SealedSecretsController& controller = DeployController("kube-system");
  ASSERT_EQ(controller.LoadedKeyCount(), 1u);
  const std::string first_pod = controller.PodName();
  ApplyRepoSealedSecrets();
  EXPECT_FALSE(api()
                   .Get("v1", "Secret", "csi-proxmox", "proxmox-csi-plugin")
                   .has_value());

  clock_.now += absl::Minutes(1);
  absl::Status restored = RunOnCluster("restore");
  ASSERT_TRUE(restored.ok()) << restored << "\n" << progress_;
  // The controller's key is in the keystore (and, being newer, its newest).
  std::vector<SealingKeyPair> keys = Keys();
  ASSERT_THAT(keys, SizeIs(2));
  EXPECT_NE(keys[0].id, vector_id_);
  EXPECT_EQ(keys[1].id, vector_id_);
  // Our key was applied and the controller restarted to load it.
  EXPECT_EQ(controller.Starts(), 2);
  EXPECT_EQ(controller.LoadedKeyCount(), 2u);
  EXPECT_THAT(cluster_.status().seal().restarted_pods(),
              ElementsAre(first_pod));
  EXPECT_THAT(cluster_.status().seal().restored_keys(),
              ElementsAre("sealed-secrets-key-" + vector_id_));
  ExpectRepoSecretsUnsealed();

  // Re-run: nothing applied, no restart.
  const int writes = key_secret_writes_;
  clock_.now += absl::Minutes(1);
  ASSERT_TRUE(RunOnCluster("restore").ok()) << progress_;
  EXPECT_EQ(key_secret_writes_, writes);
  EXPECT_EQ(controller.Starts(), 2);
  EXPECT_EQ(pod_deletes_, 1);
  EXPECT_THAT(cluster_.status().seal().restarted_pods(), SizeIs(0));
}

TEST_F(RestoreTest, RestartWithRenewDueKeysCapturesTheKeyMadeAtStart) {
  lab::SealedSecretsController& controller = DeployController("kube-system");
  ASSERT_EQ(controller.LoadedKeyCount(), 1u);
  // 800 h later every key is older than the renew period (720 h): the
  // restart that loads our key also makes a new one, and restore's backup
  // after the restart keeps it.
  clock_.now += absl::Hours(800);
  ASSERT_TRUE(RunOnCluster("restore").ok()) << progress_;
  EXPECT_EQ(controller.Starts(), 2);
  EXPECT_EQ(controller.LoadedKeyCount(), 3u);
  std::vector<SealingKeyPair> keys = Keys();
  ASSERT_THAT(keys, SizeIs(3));
  EXPECT_EQ(keys[0].certificate.not_before(), clock_.now);
  EXPECT_THAT(cluster_.status().seal().backed_up_keys(), SizeIs(3));
}

TEST_F(RestoreTest, ClearErrors) {
  // No kubeconfig: bad input (exit 2), nothing changed.
  SealKeystoreOptions options = Options("restore");
  Write(dir_ + "/in.txtpb", ClusterToText(cluster_));
  options.common.in = dir_ + "/in.txtpb";
  options.kube.kubeconfig = dir_ + "/missing.kubeconfig";
  absl::Status status = Run(options);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("missing.kubeconfig"));
  EXPECT_EQ(key_secret_writes_, 0);
  // backup with no controller: the world said no (exit 1), naming where.
  status = RunOnCluster("backup");
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(status.message(), HasSubstr("namespace kube-system"));
  // restore with an empty keystore and no controller key.
  keystore_ = "file:" + dir_ + "/empty";
  status = RunOnCluster("restore");
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(status.message(), HasSubstr("seal-keystore init"));
  EXPECT_EQ(key_secret_writes_, 0);
}

}  // namespace
}  // namespace coldstart
