// Real kubectl (the preinstalled /usr/bin/kubectl dispatcher, which picks
// kubectl 1.32 from the simulator's /version) against the simulator over
// mutual TLS. Fails — never skips — when kubectl is missing.
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lab/kube/test_server.h"
#include "lib/yaml/yaml_json.h"

namespace coldstart::lab {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kKubectl[] = "/usr/bin/kubectl";

struct KubectlRun {
  int exit_code = -1;
  std::string out;
  std::string err;
};

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string Runfile(const std::string& rel) {
  return absl::StrCat(std::getenv("TEST_SRCDIR"), "/",
                      std::getenv("TEST_WORKSPACE"), "/", rel);
}

// Each line's whitespace-separated fields joined by one space.
std::string Squeeze(const std::string& text) {
  std::vector<std::string> lines;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    lines.push_back(
        absl::StrJoin(absl::StrSplit(line, ' ', absl::SkipWhitespace()), " "));
  }
  return absl::StrJoin(lines, "\n");
}

class KubectlTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ASSERT_EQ(access(kKubectl, X_OK), 0)
        << kKubectl
        << " is missing: these tests need the preinstalled kubectl (setup "
           "cannot install it); they fail rather than skip";
  }

  void SetUp() override {
    dir_ = absl::StrCat(
        std::getenv("TEST_TMPDIR"), "/",
        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    ASSERT_EQ(
        system(absl::StrCat("rm -rf ", dir_, " && mkdir -p ", dir_).c_str()),
        0);
    auto sim = StartTestKubeApi(dir_);
    ASSERT_TRUE(sim.ok()) << sim.status();
    sim_ = std::move(*sim);
    for (const char* file : {"lab/kube/testdata/crds.yaml",
                             "lab/kube/testdata/kubectl_fixture.yaml"}) {
      auto docs = YamlDocumentsToJson(ReadAll(Runfile(file)), file);
      ASSERT_TRUE(docs.ok()) << docs.status();
      for (const Json& doc : *docs) {
        auto applied = sim_->api->Apply(doc);
        ASSERT_TRUE(applied.ok()) << applied.status() << doc.dump();
      }
    }
  }

  KubectlRun Kubectl(const std::vector<std::string>& args) {
    KubectlRun run;
    std::string out = absl::StrCat(dir_, "/out"),
                err = absl::StrCat(dir_, "/err");
    pid_t pid = fork();
    if (pid == 0) {
      int o = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      int e = open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      dup2(o, 1);
      dup2(e, 2);
      setenv("KUBECONFIG", sim_->kubeconfig_path.c_str(), 1);
      setenv("KUBECACHEDIR", absl::StrCat(dir_, "/cache").c_str(), 1);
      setenv("HOME", dir_.c_str(), 1);
      std::vector<char*> argv{const_cast<char*>(kKubectl)};
      for (const std::string& a : args)
        argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      execv(kKubectl, argv.data());
      _exit(127);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    run.out = ReadAll(out);
    run.err = ReadAll(err);
    return run;
  }

  std::string dir_;
  std::unique_ptr<TestKubeApi> sim_;
};

TEST_F(KubectlTest, GetNodesWide) {
  KubectlRun r = Kubectl({"get", "nodes", "-o", "wide"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::vector<std::string> lines = absl::StrSplit(Squeeze(r.out), '\n');
  ASSERT_EQ(lines.size(), 3u) << r.out;
  EXPECT_EQ(lines[0],
            "NAME STATUS ROLES AGE VERSION INTERNAL-IP EXTERNAL-IP OS-IMAGE "
            "KERNEL-VERSION CONTAINER-RUNTIME");
  EXPECT_THAT(lines[1], HasSubstr("cp-1 Ready control-plane "));
  EXPECT_THAT(lines[1], HasSubstr(" v1.32.3 10.0.0.11 <none> Talos (v1.9.5) "
                                  "6.12.18-talos containerd://2.0.3"));
  EXPECT_THAT(lines[2], HasSubstr("worker-1 NotReady <none> "));
  // The node turns Ready: kubectl shows it.
  ASSERT_TRUE(sim_->api
                  ->Apply(Json::parse(R"({"apiVersion":"v1","kind":"Node",
      "metadata":{"name":"worker-1"},
      "status":{"conditions":[{"type":"Ready","status":"True"}]}})"))
                  .ok());
  r = Kubectl({"get", "nodes"});
  EXPECT_THAT(Squeeze(r.out), HasSubstr("worker-1 Ready <none>"));
}

TEST_F(KubectlTest, GetPodsAllNamespacesFollowsState) {
  KubectlRun r = Kubectl({"get", "pods", "-A"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string s = Squeeze(r.out);
  EXPECT_THAT(s, HasSubstr("NAMESPACE NAME READY STATUS RESTARTS AGE"));
  EXPECT_THAT(s, HasSubstr("kube-system coredns-1 1/1 Running 0"));
  EXPECT_THAT(s, HasSubstr("vault vault-0 1/1 Running 0"));
  // vault-0 starts crash-looping.
  ASSERT_TRUE(sim_->api
                  ->Apply(Json::parse(R"({"apiVersion":"v1","kind":"Pod",
      "metadata":{"name":"vault-0","namespace":"vault"},
      "status":{"containerStatuses":[{"name":"vault","ready":false,
        "restartCount":7,"state":{"waiting":{"reason":"CrashLoopBackOff"}}}]}})"))
                  .ok());
  r = Kubectl({"get", "pods", "-A"});
  EXPECT_THAT(Squeeze(r.out),
              HasSubstr("vault vault-0 0/1 CrashLoopBackOff 7"));
  // A phase change shows too.
  ASSERT_TRUE(sim_->api
                  ->Apply(Json::parse(R"({"apiVersion":"v1","kind":"Pod",
      "metadata":{"name":"coredns-1","namespace":"kube-system"},
      "status":{"phase":"Failed","containerStatuses":null}})"))
                  .ok());
  r = Kubectl({"get", "pods", "-n", "kube-system"});
  EXPECT_THAT(Squeeze(r.out), HasSubstr("coredns-1 0/1 Failed 0"));
}

TEST_F(KubectlTest, GetStorageClassAndCsiNode) {
  KubectlRun r = Kubectl({"get", "storageclass"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(Squeeze(r.out),
              HasSubstr("proxmox-csi (default) csi.proxmox.sinextra.dev Delete "
                        "WaitForFirstConsumer true"));
  r = Kubectl({"get", "csinode"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(Squeeze(r.out), HasSubstr("NAME DRIVERS AGE\ncp-1 1 "));
  r = Kubectl({"get", "sc"});  // short name from discovery
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST_F(KubectlTest, GetSecretAndNotFound) {
  KubectlRun r =
      Kubectl({"get", "secret", "-n", "vault", "instance-unseal-keys"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(Squeeze(r.out),
              HasSubstr("NAME TYPE DATA AGE\ninstance-unseal-keys Opaque 2 "));
  r = Kubectl({"get", "secret", "-n", "vault", "missing"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("Error from server (NotFound): secrets "
                               "\"missing\" not found"));
}

TEST_F(KubectlTest, GetCustomResourcesWithPrinterColumns) {
  KubectlRun r = Kubectl({"get", "clustersecretstore", "vault-backend"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::vector<std::string> lines = absl::StrSplit(Squeeze(r.out), '\n');
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], "NAME AGE STATUS CAPABILITIES READY");
  EXPECT_THAT(lines[1], HasSubstr("vault-backend "));
  EXPECT_THAT(lines[1], HasSubstr(" Valid ReadWrite True"));
  r = Kubectl({"get", "externalsecret", "-n", "authentik"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Squeeze(r.out),
            "NAME STORETYPE STORE REFRESH INTERVAL STATUS READY\n"
            "authentik-bootstrap ClusterSecretStore vault-backend 1h "
            "SecretSynced True");
  // The ExternalSecret fails to sync: READY flips.
  ASSERT_TRUE(sim_->api
                  ->Apply(Json::parse(R"({"apiVersion":"external-secrets.io/v1",
      "kind":"ExternalSecret","metadata":{"name":"authentik-bootstrap",
      "namespace":"authentik"},"status":{"conditions":[{"type":"Ready",
      "status":"False","reason":"SecretSyncedError"}]}})"))
                  .ok());
  r = Kubectl({"get", "es", "-n", "authentik"});
  EXPECT_THAT(Squeeze(r.out), HasSubstr("SecretSyncedError False"));
}

TEST_F(KubectlTest, GetService) {
  KubectlRun r =
      Kubectl({"get", "svc", "-n", "dns-system", "powerdns-external"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(Squeeze(r.out),
              HasSubstr("NAME TYPE CLUSTER-IP EXTERNAL-IP PORT(S) AGE\n"
                        "powerdns-external LoadBalancer 10.96.12.34 "
                        "192.168.1.53 53:31053/UDP,53:31054/TCP "));
}

TEST_F(KubectlTest, ApplyServerSideThenGetJsonAndYaml) {
  std::string manifest = absl::StrCat(dir_, "/m.yaml");
  std::ofstream(manifest)
      << "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: newns\n---\n"
         "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm1\n"
         "  namespace: newns\ndata:\n  k: v\n---\n"
         "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\n"
         "metadata:\n  name: apps\n  namespace: newns\nspec:\n  path: ./apps\n";
  KubectlRun r = Kubectl({"apply", "--server-side", "-f", manifest});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(
      r.out,
      "namespace/newns serverside-applied\n"
      "configmap/cm1 serverside-applied\n"
      "kustomization.kustomize.toolkit.fluxcd.io/apps serverside-applied\n");
  ASSERT_TRUE(sim_->api->Get("v1", "ConfigMap", "newns", "cm1").has_value());

  r = Kubectl({"get", "configmap", "-n", "newns", "cm1", "-o", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  Json cm = Json::parse(r.out);
  EXPECT_EQ(cm["data"]["k"], "v");
  EXPECT_FALSE(cm["metadata"]["uid"].get<std::string>().empty());
  EXPECT_FALSE(cm["metadata"]["resourceVersion"].get<std::string>().empty());

  r = Kubectl({"get", "ks", "-n", "newns", "apps", "-o", "yaml"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("kind: Kustomization"));
  EXPECT_THAT(r.out, HasSubstr("path: ./apps"));

  // Re-apply changes a field; the object follows.
  std::ofstream(manifest) << "apiVersion: v1\nkind: ConfigMap\nmetadata:\n"
                             "  name: cm1\n  namespace: newns\ndata:\n  k: w\n";
  r = Kubectl({"apply", "--server-side", "-f", manifest});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ((*sim_->api->Get("v1", "ConfigMap", "newns", "cm1"))["data"]["k"],
            "w");

  r = Kubectl({"get", "pods", "-n", "newns"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_THAT(r.err, HasSubstr("No resources found in newns namespace."));
}

TEST_F(KubectlTest, UnknownKindIsReported) {
  KubectlRun r = Kubectl({"get", "helmreleases.nope.io"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.err, HasSubstr("the server doesn't have a resource type"));
}

}  // namespace
}  // namespace coldstart::lab
