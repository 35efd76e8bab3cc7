// provision-vms against the real labd (provision_lab_fixture.h): the real
// binary, the lab's Proxmox VE and Image Factory over HTTPS, request logs.
#include <signal.h>
#include <sys/wait.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/cli/cluster_textproto.h"
#include "lib/secrets/keystore.h"
#include "lib/testing/files.h"
#include "nlohmann/json.hpp"
#include "re2/re2.h"
#include "tools/provision-vms/provision_lab_fixture.h"
#include "tools/provision-vms/pve_client.h"

namespace coldstart {
namespace {

using ::coldstart::testing::ReadTestFile;
using ::coldstart::testing::TestTempDir;
using ::coldstart::testing::WriteTestFile;
using ::testing::HasSubstr;
using json = nlohmann::json;

constexpr int kForeignVmid = 900;

bool IsWriteUnderNodes(const lab::RequestRecord& r) {
  return r.method != "GET" && absl::StartsWith(r.path, "/api2/json/nodes/");
}

TEST_F(ProvisionLabTest,
       ColdRunCreatesFiveVmsWithTheProvisioningTokenThenReRunWritesNothing) {
  StartLab(0.001);
  std::string spec = WriteSpec();
  std::string state = TestTempDir() + "/state.txtpb";
  WriteTestFile(state, ReadTestFile(spec));
  BinaryRun cold = Run({"--state=" + state});
  ASSERT_EQ(cold.exit_code, 0) << cold.err;
  EXPECT_EQ(cold.out, "");
  ExpectConfigsMatch(spec);
  std::map<int, json> vms = Vms();
  ASSERT_EQ(vms.size(), 5u);
  for (const auto& [vmid, vm] : vms)
    EXPECT_EQ(PveString(vm["status"]), "running");

  auto result = ReadClusterFile(state);
  ASSERT_TRUE(result.ok());
  const auto& provision = result->cluster.status().provision();
  ASSERT_EQ(provision.vms_size(), 5);
  for (const auto& vm : provision.vms()) {
    // The last task (start) ran under the least-privilege token from layer 0.
    EXPECT_THAT(vm.last_task().upid(), HasSubstr(":coldstart@pve!provision:"));
    EXPECT_EQ(vm.last_task().exit_status(), "OK");
    EXPECT_THAT(vm.mac(), ::testing::MatchesRegex("BC:24:11:..:..:.."));
    EXPECT_EQ(vm.power_state(), v1::POWER_STATE_RUNNING);
  }
  EXPECT_EQ(provision.image().schematic_id().size(), 64u);
  EXPECT_THAT(provision.image().volume(),
              HasSubstr("local:import/talos-v1.9.1-"));
  EXPECT_THAT(provision.tokens_ensured(),
              ::testing::ElementsAre("coldstart@pve!provision",
                                     "kubernetes-csi@pve!csi"));
  // The token secrets are in the keystore, never in the output; the CSI
  // plugin's config is seal-keystore's to build (no manifest item here).
  auto csi = keystore_->Lookup(
      ClusterSecretAttributes("test-cluster", "proxmox-csi-token"));
  ASSERT_TRUE(csi.ok()) << csi.status();
  EXPECT_THAT(std::string(csi->Reveal()),
              ::testing::StartsWith("kubernetes-csi@pve!csi="));
  EXPECT_TRUE(
      absl::IsNotFound(keystore_
                           ->Lookup(ClusterSecretAttributes(
                               "test-cluster", "proxmox-csi-plugin-secret"))
                           .status()));
  auto provision_token = keystore_->Lookup(
      ClusterSecretAttributes("test-cluster", "proxmox-provision-token"));
  ASSERT_TRUE(provision_token.ok());
  std::string secret(provision_token->Reveal().substr(
      provision_token->Reveal().rfind('=') + 1));
  EXPECT_THAT(ReadTestFile(state), ::testing::Not(HasSubstr(secret)));
  EXPECT_THAT(cold.err, ::testing::Not(HasSubstr(secret)));
  // privsep=0 tokens inherit the user's ACL; ACLs went to the users.
  json acl = Api("/access/acl");
  EXPECT_EQ(acl.size(), 2u);

  size_t pve_before = Requests().size();
  size_t factory_before = Requests("factory").size();
  BinaryRun again = Run({"--state=" + state});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(Writes(Requests(), pve_before), 0);
  EXPECT_EQ(Requests("factory").size(), factory_before);
  EXPECT_THAT(again.err, HasSubstr("ctrl-1) on node pve: unchanged"));
}

TEST_F(ProvisionLabTest, ReRunGetsDoNotGrowWithTheNodeCount) {
  std::vector<int> gets;
  for (int nodes : {5, 50}) {
    StartLab(0.0005);
    std::string spec = WriteSpec(nodes);
    std::string state = absl::StrCat(TestTempDir(), "/state-", nodes, ".txtpb");
    WriteTestFile(state, ReadTestFile(spec));
    BinaryRun cold = Run({"--state=" + state});
    ASSERT_EQ(cold.exit_code, 0) << cold.err;
    ASSERT_EQ(Vms().size(), static_cast<size_t>(nodes));
    size_t before = Requests().size();
    BinaryRun again = Run({"--state=" + state});
    ASSERT_EQ(again.exit_code, 0) << again.err;
    auto records = Requests();
    EXPECT_EQ(Writes(records, before), 0);
    gets.push_back(Gets(records, before));
    TearDown();
    lab_.reset();
  }
  EXPECT_EQ(gets[0], gets[1]);
  EXPECT_GT(gets[0], 0);
}

TEST_F(ProvisionLabTest, RetryableFaultsAreRetriedToSuccess) {
  StartLab(0.001, R"pb(
    rules {
      name: "resize-lock"
      endpoint: "pve:PUT /api2/json/nodes/*/qemu/*/resize"
      first_calls: 2
      proxmox_lock_timeout {}
    }
    rules {
      name: "config-500"
      endpoint: "pve:GET /api2/json/nodes/*/qemu/*/config"
      first_calls: 2
      http_status {
        code: 500
        body: "{\"data\":null,\"message\":\"internal error\\n\"}"
      }
    }
    rules {
      name: "create-reset"
      endpoint: "pve:POST /api2/json/nodes/*/qemu"
      first_calls: 1
      connection_reset {}
    }
    rules {
      name: "start-lock-task"
      endpoint: "pve:POST /api2/json/nodes/*/qemu/*/status/start"
      nth_call: 1
      proxmox_lock_timeout { shape: SHAPE_TASK }
    }
  )pb");
  std::string spec = WriteSpec();
  BinaryRun run = Run({"--in=" + spec});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  ExpectConfigsMatch(spec);
  std::map<std::string, int> fired;
  for (const auto& r : Requests()) {
    if (!r.fault.empty()) ++fired[r.fault];
  }
  EXPECT_EQ(fired["resize-lock"], 2);
  EXPECT_EQ(fired["config-500"], 2);
  EXPECT_EQ(fired["create-reset"], 1);
  EXPECT_EQ(fired["start-lock-task"], 1);
}

TEST_F(ProvisionLabTest, TaskErrorIsExit1NamingVmNodeTaskThenReRunConverges) {
  StartLab(0.001, R"pb(
    rules {
      name: "create-fails"
      endpoint: "pve:POST /api2/json/nodes/*/qemu"
      nth_call: 2
      task_error { message: "storage 'local-zfs' is full" }
    }
  )pb");
  std::string spec = WriteSpec();
  BinaryRun run = Run({"--in=" + spec});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_TRUE(RE2::PartialMatch(
      run.err,
      R"(VM \d+ \([a-z0-9-]+\) on node pve: create task UPID:pve:[^ ]+: ended "storage 'local-zfs' is full"; fix the cause)"))
      << run.err;
  EXPECT_THAT(run.out, HasSubstr("provision {"));  // status so far is written
  BinaryRun again = Run({"--in=" + spec});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  ExpectConfigsMatch(spec);
}

TEST_F(ProvisionLabTest, PermissionDeniedIsExit1NamingVmAndPrivilege) {
  StartLab(0.001, R"pb(
    rules {
      name: "start-403"
      endpoint: "pve:POST /api2/json/nodes/pve/qemu/1500/status/start"
      http_status {
        code: 403
        body: "{\"data\":null,\"message\":\"Permission check failed (/vms/1500, VM.PowerMgmt)\\n\"}"
      }
    }
  )pb");
  BinaryRun run = Run({"--in=" + WriteSpec()});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_THAT(run.err, HasSubstr("VM 1500 (ctrl-1) on node pve: start"));
  EXPECT_THAT(run.err,
              HasSubstr("Permission check failed (/vms/1500, VM.PowerMgmt)"));
  EXPECT_THAT(run.err, HasSubstr("grant the missing privilege"));
}

TEST_F(ProvisionLabTest, AdoptTakesOverMatchingVmsOnlyWhenAsked) {
  StartLab(0.001);
  CreateForeignVm(1500, "ctrl-1", 2);
  CreateForeignVm(1501, "ctrl-2", 2);
  std::string spec = WriteSpec();
  // Layer 0 first, so the next run's writes are all VM writes.
  size_t before = Requests().size();
  BinaryRun refused = Run({"--in=" + spec});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_THAT(refused.err, HasSubstr("re-run with --adopt"));
  EXPECT_THAT(refused.err, HasSubstr("nothing changed"));
  auto records = Requests();
  for (size_t i = before; i < records.size(); ++i) {
    EXPECT_FALSE(IsWriteUnderNodes(records[i]))
        << records[i].method << " " << records[i].path;
  }
  EXPECT_EQ(PveInt(Api("/nodes/pve/qemu/1500/config")["cores"]), 2);

  BinaryRun adopted = Run({"--in=" + spec, "--adopt"});
  ASSERT_EQ(adopted.exit_code, 0) << adopted.err;
  EXPECT_THAT(adopted.err, HasSubstr("VM 1500 (ctrl-1) on node pve: adopt"));
  EXPECT_THAT(adopted.err, HasSubstr("cores"));
  ExpectConfigsMatch(spec);

  // A VMID held by a VM of another name is never adopted.
  BinaryRun destroyed = Run({"--in=" + spec, "--destroy"});
  ASSERT_EQ(destroyed.exit_code, 0) << destroyed.err;
  CreateForeignVm(1502, "not-ctrl-3");
  BinaryRun conflict = Run({"--in=" + spec, "--adopt"});
  EXPECT_EQ(conflict.exit_code, 1);
  EXPECT_THAT(conflict.err,
              HasSubstr("VMID 1502 is held by VM \"not-ctrl-3\""));
  EXPECT_EQ(Vms().size(), 1u);
}

TEST_F(ProvisionLabTest,
       DryRunChangesNothingAndDestroyKeepsForeignVmsUsersAndImage) {
  StartLab(0.001);
  CreateForeignVm(kForeignVmid, "someone-else");
  std::string spec = WriteSpec();
  size_t before = Requests().size();
  BinaryRun dry = Run({"--in=" + spec, "--dry-run"});
  ASSERT_EQ(dry.exit_code, 0) << dry.err;
  EXPECT_EQ(Writes(Requests(), before), 0);
  EXPECT_THAT(dry.err,
              HasSubstr("plan: token coldstart@pve!provision: create"));
  EXPECT_THAT(dry.err, HasSubstr("plan: VM 1500 (ctrl-1) on node pve: create"));
  EXPECT_THAT(dry.err, HasSubstr(": download on pve"));

  ASSERT_EQ(Run({"--in=" + spec}).exit_code, 0);
  BinaryRun destroy = Run({"--in=" + spec, "--destroy"});
  ASSERT_EQ(destroy.exit_code, 0) << destroy.err;
  std::map<int, json> vms = Vms();
  ASSERT_EQ(vms.size(), 1u);
  EXPECT_EQ(vms.begin()->first, kForeignVmid);
  bool user = false;
  for (const auto& u : Api("/access/users", {{"full", "1"}})) {
    user |=
        PveString(u["userid"]) == "coldstart@pve" && u["tokens"].size() == 1;
  }
  EXPECT_TRUE(user);
  EXPECT_EQ(
      Api("/nodes/pve/storage/local/content", {{"content", "import"}}).size(),
      1u);
}

TEST_F(ProvisionLabTest, LostTokenSecretIsRotatedNeverLeftHalfKnown) {
  StartLab(0.001);
  std::string spec = WriteSpec();
  ASSERT_EQ(Run({"--in=" + spec}).exit_code, 0);
  // The state a kill between token creation and the keystore write leaves.
  ASSERT_TRUE(
      keystore_
          ->Delete(ClusterSecretAttributes("test-cluster", "proxmox-csi-token"))
          .ok());
  size_t before = Requests().size();
  BinaryRun run = Run({"--in=" + spec});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(run.err, HasSubstr("kubernetes-csi@pve!csi: rotate"));
  int deletes = 0, creates = 0;
  auto records = Requests();
  for (size_t i = before; i < records.size(); ++i) {
    if (records[i].path ==
        "/api2/json/access/users/kubernetes-csi@pve/token/csi") {
      deletes += records[i].method == "DELETE";
      creates += records[i].method == "POST";
    }
  }
  EXPECT_EQ(deletes, 1);
  EXPECT_EQ(creates, 1);
  auto stored = keystore_->Lookup(
      ClusterSecretAttributes("test-cluster", "proxmox-csi-token"));
  ASSERT_TRUE(stored.ok());
  PveClient csi(*http_, endpoint_, *stored);
  EXPECT_TRUE(csi.Get("/version").ok());
}

TEST_F(ProvisionLabTest, MalformedSpecIsExit2) {
  std::string path = TestTempDir() + "/bad.txtpb";
  WriteTestFile(path, "schema_version: 1\nspec { name: \"x\" colour: 1 }\n");
  keystore_dir_ = TestTempDir() + "/ks-bad";
  BinaryRun run = Run({"--in=" + path});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_THAT(run.err, HasSubstr("bad.txtpb:2:"));
  EXPECT_EQ(run.out, "");
}

// SIGKILL at request-log-observed moments (no hooks in the tool): the kill
// lands right after the lab answered that call, i.e. inside the step it
// starts (a create/download/resize/start task keeps running in the lab).
struct KillPoint {
  const char* name;
  const char* module;
  const char* method;
  const char* path_regex;
  int nth;
  bool destroy = false;
};

class KillMatrixTest : public ProvisionLabTest,
                       public ::testing::WithParamInterface<KillPoint> {};

TEST_P(KillMatrixTest, ReRunConvergesWithoutDuplicatesOrForeignDamage) {
  const KillPoint& point = GetParam();
  StartLab(0.02);
  CreateForeignVm(kForeignVmid, "someone-else");
  json foreign_before =
      Api(absl::StrCat("/nodes/pve/qemu/", kForeignVmid, "/config"));
  std::string spec = WriteSpec();
  std::string state = absl::StrCat(TestTempDir(), "/kill-state.txtpb");
  WriteTestFile(state, ReadTestFile(spec));
  if (point.destroy) {
    BinaryRun cold = Run({"--state=" + state});
    ASSERT_EQ(cold.exit_code, 0) << cold.err;
  }
  std::vector<std::string> args = {"--state=" + state};
  if (point.destroy) args.push_back("--destroy");
  pid_t pid = Spawn(args, "killed");
  bool killed = false;
  absl::Time until = absl::Now() + absl::Seconds(60);
  while (!killed && absl::Now() < until) {
    int seen = 0;
    for (const auto& r : Requests(point.module)) {
      seen +=
          r.method == point.method && RE2::FullMatch(r.path, point.path_regex);
    }
    if (seen >= point.nth) {
      kill(pid, SIGKILL);
      killed = true;
      break;
    }
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) {
      FAIL() << "provision-vms finished before reaching " << point.name << ":\n"
             << ReadTestFile(err_path_);
    }
    absl::SleepFor(absl::Microseconds(200));
  }
  ASSERT_TRUE(killed) << point.name;
  BinaryRun killed_run = Wait(pid);
  EXPECT_EQ(killed_run.exit_code, -1);

