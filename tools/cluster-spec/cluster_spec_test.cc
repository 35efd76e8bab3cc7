#include "tools/cluster-spec/cluster_spec.h"

#include <sys/stat.h>

#include <sstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/cli/cli.h"
#include "lib/cli/cluster_textproto.h"
#include "lib/cli/spec_validation.h"
#include "lib/cli/tool_run.h"
#include "lib/testing/fake_clock.h"
#include "lib/testing/files.h"
#include "nlohmann/json.hpp"
#include "tools/cluster-spec/lab_map.h"
#include "tools/cluster-spec/plan.h"

namespace coldstart {
namespace {

using ::coldstart::testing::MakeTempDir;
using ::coldstart::testing::ReadTestFile;
using ::coldstart::testing::RunfilePath;
using ::coldstart::testing::WriteTestFile;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

bool Exists(const std::string& path) {
  struct stat info;
  return stat(path.c_str(), &info) == 0;
}

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
      EXPECT_THAT(line, ::testing::AnyOf(HasSubstr("pod_cidr"),
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

class RealMainTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir("cluster_spec");
    lab_text_ = ReadTestFile(RunfilePath("testdata/lab.txtpb"));
    state_ = dir_ + "/state.txtpb";
    WriteTestFile(state_, lab_text_);
  }
  absl::Status Run(const std::string& command, CommonOptions common) {
    ClusterSpecOptions options;
    options.command = command;
    options.common = common;
    std::ostringstream out, err;
    ToolIo io{out, err};
    io.clock = &clock_;
    absl::Status status = RealMain(options, io);
    out_ = out.str();
    EXPECT_THAT(err.str(), IsEmpty());
    return status;
  }
  CommonOptions In(const std::string& path) {
    CommonOptions common;
    common.in = path;
    return common;
  }
  CommonOptions State(bool dry_run = false) {
    CommonOptions common;
    common.state = state_;
    common.dry_run = dry_run;
    return common;
  }
  std::string dir_, lab_text_, state_, out_;
  FakeClock clock_;
};

TEST_F(RealMainTest, UnknownCommandIsUsageError) {
  absl::Status status = Run("nope", In(state_));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()),
              HasSubstr("unknown command \"nope\""));
}

TEST_F(RealMainTest, InvalidSpecListsEveryProblemWithLineAndColumn) {
  absl::Status status =
      Run("validate", In("tools/cluster-spec/testdata/vips_equal.txtpb"));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), HasSubstr("vips_equal.txtpb:"));
  EXPECT_THAT(std::string(status.message()),
              HasSubstr("spec.network.dns_vip: 10.0.3.2 is also "
                        "spec.network.ingress_vip"));
  EXPECT_EQ(out_, "");
}

TEST_F(RealMainTest, InvalidStateIsBadInputAndLeavesNoLockFile) {
  const std::string bad =
      ReadTestFile("tools/cluster-spec/testdata/duplicate_ip.txtpb");
  WriteTestFile(state_, bad);
  for (const char* command : {"validate", "plan"}) {
    absl::Status status = Run(command, State());
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(status.message()),
                HasSubstr(state_ + ":80:5: spec.nodes[4].ip: duplicate IP"));
  }
  EXPECT_FALSE(Exists(state_ + ".lock"));
  EXPECT_EQ(ReadTestFile(state_), bad);
}

