#include "lib/kube/kube_config.h"

#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/testing/files.h"

namespace coldstart::kube {
namespace {

using ::coldstart::testing::TestTempDir;
using ::coldstart::testing::WriteTestFile;
using ::testing::HasSubstr;

// Writes `text` to `name` in the test's scratch directory; returns the path.
std::string Write(const std::string& name, const std::string& text) {
  std::string path = absl::StrCat(TestTempDir(), "/", name);
  WriteTestFile(path, text);
  return path;
}

TEST(KubeconfigTest, ParsesDataFieldsAndNamespace) {
  std::string yaml = absl::StrCat(
      "apiVersion: v1\nkind: Config\n"
      "clusters:\n- name: c\n  cluster:\n    server: https://10.0.0.10:6443/\n"
      "    certificate-authority-data: ",
      absl::Base64Escape("CA PEM"),
      "\nusers:\n- name: u\n  user:\n    client-certificate-data: ",
      absl::Base64Escape("CERT"),
      "\n    client-key-data: ", absl::Base64Escape("KEY"),
      "\ncontexts:\n- name: x\n  context: {cluster: c, user: u, namespace: "
      "vault}\ncurrent-context: x\n");
  absl::StatusOr<RestConfig> c = ParseKubeconfig(yaml, "/tmp", "kc");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->server, "https://10.0.0.10:6443");
  EXPECT_EQ(c->ca_pem, "CA PEM");
  EXPECT_EQ(c->client_cert_pem, "CERT");
  EXPECT_EQ(c->client_key_pem.Reveal(), "KEY");
  EXPECT_EQ(c->ns, "vault");
  EXPECT_EQ(c->context, "x");
}

TEST(KubeconfigTest, TokenAndRelativeCaFile) {
  Write("ca.pem", "FILE CA");
  std::string yaml =
      "clusters:\n- name: c\n  cluster:\n    server: https://h\n"
      "    certificate-authority: ca.pem\n"
      "users:\n- name: u\n  user:\n    token: s3cret\n"
      "contexts:\n- name: x\n  context: {cluster: c, user: u}\n"
      "current-context: x\n";
  absl::StatusOr<RestConfig> c = ParseKubeconfig(yaml, TestTempDir(), "kc");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->ca_pem, "FILE CA");
  EXPECT_EQ(c->token.Reveal(), "s3cret");
  EXPECT_EQ(c->ns, "default");
}

TEST(KubeconfigTest, MergeFirstFileWinsAndMissingSkipped) {
  std::string a =
      Write("a.yaml",
            "clusters:\n- name: sim\n  cluster: {server: https://first}\n"
            "users:\n- name: u\n  user: {token: tok-a}\n"
            "contexts:\n- name: x\n  context: {cluster: sim, user: u}\n");
  std::string b =
      Write("b.yaml",
            "clusters:\n- name: sim\n  cluster: {server: https://second}\n"
            "users:\n- name: u\n  user: {token: tok-b}\n"
            "current-context: x\n");
  KubeconfigLoadOptions o;
  o.kubeconfig_env =
      absl::StrCat(TestTempDir(), "/missing.yaml:", a, "::", b, ":", a);
  absl::StatusOr<RestConfig> c = LoadKubeconfig(o);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->server, "https://first");
  EXPECT_EQ(c->token.Reveal(), "tok-a");
  EXPECT_EQ(c->context, "x");
}

TEST(KubeconfigTest, ExplicitPathMustExist) {
  KubeconfigLoadOptions o;
  o.explicit_path = absl::StrCat(TestTempDir(), "/nope.yaml");
  EXPECT_EQ(LoadKubeconfig(o).status().code(), absl::StatusCode::kNotFound);
}

TEST(KubeconfigTest, HomeDefault) {
  std::string home = absl::StrCat(TestTempDir(), "/home");
  std::string dir = absl::StrCat(home, "/.kube");
  ASSERT_EQ(system(absl::StrCat("mkdir -p ", dir).c_str()), 0);
  WriteTestFile(absl::StrCat(dir, "/config"),
                "clusters:\n- name: c\n  cluster: {server: https://home}\n"
                "contexts:\n- name: x\n  context: {cluster: c}\n"
                "current-context: x\n");
  KubeconfigLoadOptions o;
  o.kubeconfig_env = "";
  o.home = home;
  absl::StatusOr<RestConfig> c = LoadKubeconfig(o);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->server, "https://home");
}

TEST(KubeconfigTest, Errors) {
  EXPECT_THAT(ParseKubeconfig("clusters: [", "/", "kc").status().message(),
              HasSubstr("kc:"));
  std::string no_ctx = "clusters:\n- name: c\n  cluster: {server: https://h}\n";
  EXPECT_THAT(ParseKubeconfig(no_ctx, "/", "kc").status().message(),
              HasSubstr("no current-context"));
  std::string insecure =
      "clusters:\n- name: c\n  cluster: {server: https://h, "
      "insecure-skip-tls-verify: true, certificate-authority-data: Q0E=}\n"
      "contexts:\n- name: x\n  context: {cluster: c}\ncurrent-context: x\n";
  EXPECT_THAT(ParseKubeconfig(insecure, "/", "kc").status().message(),
              HasSubstr("insecure flag is not allowed"));
  std::string exec =
      "clusters:\n- name: c\n  cluster: {server: https://h}\n"
      "users:\n- name: u\n  user: {exec: {command: x}}\n"
      "contexts:\n- name: x\n  context: {cluster: c, user: u}\n"
      "current-context: x\n";
  EXPECT_EQ(ParseKubeconfig(exec, "/", "kc").status().code(),
            absl::StatusCode::kUnimplemented);
  std::string missing_user =
      "clusters:\n- name: c\n  cluster: {server: https://h}\n"
      "contexts:\n- name: x\n  context: {cluster: c, user: ghost}\n"
      "current-context: x\n";
  EXPECT_THAT(ParseKubeconfig(missing_user, "/", "kc").status().message(),
              HasSubstr("user \"ghost\""));
}

TEST(KubeconfigTest, RenderRoundTrips) {
  std::string text =
      RenderKubeconfig("lab", "https://127.0.0.1:1", "CA", "CERT",
                       Secret(std::string("KEY")), "ns1");
  absl::StatusOr<RestConfig> c = ParseKubeconfig(text, "/", "kc");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->ca_pem, "CA");
  EXPECT_EQ(c->client_key_pem.Reveal(), "KEY");
  EXPECT_EQ(c->ns, "ns1");
}

}  // namespace
}  // namespace coldstart::kube
