#include "lib/cli/spec_validation.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/cli/cluster_textproto.h"

namespace coldstart {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

coldstart::v1::Cluster Reference() {
  absl::StatusOr<ParsedCluster> parsed =
      ReadClusterFile("testdata/agentydragon.txtpb");
  EXPECT_TRUE(parsed.ok()) << parsed.status();
  return parsed->cluster;
}

std::vector<std::string> Problems(const coldstart::v1::Cluster& cluster) {
  std::vector<std::string> out;
  for (const SpecProblem& problem : ValidateCluster(cluster)) {
    out.push_back(problem.path.ToString() + ": " + problem.message);
  }
  return out;
}

TEST(SpecValidationTest, ReferenceSpecsAreValid) {
  for (const char* path :
       {"testdata/agentydragon.txtpb", "testdata/lab.txtpb"}) {
    absl::StatusOr<ParsedCluster> parsed = ReadClusterFile(path);
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    EXPECT_THAT(Problems(parsed->cluster), IsEmpty()) << path;
  }
}

TEST(SpecValidationTest, DuplicateVmidAndIp) {
  coldstart::v1::Cluster cluster = Reference();
  cluster.mutable_spec()->mutable_nodes(2)->set_vmid(1500);
  cluster.mutable_spec()->mutable_nodes(4)->set_ip("10.0.2.1");
  EXPECT_THAT(Problems(cluster),
              ElementsAre("spec.nodes[2].vmid: duplicate VMID 1500 (also "
                          "spec.nodes[0])",
                          "spec.nodes[4].ip: duplicate IP 10.0.2.1 (also "
                          "spec.nodes[3])"));
}

TEST(SpecValidationTest, Vips) {
  coldstart::v1::Cluster cluster = Reference();
  auto* network = cluster.mutable_spec()->mutable_network();
  network->set_api_vip("10.1.3.1");
  network->set_ingress_vip("10.0.1.2");
  network->set_dns_vip("10.0.0.1");
  EXPECT_THAT(
      Problems(cluster),
      ElementsAre(
          "spec.network.api_vip: 10.1.3.1 is outside the node subnet "
          "10.0.0.0/16",
          "spec.network.ingress_vip: 10.0.1.2 is also the IP of "
          "spec.nodes[1] (ctrl-2)",
          "spec.network.dns_vip: 10.0.0.1 is also spec.network.gateway"));
}

TEST(SpecValidationTest, NetworkShape) {
  coldstart::v1::Cluster cluster = Reference();
  auto* network = cluster.mutable_spec()->mutable_network();
  network->set_gateway("10.0.255.255");
  network->set_service_cidr("10.244.0.0/20");
  network->set_bootstrap_endpoint("10.0.2.1");
  EXPECT_THAT(Problems(cluster),
              ElementsAre("spec.network.service_cidr: 10.244.0.0/20 overlaps "
                          "the pod CIDR 10.244.0.0/16",
                          "spec.network.gateway: 10.0.255.255 is the broadcast "
                          "address of 10.0.0.0/16, not usable as the gateway",
                          "spec.network.bootstrap_endpoint: 10.0.2.1 is not "
                          "the IP of a control plane"));
}

TEST(SpecValidationTest, ControlPlaneCountMustBeOdd) {
  coldstart::v1::Cluster cluster = Reference();
  cluster.mutable_spec()->mutable_nodes(2)->set_role(
      coldstart::v1::NODE_ROLE_WORKER);
  EXPECT_THAT(Problems(cluster),
              ElementsAre("spec.nodes: 2 control planes; etcd needs an odd "
                          "number (1, 3, 5)"));
}

TEST(SpecValidationTest, RequiredLayersAndSecretRefs) {
  coldstart::v1::Cluster cluster = Reference();
  cluster.mutable_spec()->clear_image();
  cluster.mutable_spec()->mutable_mesh()->mutable_api_key()->clear_key();
  cluster.mutable_spec()->clear_gitops();  // optional layer
  cluster.mutable_spec()->mutable_versions()->set_talos("1.9.1");
  EXPECT_THAT(
      Problems(cluster),
      ElementsAre("spec.versions.talos: \"1.9.1\" is not a Talos version like "
                  "v1.9.1",
                  "spec.image: required", "spec.mesh.api_key.key: required"));
}

TEST(SpecValidationTest, EmptyClusterIsReportedNotCrashed) {
  EXPECT_THAT(Problems(coldstart::v1::Cluster()),
              ElementsAre("schema_version: required (this coldstart writes 1)",
                          "spec: required"));
}

TEST(SpecValidationTest, FormatsWithLocations) {
  absl::StatusOr<ParsedCluster> parsed = ParseClusterText(
      "schema_version: 1\nspec {\n  name: \"Bad_Name\"\n}\n", "x.txtpb");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  std::vector<SpecProblem> problems = ValidateCluster(parsed->cluster);
  ASSERT_GE(problems.size(), 2u);
  const std::string text = FormatProblems(*parsed, {problems[0], problems[1]});
  EXPECT_EQ(text,
            "x.txtpb:3:3: spec.name: \"Bad_Name\" is not a DNS label "
            "([a-z0-9-], at most 63 characters)\n"
            "x.txtpb:2:1: spec.versions: required");
  EXPECT_EQ(ValidateParsedCluster(*parsed).code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace coldstart
