#include "tools/provision-vms/provision_lab_fixture.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "lib/cli/cluster_textproto.h"
#include "lib/testing/files.h"
#include "tools/provision-vms/vm_config.h"

namespace coldstart {

using ::coldstart::testing::ReadTestFile;
using ::coldstart::testing::TestTempDir;
using ::coldstart::testing::WriteTestFile;
using ::testing::HasSubstr;
using json = nlohmann::json;

void ProvisionLabTest::StartLab(double time_scale, const std::string& faults) {
  lab::LabProcessOptions options;
  options.time_scale = time_scale;
  options.faults = faults;
  options.ready_timeout = absl::Seconds(60);
  auto lab = lab::LabProcess::Start(options);
  ASSERT_TRUE(lab.ok()) << lab.status();
  lab_ = std::move(*lab);
  ca_ = lab_->workdir() + "/lab-ca.pem";
  endpoint_ = absl::StrCat("https://", lab_->ModuleAddress("pve", "https"),
                           "/api2/json");
  factory_ = absl::StrCat("https://", lab_->ModuleAddress("factory", "https"));
  keystore_dir_ = absl::StrCat(TestTempDir(), "/ks-", ++counter_);
  auto keystore = OpenKeystore("file:" + keystore_dir_);
  ASSERT_TRUE(keystore.ok()) << keystore.status();
  keystore_ = std::move(*keystore);
  admin_token_ = ReadTestFile(lab_->workdir() + "/pve-admin-token");
  ASSERT_FALSE(admin_token_.empty());
  ASSERT_TRUE(keystore_
                  ->Store(ClusterSecretAttributes("test-cluster",
                                                  "proxmox-admin-token"),
                          "admin", Secret::FromView(admin_token_))
                  .ok());
  CurlHttpClientOptions http;
  http.trust.ca_file = ca_;
  auto client = CurlHttpClient::Create(http);
  ASSERT_TRUE(client.ok()) << client.status();
  http_ = std::move(*client);
  admin_ = std::make_unique<PveClient>(*http_, endpoint_,
                                       Secret::FromView(admin_token_));
}

void ProvisionLabTest::TearDown() {
  if (lab_ != nullptr) {
    auto exit = lab_->Stop();
    ASSERT_TRUE(exit.ok()) << exit.status();
    EXPECT_EQ(exit->exit_code, 0);
    EXPECT_FALSE(exit->leftovers);
  }
}

std::string ProvisionLabTest::WriteSpec(
    int nodes, const std::function<void(v1::Cluster&)>& edit) {
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
  if (edit) edit(cluster);
  std::string path =
      absl::StrCat(TestTempDir(), "/spec-", ++counter_, ".txtpb");
  WriteTestFile(path, ClusterToText(cluster));
  return path;
}

pid_t ProvisionLabTest::Spawn(const std::vector<std::string>& args,
                              const std::string& tag) {
  out_path_ = absl::StrCat(TestTempDir(), "/", tag, ".out");
  err_path_ = absl::StrCat(TestTempDir(), "/", tag, ".err");
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

BinaryRun ProvisionLabTest::Wait(pid_t pid) {
  int status = 0;
  waitpid(pid, &status, 0);
  BinaryRun run;
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  run.out = ReadTestFile(out_path_);
  run.err = ReadTestFile(err_path_);
  return run;
}

BinaryRun ProvisionLabTest::Run(const std::vector<std::string>& args) {
  return Wait(Spawn(args, absl::StrCat("run-", ++counter_)));
}

std::vector<lab::RequestRecord> ProvisionLabTest::Requests(
    const std::string& module) {
  auto records = lab_->Requests(module);
  EXPECT_TRUE(records.ok()) << records.status();
  return records.ok() ? *records : std::vector<lab::RequestRecord>{};
}

int ProvisionLabTest::Writes(const std::vector<lab::RequestRecord>& records,
                             size_t from) {
  int n = 0;
  for (size_t i = from; i < records.size(); ++i) {
    n += records[i].method != "GET" && records[i].method != "HEAD";
  }
  return n;
}

int ProvisionLabTest::Gets(const std::vector<lab::RequestRecord>& records,
                           size_t from) {
  int n = 0;
  for (size_t i = from; i < records.size(); ++i) {
    n += records[i].method == "GET";
  }
  return n;
}

json ProvisionLabTest::Api(const std::string& path, const PveParams& params) {
  auto r = admin_->Get(path, params);
  EXPECT_TRUE(r.ok()) << r.status();
  return r.ok() ? *r : json();
}

std::map<int, json> ProvisionLabTest::Vms() {
  std::map<int, json> out;
  for (const auto& e : Api("/cluster/resources", {{"type", "vm"}})) {
    out[static_cast<int>(*PveInt(e["vmid"]))] = e;
  }
  return out;
}

void ProvisionLabTest::CreateForeignVm(int vmid, const std::string& name,
                                       int cores) {
  auto upid = admin_->Post("/nodes/pve/qemu", {{"vmid", absl::StrCat(vmid)},
                                               {"name", name},
                                               {"cores", absl::StrCat(cores)},
                                               {"memory", "1024"},
                                               {"net0", "virtio,bridge=vmbr0"},
                                               {"scsi0", "local-zfs:8"}});
  ASSERT_TRUE(upid.ok()) << upid.status();
  auto task = admin_->WaitForTask(PveString(*upid), absl::Minutes(1));
  ASSERT_TRUE(task.ok() && task->ok()) << task.status();
}

void ProvisionLabTest::ExpectConfigsMatch(const std::string& spec_path) {
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

}  // namespace coldstart