TEST_F(RealMainTest, DirectoryAsInOrStateIsBadInputAndLeavesNoLockFile) {
  const std::string directory = MakeTempDir("a-dir");
  for (const char* command : {"validate", "plan", "lab-map"}) {
    absl::Status in = Run(command, In(directory));
    EXPECT_EQ(in.code(), absl::StatusCode::kInvalidArgument) << command;
    EXPECT_THAT(std::string(in.message()), HasSubstr("is a directory"));
  }
  CommonOptions state;
  state.state = directory;
  EXPECT_EQ(Run("validate", state).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(Exists(directory + ".lock"));
}

TEST_F(RealMainTest, ValidateWithStateWritesTheNormalizedSpecBack) {
  ASSERT_TRUE(Run("validate", State()).ok());
  EXPECT_THAT(out_, IsEmpty());
  const std::string normalized = ReadTestFile(state_);
  EXPECT_NE(normalized, lab_text_);  // the comments are gone
  EXPECT_THAT(normalized, HasSubstr("schema_version: 1"));
  // Normalizing is idempotent.
  ASSERT_TRUE(Run("validate", State()).ok());
  EXPECT_EQ(ReadTestFile(state_), normalized);
}

TEST_F(RealMainTest, DryRunNeverWritesTheStateFileNorStdout) {
  for (const char* command : {"validate", "plan"}) {
    ASSERT_TRUE(Run(command, State(/*dry_run=*/true)).ok()) << command;
    EXPECT_EQ(ReadTestFile(state_), lab_text_) << command;
    if (std::string(command) == "validate") EXPECT_THAT(out_, IsEmpty());
  }
}

TEST_F(RealMainTest, DryRunWithoutStateEchoesTheInput) {
  CommonOptions common = In(state_);
  common.dry_run = true;
  ASSERT_TRUE(Run("validate", common).ok());
  absl::StatusOr<ParsedCluster> echoed = ParseClusterText(out_, "<out>");
  ASSERT_TRUE(echoed.ok()) << echoed.status();
  absl::StatusOr<ParsedCluster> input = ParseClusterText(lab_text_, "lab");
  ASSERT_TRUE(input.ok()) << input.status();
  EXPECT_EQ(ClusterToText(echoed->cluster), ClusterToText(input->cluster));
}

TEST_F(RealMainTest, PlanPrintsATableAndLeavesTheStateFile) {
  ASSERT_TRUE(Run("plan", State()).ok());
  EXPECT_THAT(out_, HasSubstr("ctrl-2    control-plane  1501  127.0.1.2"));
  EXPECT_EQ(ReadTestFile(state_), lab_text_);
}

TEST_F(RealMainTest, PlanJsonIsThePlanAsJson) {
  CommonOptions common = In(state_);
  common.output = OutputFormat::kJson;
  ASSERT_TRUE(Run("plan", common).ok());
  const nlohmann::json plan = nlohmann::json::parse(out_);
  ASSERT_EQ(plan["nodes"].size(), 5u);
  EXPECT_EQ(plan["nodes"][1]["name"], "ctrl-2");
  EXPECT_EQ(plan["nodes"][1]["role"], "control-plane");
  EXPECT_EQ(plan["nodes"][1]["vmid"], "1501");
  EXPECT_EQ(plan["nodes"][1]["pve_node"], "pve");
  EXPECT_EQ(plan["vips"][0]["vip"], "api");
  EXPECT_EQ(plan["vips"][0]["address"], "127.0.3.1:6443");
  EXPECT_THAT(plan["summary"][0].get<std::string>(),
              HasSubstr("cluster test-cluster"));
  EXPECT_EQ(plan["endpoints"][0]["endpoint"], "proxmox");
}

TEST_F(RealMainTest, LabMapRefusesStateAndChangesNothing) {
  absl::Status status = Run("lab-map", State());
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), HasSubstr("--state"));
  EXPECT_EQ(ReadTestFile(state_), lab_text_);
  EXPECT_FALSE(Exists(state_ + ".lock"));
}

TEST_F(RealMainTest, EventsFileHasTheCommandStep) {
  CommonOptions common = In(state_);
  common.events = dir_ + "/events.jsonl";
  ASSERT_TRUE(Run("plan", common).ok());
  common.in = "tools/cluster-spec/testdata/vips_equal.txtpb";
  EXPECT_FALSE(Run("validate", common).ok());
  std::vector<nlohmann::json> records;
  for (absl::string_view line :
       absl::StrSplit(ReadTestFile(common.events), '\n', absl::SkipEmpty())) {
    records.push_back(nlohmann::json::parse(line));
  }
  ASSERT_EQ(records.size(), 4u);
  EXPECT_EQ(records[0]["step"], "plan");
  EXPECT_EQ(records[0]["event"], "start");
  EXPECT_EQ(records[1]["event"], "end");
  EXPECT_EQ(records[1]["outcome"], "ok");
  EXPECT_EQ(records[3]["step"], "validate");
  EXPECT_EQ(records[3]["outcome"], "failed");
  for (const nlohmann::json& record : records) {
    EXPECT_EQ(record["tool"], "cluster-spec");
    EXPECT_FALSE(record.contains("node"));
  }
}

}  // namespace
}  // namespace coldstart