  BinaryRun again = Run(args);
  ASSERT_EQ(again.exit_code, 0) << again.err;
  std::map<int, json> vms = Vms();
  std::set<int> vmids;
  for (const auto& [vmid, vm] : vms) vmids.insert(vmid);
  if (point.destroy) {
    EXPECT_EQ(vmids, std::set<int>({kForeignVmid}));
  } else {
    EXPECT_EQ(vmids,
              std::set<int>({kForeignVmid, 1500, 1501, 1502, 2000, 2001}));
    ExpectConfigsMatch(spec);
    BinaryRun destroy = Run({"--state=" + state, "--destroy"});
    ASSERT_EQ(destroy.exit_code, 0) << destroy.err;
    EXPECT_EQ(Vms().size(), 1u) << "orphans after --destroy";
  }
  EXPECT_EQ(Api(absl::StrCat("/nodes/pve/qemu/", kForeignVmid, "/config")),
            foreign_before);
  // Every token in Proxmox has its secret in the keystore.
  for (const char* item : {"proxmox-provision-token", "proxmox-csi-token"}) {
    auto stored =
        keystore_->Lookup(ClusterSecretAttributes("test-cluster", item));
    ASSERT_TRUE(stored.ok()) << item;
    PveClient client(*http_, endpoint_, *stored);
    EXPECT_TRUE(client.Get("/version").ok()) << item;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Points, KillMatrixTest,
    ::testing::Values(
        KillPoint{"role-created", "pve", "POST", "/api2/json/access/roles", 1},
        KillPoint{"user-created", "pve", "POST", "/api2/json/access/users", 1},
        KillPoint{"token-created-before-keystore", "pve", "POST",
                  "/api2/json/access/users/coldstart@pve/token/provision", 1},
        KillPoint{"acl-set", "pve", "PUT", "/api2/json/access/acl", 1},
        KillPoint{"observing", "pve", "GET", "/api2/json/cluster/resources", 1},
        KillPoint{"schematic-posted", "factory", "POST", "/schematics", 1},
        KillPoint{"during-image-download", "pve", "POST",
                  "/api2/json/nodes/pve/storage/local/download-url", 1},
        KillPoint{"during-first-create-task", "pve", "POST",
                  "/api2/json/nodes/pve/qemu", 1},
        KillPoint{"during-third-create-task", "pve", "POST",
                  "/api2/json/nodes/pve/qemu", 3},
        KillPoint{"during-resize", "pve", "PUT",
                  "/api2/json/nodes/pve/qemu/\\d+/resize", 1},
        KillPoint{"during-start", "pve", "POST",
                  "/api2/json/nodes/pve/qemu/\\d+/status/start", 2},
        KillPoint{"during-destroy", "pve", "DELETE",
                  "/api2/json/nodes/pve/qemu/\\d+", 1, true}),
    [](const ::testing::TestParamInfo<KillPoint>& info) {
      std::string name = info.param.name;
      for (char& c : name) {
        if (c == '-') c = '_';
      }
      return name;
    });

}  // namespace
}  // namespace coldstart
