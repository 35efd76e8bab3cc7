#include "tools/cluster-spec/cluster_spec.h"

#include <sstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/cli/cluster_textproto.h"
#include "lib/cli/spec_validation.h"

namespace coldstart {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;

coldstart::v1::Cluster Reference() {
  absl::StatusOr<ParsedCluster> parsed =
      ReadClusterFile("testdata/agentydragon.txtpb");
  EXPECT_TRUE(parsed.ok()) << parsed.status();
  return parsed->cluster;
}

TEST(LabMapTest, MapsAddressesOntoLoopbackAndKeepsTheRest) {
  absl::StatusOr<coldstart::v1::Cluster> lab = LabMap(Reference(), "ca.pem");
  ASSERT_TRUE(lab.ok()) << lab.status();
  const coldstart::v1::ClusterSpec& spec = lab->spec();
  EXPECT_EQ(spec.network().node_subnet(), "127.0.0.0/16");
  EXPECT_EQ(spec.network().api_vip(), "127.0.3.1");
  EXPECT_EQ(spec.nodes(1).ip(), "127.0.1.2");
  EXPECT_EQ(spec.nodes(1).name(), "ctrl-2");
  EXPECT_EQ(spec.nodes(1).vmid(), 1501u);
  EXPECT_EQ(spec.proxmox().endpoint(), "https://127.0.10.1:8006/api2/json");
  EXPECT_EQ(spec.proxmox().ca_file(), "ca.pem");
  EXPECT_EQ(spec.dns().zone(), "test-cluster.agentydragon.com");
  EXPECT_EQ(spec.dns().cluster_powerdns().dns_address(), "127.0.3.3:8053");
  EXPECT_EQ(spec.network().pod_cidr(), "10.244.0.0/16");
  EXPECT_THAT(ValidateCluster(*lab), IsEmpty());
}

TEST(LabMapTest, EveryAddressIsLoopbackOrClusterInternal) {
  absl::StatusOr<coldstart::v1::Cluster> lab = LabMap(Reference(), "ca.pem");
  ASSERT_TRUE(lab.ok()) << lab.status();
  const std::string text = ClusterToText(*lab);
  // The only 10.x values left are the pod and service CIDRs.
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line.find("\"10.") != std::string::npos ||
        line.find("//10.") != std::string::npos ||
        line.find("203.0.113.") != std::string::npos ||
        line.find("agentydragon.com:") != std::string::npos) {
      EXPECT_THAT(line, testing::AnyOf(HasSubstr("pod_cidr"),
                                       HasSubstr("service_cidr")));
    }
  }
}

TEST(LabMapTest, RefusesCollisionsWithLabEndpoints) {
  coldstart::v1::Cluster cluster = Reference();
  cluster.mutable_spec()->mutable_nodes(4)->set_ip("10.0.10.5");
  absl::StatusOr<coldstart::v1::Cluster> lab = LabMap(cluster, "ca.pem");
  EXPECT_EQ(lab.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(LabMapTest, RefusesSubnetsWiderThanSlash8) {
  coldstart::v1::Cluster cluster = Reference();
  cluster.mutable_spec()->mutable_network()->set_node_subnet("0.0.0.0/4");
  EXPECT_EQ(LabMap(cluster, "ca.pem").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(PlanTest, ListsNodesVipsAndEndpoints) {
  const std::string plan = RenderPlan(Reference());
  EXPECT_THAT(plan, HasSubstr("ctrl-1    control-plane  1500  10.0.1.1"));
  EXPECT_THAT(plan, HasSubstr("worker-2  worker         2001  10.0.2.2"));
  EXPECT_THAT(plan, HasSubstr("ingress  10.0.3.2"));
  EXPECT_THAT(plan,
              HasSubstr("image factory        https://factory.talos.dev"));
}

TEST(RunClusterSpecTest, UnknownCommandIsUsageError) {
  std::ostringstream out;
  ClusterSpecOptions options;
  options.command = "nope";
  EXPECT_EQ(RunClusterSpec(options, out).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(RunClusterSpecTest, InvalidSpecListsEveryProblem) {
  std::ostringstream out;
  ClusterSpecOptions options;
  options.command = "validate";
  options.input = "tools/cluster-spec/testdata/vips_equal.txtpb";
  absl::Status status = RunClusterSpec(options, out);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()),
              HasSubstr("spec.network.dns_vip: 10.0.3.2 is also "
                        "spec.network.ingress_vip"));
  EXPECT_EQ(out.str(), "");
}

}  // namespace
}  // namespace coldstart
