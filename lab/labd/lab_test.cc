// The in-process variant: a Lab constructed directly.
#include "lab/labd/lab.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "lib/testing/files.h"
#include "nlohmann/json.hpp"

namespace coldstart::lab {
namespace {

using ::coldstart::testing::ReadTestFile;
using ::coldstart::testing::RunfilePath;
using ::coldstart::testing::TestTempDir;
using ::testing::HasSubstr;

TEST(LabTest, StartsRegisteredModulesAndWritesTheReadyFile) {
  LabOptions options;
  options.spec_path = RunfilePath("testdata/lab.txtpb");
  options.workdir = TestTempDir() + "/inproc";
  options.time_scale = 0;
  options.ready_file = options.workdir + "/ready.json";
  options.admin_address = "127.0.10.254:0";
  options.any_port = true;
  auto lab = Lab::Create(options);
  ASSERT_TRUE(lab.ok()) << lab.status();
  ASSERT_TRUE((*lab)->Start().ok());

  nlohmann::json ready =
      nlohmann::json::parse(ReadTestFile(options.ready_file));
  EXPECT_EQ(ready["time_scale"], 0.0);
  std::string echo = ready["modules"]["echo"]["http"];
  httplib::Client client("http://" + echo);
  ASSERT_TRUE(client.Get("/echo?msg=x"));
  ASSERT_NE((*lab)->requests("echo"), nullptr);
  EXPECT_EQ((*lab)->requests("echo")->Count("GET", "/echo"), 1);
  EXPECT_EQ((*lab)->requests("nosuch"), nullptr);

  // The lifecycle is wired to the spec: a started VM boots on its spec IP.
  (*lab)->world().Publish(VmStarted{1500, "ctrl-1"});
  while ((*lab)->world().State().nodes["ctrl-1"].stage !=
         NodeStage::kMaintenance) {
    absl::SleepFor(absl::Milliseconds(1));
  }
  EXPECT_EQ((*lab)->world().State().nodes["ctrl-1"].ip, "127.0.1.1");
  (*lab)->Stop();
  (*lab)->Stop();  // idempotent
  EXPECT_FALSE(client.Get("/echo?msg=y"));
}

TEST(LabTest, RejectsBadOptions) {
  LabOptions options;
  options.spec_path = RunfilePath("testdata/lab.txtpb");
  options.workdir = TestTempDir() + "/bad";
  options.modules = {"nope"};
  EXPECT_THAT(Lab::Create(options).status().message(),
              HasSubstr("unknown module \"nope\""));
  options.modules = {};
  options.time_scale = -1;
  EXPECT_EQ(Lab::Create(options).status().code(),
            absl::StatusCode::kInvalidArgument);
  options.time_scale = 1;
  options.module_options = {{"nodot", "x"}};
  EXPECT_EQ(Lab::Create(options).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace coldstart::lab
