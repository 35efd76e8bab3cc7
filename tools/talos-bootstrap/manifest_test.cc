#include "tools/talos-bootstrap/manifest.h"

#include <fstream>
#include <sstream>
#include <string>

#include "gtest/gtest.h"

namespace coldstart {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(ManifestTest, CiliumTestManifestHasTheChartsObjectsAndTalosValues) {
  const std::string path = "tools/talos-bootstrap/testdata/cilium-1.16.5.yaml";
  auto objects = ParseManifest(ReadFile(path), path);
  ASSERT_TRUE(objects.ok()) << objects.status();
  std::vector<std::string> described;
  for (const ManifestObject& o : *objects) described.push_back(o.Describe());
  EXPECT_EQ(
      described,
      (std::vector<std::string>{
          "ServiceAccount kube-system/cilium",
          "ServiceAccount kube-system/cilium-operator",
          "ConfigMap kube-system/cilium-config", "ClusterRole cilium",
          "ClusterRole cilium-operator", "ClusterRoleBinding cilium",
          "ClusterRoleBinding cilium-operator", "DaemonSet kube-system/cilium",
          "Deployment kube-system/cilium-operator"}));
  const auto& config = (*objects)[2].object["data"];
  EXPECT_EQ(config["ipam"], "kubernetes");
  EXPECT_EQ(config["kube-proxy-replacement"], "true");  // quoted: a string
  EXPECT_EQ(config["cgroup-root"], "/sys/fs/cgroup");
  const auto& ds = (*objects)[7];
  EXPECT_EQ(ds.api_version, "apps/v1");
  const auto& agent = ds.object["spec"]["template"]["spec"]["containers"][0];
  std::string caps = agent["securityContext"]["capabilities"]["add"].dump();
  EXPECT_EQ(caps.find("SYS_MODULE"), std::string::npos);
  EXPECT_NE(caps.find("SYS_ADMIN"), std::string::npos);
  EXPECT_EQ(agent["env"][2]["value"], "localhost");
  EXPECT_EQ(agent["env"][3]["value"], "7445");
  EXPECT_EQ(
      ds.object["spec"]["updateStrategy"]["rollingUpdate"]["maxUnavailable"],
      2);  // plain integer
  EXPECT_EQ(ds.object["spec"]["template"]["spec"]["hostNetwork"], true);
}

TEST(ManifestTest, EmptyDocumentsAreSkipped) {
  auto objects = ParseManifest(
      "---\n# only a comment\n---\napiVersion: v1\nkind: Namespace\n"
      "metadata: {name: x}\n---\n",
      "m.yaml");
  ASSERT_TRUE(objects.ok()) << objects.status();
  ASSERT_EQ(objects->size(), 1u);
  EXPECT_EQ((*objects)[0].Describe(), "Namespace x");
  EXPECT_TRUE((*objects)[0].ns.empty());
}

TEST(ManifestTest, BadYamlHasFileLineColumn) {
  auto objects = ParseManifest("apiVersion: v1\nkind: [\n", "m.yaml");
  ASSERT_FALSE(objects.ok());
  EXPECT_EQ(objects.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(objects.status().message()).rfind("m.yaml:", 0), 0u)
      << objects.status();
}

TEST(ManifestTest, ObjectWithoutNameOrAListIsRefused) {
  auto nameless =
      ParseManifest("# c\n---\napiVersion: v1\nkind: ConfigMap\n", "m");
  ASSERT_FALSE(nameless.ok());
  EXPECT_EQ(nameless.status().message(),
            "m:3:1: the document is not one object with apiVersion, kind and "
            "metadata.name");
  EXPECT_FALSE(
      ParseManifest("apiVersion: v1\nkind: List\nmetadata: {name: l}\n", "m")
          .ok());
}

}  // namespace
}  // namespace coldstart
