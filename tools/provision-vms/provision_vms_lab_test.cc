// provision-vms against the real labd (lab/testing/lab_fixture.h): the real
// binary, the lab's Proxmox VE and Image Factory over HTTPS, request logs.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lab/testing/lab_fixture.h"
#include "lib/cli/cluster_textproto.h"
#include "lib/net/http.h"
#include "lib/secrets/keystore.h"
#include "nlohmann/json.hpp"
#include "re2/re2.h"
#include "tools/provision-vms/pve_client.h"
#include "tools/provision-vms/vm_config.h"

namespace coldstart {
namespace {

using ::coldstart::lab::LabProcess;
using ::coldstart::lab::LabProcessOptions;
using ::coldstart::lab::RequestRecord;
using ::testing::HasSubstr;
using json = nlohmann::json;

constexpr int kForeignVmid = 900;

bool IsWriteUnderNodes(const lab::RequestRecord& r) {
  return r.method != "GET" && absl::StartsWith(r.path, "/api2/json/nodes/");
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

struct ToolRun {
  int exit_code = -1;
  std::string out;
  std::string err;
};

class ProvisionLabTest : public ::testing::Test {
 protected:
  void StartLab(double time_scale, const std::string& faults = "") {
    LabProcessOptions options;
    options.time_scale = time_scale;
    options.faults = faults;
    options.ready_timeout = absl::Seconds(60);
    auto lab = LabProcess::Start(options);
    ASSERT_TRUE(lab.ok()) << lab.status();
    lab_ = std::move(*lab);
    ca_ = lab_->workdir() + "/lab-ca.pem";
    endpoint_ = absl::StrCat("https://", lab_->ModuleAddress("pve", "https"),
                             "/api2/json");
    factory_ =
        absl::StrCat("https://", lab_->ModuleAddress("factory", "https"));
    keystore_dir_ =
        absl::StrCat(std::getenv("TEST_TMPDIR"), "/ks-", ++counter_);
    auto keystore = OpenKeystore("file:" + keystore_dir_);
    ASSERT_TRUE(keystore.ok()) << keystore.status();
    keystore_ = std::move(*keystore);
    std::string admin = ReadFile(lab_->workdir() + "/pve-admin-token");
    ASSERT_FALSE(admin.empty());
    ASSERT_TRUE(keystore_
                    ->Store(ClusterSecretAttributes("test-cluster",
                                                    "proxmox-admin-token"),
                            "admin", Secret::FromView(admin))
                    .ok());
    CurlHttpClientOptions http;
    http.trust.ca_file = ca_;
    auto client = CurlHttpClient::Create(http);
    ASSERT_TRUE(client.ok()) << client.status();
    http_ = std::move(*client);
    admin_ = std::make_unique<PveClient>(
        *http_, endpoint_, Secret::FromView(admin), RetryPolicy{});
  }

  void TearDown() override {
    if (lab_ != nullptr) {
      auto exit = lab_->Stop();
      ASSERT_TRUE(exit.ok()) << exit.status();
      EXPECT_EQ(exit->exit_code, 0);
      EXPECT_FALSE(exit->leftovers);
    }
  }

  // testdata/lab.txtpb pointed at this lab; `nodes` > 5 adds workers.
  std::string WriteSpec(int nodes = 5) {
    auto parsed = ReadClusterFile(lab::RunfilePath("testdata/lab.txtpb"));
    EXPECT_TRUE(parsed.ok()) << parsed.status();
    v1::Cluster cluster = parsed->cluster;
    auto* spec = cluster.mutable_spec();
    spec->mutable_proxmox()->set_endpoint(endpoint_);
    spec->mutable_proxmox()->set_ca_file(ca_);
    spec->mutable_image()->set_factory_url(factory_);
    spec->mutable_image()->set_ca_file(ca_);
    v1::Node worker = spec->nodes(4);
    for (int i = 5; i < nodes; ++i) {
      v1::Node* n = spec->add_nodes();
      *n = worker;
      n->set_name(absl::StrCat("worker-", i - 2));
      n->set_vmid(2000 + i - 3);
      n->set_ip(absl::StrCat("127.0.2.", i - 2));
    }
    std::string path = absl::StrCat(std::getenv("TEST_TMPDIR"), "/spec-",
                                    ++counter_, ".txtpb");
    std::ofstream(path) << ClusterToText(cluster);
    return path;
  }

  pid_t Spawn(const std::vector<std::string>& args, const std::string& tag) {
    out_path_ = absl::StrCat(std::getenv("TEST_TMPDIR"), "/", tag, ".out");
    err_path_ = absl::StrCat(std::getenv("TEST_TMPDIR"), "/", tag, ".err");
    std::vector<std::string> argv = {
        lab::RunfilePath("tools/provision-vms/provision-vms"),
        "--keystore=file:" + keystore_dir_};
    argv.insert(argv.end(), args.begin(), args.end());
    pid_t pid = fork();
    if (pid == 0) {
      int out = open(out_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      int err = open(err_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      dup2(out, 1);
      dup2(err, 2);
      unsetenv("PROXMOX_VE_API_TOKEN");
      unsetenv("COLDSTART_KEYSTORE");
      std::vector<char*> c;
      for (auto& a : argv) c.push_back(a.data());
      c.push_back(nullptr);
      execv(c[0], c.data());
      _exit(127);
    }
    return pid;
  }

  ToolRun Wait(pid_t pid) {
    int status = 0;
    waitpid(pid, &status, 0);
    ToolRun run;
    run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    run.out = ReadFile(out_path_);
    run.err = ReadFile(err_path_);
    return run;
  }

  ToolRun Run(const std::vector<std::string>& args) {
    return Wait(Spawn(args, absl::StrCat("run-", ++counter_)));
  }

  std::vector<RequestRecord> Requests(const std::string& module = "pve") {
    auto records = lab_->Requests(module);
    EXPECT_TRUE(records.ok()) << records.status();
    return records.ok() ? *records : std::vector<RequestRecord>{};
  }
  static int Writes(const std::vector<RequestRecord>& records, size_t from) {
    int n = 0;
    for (size_t i = from; i < records.size(); ++i) {
      n += records[i].method != "GET" && records[i].method != "HEAD";
    }
    return n;
  }
  static int Gets(const std::vector<RequestRecord>& records, size_t from) {
    int n = 0;
    for (size_t i = from; i < records.size(); ++i)
      n += records[i].method == "GET";
    return n;
  }

  json Api(const std::string& path, const PveParams& params = {}) {
    auto r = admin_->Get(path, params);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : json();
  }
  std::map<int, json> Vms() {
    std::map<int, json> out;
    for (const auto& e : Api("/cluster/resources", {{"type", "vm"}})) {
      out[static_cast<int>(*PveInt(e["vmid"]))] = e;
    }
    return out;
  }
  // A VM made by hand (no coldstart marker).
  void CreateForeignVm(int vmid, const std::string& name, int cores = 1) {
    auto upid =
        admin_->Post("/nodes/pve/qemu", {{"vmid", absl::StrCat(vmid)},
                                         {"name", name},
                                         {"cores", absl::StrCat(cores)},
                                         {"memory", "1024"},
                                         {"net0", "virtio,bridge=vmbr0"},
                                         {"scsi0", "local-zfs:8"}});
    ASSERT_TRUE(upid.ok()) << upid.status();
    auto task = admin_->WaitForTask(PveString(*upid), absl::Minutes(1));
    ASSERT_TRUE(task.ok() && task->ok()) << task.status();
  }

  // Every spec VM reads back as the spec says.
  void ExpectConfigsMatch(const std::string& spec_path) {
    auto parsed = ReadClusterFile(spec_path);
    ASSERT_TRUE(parsed.ok());
    const auto& spec = parsed->cluster.spec();
    for (const auto& node : spec.nodes()) {
      SCOPED_TRACE(node.name());
      json c = Api(absl::StrCat("/nodes/pve/qemu/", node.vmid(), "/config"));
      EXPECT_EQ(PveString(c["name"]), node.name());
      EXPECT_EQ(PveInt(c["cores"]), node.cores());
      EXPECT_EQ(PveInt(c["memory"]), node.memory_mib());
      EXPECT_EQ(PveString(c["cpu"]), "host");
      EXPECT_EQ(PveString(c["scsihw"]), "virtio-scsi-pci");
      EXPECT_EQ(ParsePropertyString(PveString(c["net0"]), "m")["bridge"],
                "vmbr0");
      EXPECT_EQ(PveString(c["ipconfig0"]),
                absl::StrCat("ip=", node.ip(), "/16,gw=127.0.0.1"));
      EXPECT_EQ(PveString(c["nameserver"]), "127.0.10.53");
      EXPECT_EQ(ParsePropertyString(PveString(c["scsi0"]), "f")["size"],
                absl::StrCat(node.disk_gib(), "G"));
      EXPECT_EQ(PveString(c["tags"]), "coldstart;cs-test-cluster");
      EXPECT_EQ(PveString(c["agent"]), "1");
      EXPECT_THAT(PveString(c["description"]),
                  HasSubstr(MarkerLine("test-cluster", node.name())));
      EXPECT_THAT(PveString(c["ide2"]), HasSubstr("cloudinit"));
    }
  }

  std::unique_ptr<LabProcess> lab_;
  std::unique_ptr<Keystore> keystore_;
  std::unique_ptr<CurlHttpClient> http_;
  std::unique_ptr<PveClient> admin_;
  std::string ca_, endpoint_, factory_, keystore_dir_, out_path_, err_path_;
  int counter_ = 0;
};

TEST_F(ProvisionLabTest,
       ColdRunCreatesFiveVmsWithTheProvisioningTokenThenReRunWritesNothing) {
  StartLab(0.001);
  std::string spec = WriteSpec();
  std::string state = std::string(std::getenv("TEST_TMPDIR")) + "/state.txtpb";
  std::ofstream(state) << ReadFile(spec);
  ToolRun cold = Run({"--state=" + state});
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
  // The token secrets and the CSI Secret manifest are in the keystore, never
  // in the output.
  auto csi = keystore_->Lookup(
      ClusterSecretAttributes("test-cluster", "proxmox-csi-plugin-secret"));
  ASSERT_TRUE(csi.ok()) << csi.status();
  EXPECT_THAT(std::string(csi->Reveal()),
              HasSubstr("token_id: \"kubernetes-csi@pve!csi\""));
  auto provision_token = keystore_->Lookup(
      ClusterSecretAttributes("test-cluster", "proxmox-provision-token"));
  ASSERT_TRUE(provision_token.ok());
  std::string secret(provision_token->Reveal().substr(
      provision_token->Reveal().rfind('=') + 1));
  EXPECT_THAT(ReadFile(state), ::testing::Not(HasSubstr(secret)));
  EXPECT_THAT(cold.err, ::testing::Not(HasSubstr(secret)));
  // privsep=0 tokens inherit the user's ACL; ACLs went to the users.
  json acl = Api("/access/acl");
  EXPECT_EQ(acl.size(), 2u);

  size_t pve_before = Requests().size();
  size_t factory_before = Requests("factory").size();
  ToolRun again = Run({"--state=" + state});
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
    std::string state =
        absl::StrCat(std::getenv("TEST_TMPDIR"), "/state-", nodes, ".txtpb");
    std::ofstream(state) << ReadFile(spec);
    ToolRun cold = Run({"--state=" + state});
    ASSERT_EQ(cold.exit_code, 0) << cold.err;
    ASSERT_EQ(Vms().size(), static_cast<size_t>(nodes));
    size_t before = Requests().size();
    ToolRun again = Run({"--state=" + state});
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
  ToolRun run = Run({"--in=" + spec});
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
  ToolRun run = Run({"--in=" + spec});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_TRUE(RE2::PartialMatch(
      run.err,
      R"(VM \d+ \([a-z0-9-]+\) on node pve: create task UPID:pve:[^ ]+: ended "storage 'local-zfs' is full"; fix the cause)"))
      << run.err;
  EXPECT_THAT(run.out, HasSubstr("provision {"));  // status so far is written
  ToolRun again = Run({"--in=" + spec});
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
  ToolRun run = Run({"--in=" + WriteSpec()});
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
  ToolRun refused = Run({"--in=" + spec});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_THAT(refused.err, HasSubstr("re-run with --adopt"));
  EXPECT_THAT(refused.err, HasSubstr("nothing changed"));
  auto records = Requests();
  for (size_t i = before; i < records.size(); ++i) {
    EXPECT_FALSE(IsWriteUnderNodes(records[i]))
        << records[i].method << " " << records[i].path;
  }
  EXPECT_EQ(PveInt(Api("/nodes/pve/qemu/1500/config")["cores"]), 2);

  ToolRun adopted = Run({"--in=" + spec, "--adopt"});
  ASSERT_EQ(adopted.exit_code, 0) << adopted.err;
  EXPECT_THAT(adopted.err, HasSubstr("VM 1500 (ctrl-1) on node pve: adopt"));
  EXPECT_THAT(adopted.err, HasSubstr("cores"));
  ExpectConfigsMatch(spec);

  // A VMID held by a VM of another name is never adopted.
  ToolRun destroyed = Run({"--in=" + spec, "--destroy"});
  ASSERT_EQ(destroyed.exit_code, 0) << destroyed.err;
  CreateForeignVm(1502, "not-ctrl-3");
  ToolRun conflict = Run({"--in=" + spec, "--adopt"});
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
  ToolRun dry = Run({"--in=" + spec, "--dry-run"});
  ASSERT_EQ(dry.exit_code, 0) << dry.err;
  EXPECT_EQ(Writes(Requests(), before), 0);
  EXPECT_THAT(dry.err,
              HasSubstr("plan: token coldstart@pve!provision: create"));
  EXPECT_THAT(dry.err, HasSubstr("plan: VM 1500 (ctrl-1) on node pve: create"));
  EXPECT_THAT(dry.err, HasSubstr(": download on pve"));

  ASSERT_EQ(Run({"--in=" + spec}).exit_code, 0);
  ToolRun destroy = Run({"--in=" + spec, "--destroy"});
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
  ToolRun run = Run({"--in=" + spec});
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
  PveClient csi(*http_, endpoint_, *stored, RetryPolicy{});
  EXPECT_TRUE(csi.Get("/version").ok());
}

TEST_F(ProvisionLabTest, MalformedSpecIsExit2) {
  std::string path = std::string(std::getenv("TEST_TMPDIR")) + "/bad.txtpb";
  std::ofstream(path) << "schema_version: 1\nspec { name: \"x\" colour: 1 }\n";
  keystore_dir_ = std::string(std::getenv("TEST_TMPDIR")) + "/ks-bad";
  ToolRun run = Run({"--in=" + path});
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
  std::string state =
      absl::StrCat(std::getenv("TEST_TMPDIR"), "/kill-state.txtpb");
  std::ofstream(state) << ReadFile(spec);
  if (point.destroy) {
    ToolRun cold = Run({"--state=" + state});
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
             << ReadFile(err_path_);
    }
    absl::SleepFor(absl::Microseconds(200));
  }
  ASSERT_TRUE(killed) << point.name;
  ToolRun killed_run = Wait(pid);
  EXPECT_EQ(killed_run.exit_code, -1);

  ToolRun again = Run(args);
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
    ToolRun destroy = Run({"--state=" + state, "--destroy"});
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
    PveClient client(*http_, endpoint_, *stored, RetryPolicy{});
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
