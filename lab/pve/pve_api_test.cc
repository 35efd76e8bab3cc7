#include "lab/pve/pve_api.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace coldstart::lab {
namespace {

using json = nlohmann::json;
using ::testing::HasSubstr;

class PveApiTest : public ::testing::Test {
 protected:
  PveApiTest()
      : world_([this] { return scheduler_.Now(); }),
        latency_(*LatencyModel::Create(1.0)) {
    PveApiOptions options;
    options.storages = {{"local", "dir", {"iso", "import"}},
                        {"local-zfs", "zfspool", {"images"}}};
    options.fetch = [](const std::string& url) -> absl::StatusOr<std::string> {
      std::string image(512, '\0');
      image.replace(0, 4, std::string("QFI\xfb", 4));
      image[24 + 3] = 0;  // virtual size 1 GiB (byte 27 = 0x40)
      image[24 + 4] = 0x40;
      return image;
    };
    api_ = std::make_unique<PveApi>(options, scheduler_, latency_, world_);
    admin_ = "PVEAPIToken=" + api_->CreateRootToken("t");
  }

  PveResponse Call(const std::string& method, const std::string& path,
                   std::map<std::string, std::string> params = {},
                   std::string auth = "") {
    PveRequest r;
    r.method = method;
    r.path = path;
    r.params = std::move(params);
    r.authorization = auth.empty() ? admin_ : auth;
    return api_->Handle(r);
  }
  json Data(const PveResponse& r) { return json::parse(r.body)["data"]; }
  std::string Message(const PveResponse& r) {
    return json::parse(r.body).value("message", "");
  }
  std::string Upid(const PveResponse& r) {
    EXPECT_EQ(r.status, 200) << r.body;
    return Data(r).get<std::string>();
  }
  json Task(const std::string& upid, const std::string& auth = "") {
    return Data(Call("GET", "/nodes/pve/tasks/" + upid + "/status", {}, auth));
  }

  // A least-privilege token (privsep 1) holding `role` on "/" via both the
  // user and the token ACL.
  std::string LimitedToken(const std::string& privs, bool token_acl = true) {
    EXPECT_EQ(Call("POST", "/access/roles", {{"roleid", "R"}, {"privs", privs}})
                  .status,
              200);
    EXPECT_EQ(Call("POST", "/access/users", {{"userid", "ci@pve"}}).status,
              200);
    PveResponse t = Call("POST", "/access/users/ci@pve/token/tf", {});
    EXPECT_EQ(t.status, 200) << t.body;
    EXPECT_EQ(Data(t)["full-tokenid"], "ci@pve!tf");
    EXPECT_EQ(Data(t)["info"]["privsep"], 1);
    std::string value = Data(t)["value"];
    EXPECT_EQ(Call("PUT", "/access/acl",
                   {{"path", "/"}, {"roles", "R"}, {"users", "ci@pve"}})
                  .status,
              200);
    if (token_acl) {
      EXPECT_EQ(Call("PUT", "/access/acl",
                     {{"path", "/"}, {"roles", "R"}, {"tokens", "ci@pve!tf"}})
                    .status,
                200);
    }
    return "PVEAPIToken=ci@pve!tf=" + value;
  }

  void Download() {
    std::string upid =
        Upid(Call("POST", "/nodes/pve/storage/local/download-url",
                  {{"url", "https://f/image.qcow2"},
                   {"content", "import"},
                   {"filename", "talos.qcow2"}}));
    scheduler_.RunUntilIdle();
    ASSERT_EQ(Task(upid)["exitstatus"], "OK");
  }

  VirtualScheduler scheduler_;
  World world_;
  LatencyModel latency_;
  std::unique_ptr<PveApi> api_;
  std::string admin_;
};

TEST_F(PveApiTest, AuthenticationFailuresAre401AndDelayed) {
  PveRequest r;
  r.method = "GET";
  r.path = "/version";
  PveResponse none = api_->Handle(r);
  EXPECT_EQ(none.status, 401);
  EXPECT_GE(none.delay, absl::Seconds(3));
  r.authorization = "PVEAPIToken=root@pam!t=wrong";
  EXPECT_EQ(api_->Handle(r).status, 401);
  EXPECT_EQ(Call("GET", "/version").status, 200);
  EXPECT_EQ(Data(Call("GET", "/version"))["version"], "8.4.1");
}

TEST_F(PveApiTest, UnknownPathsAre501AndBodiesOnGetAre501) {
  EXPECT_EQ(Call("GET", "/nope").status, 501);
  PveRequest r;
  r.method = "DELETE";
  r.path = "/nodes/pve/qemu/100";
  r.authorization = admin_;
  r.unexpected_body = true;
  EXPECT_EQ(api_->Handle(r).status, 501);
}

TEST_F(PveApiTest, PrivsepTokenNeedsItsOwnAclAndA403NamesThePrivilege) {
  std::string no_token_acl = LimitedToken("VM.Audit", /*token_acl=*/false);
  PveResponse r = Call("POST", "/nodes/pve/qemu",
                       {{"vmid", "100"}, {"cores", "2"}}, no_token_acl);
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(Message(r), "Permission check failed (/vms/100, VM.Allocate)\n");
  // Token ACL with only VM.Audit: intersection still lacks VM.Allocate.
  EXPECT_EQ(
      Call("PUT", "/access/acl",
           {{"path", "/"}, {"roles", "PVEAuditor"}, {"tokens", "ci@pve!tf"}})
          .status,
      200);
  EXPECT_EQ(
      Call("POST", "/nodes/pve/qemu", {{"vmid", "100"}}, no_token_acl).status,
      403);
}

TEST_F(PveApiTest, CreateIsATaskWithImportResizeAndStringMemory) {
  Download();
  PveResponse bad =
      Call("POST", "/nodes/pve/qemu",
           {{"vmid", "100"},
            {"scsi0", "local-zfs:8,import-from=local:import/talos.qcow2"}});
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(
      Call("POST", "/nodes/pve/qemu", {{"vmid", "100"}, {"onboot", "true"}})
          .status,
      400);
  EXPECT_EQ(Call("POST", "/nodes/pve/qemu", {{"vmid", "100"}, {"tags", "a:b"}})
                .status,
            400);
  EXPECT_EQ(Call("POST", "/nodes/pve/qemu",
                 {{"vmid", "100"},
                  {"scsi0", "local-zfs:0,import-from=/var/lib/vz/x.qcow2"}})
                .status,
            403);
  std::string upid =
      Upid(Call("POST", "/nodes/pve/qemu",
                {{"vmid", "100"},
                 {"name", "ctrl-1"},
                 {"cores", "4"},
                 {"memory", "2048"},
                 {"net0", "virtio,bridge=vmbr0"},
                 {"tags", "Coldstart;cs-x,coldstart"},
                 {"scsi0", "local-zfs:0,import-from=local:import/talos.qcow2"},
                 {"ide2", "local-zfs:cloudinit"},
                 {"ipconfig0", "ip=10.0.1.1/16,gw=10.0.0.1"},
                 {"agent", "1"}}));
  EXPECT_THAT(upid, ::testing::MatchesRegex(
                        "UPID:pve:[0-9A-F]{8}:[0-9A-F]{8}:[0-9A-F]{8}:qmcreate:"
                        "100:root@pam!t:"));
  EXPECT_EQ(Task(upid)["status"], "running");
  // Locked while the create task runs; nextid reserves nothing.
  EXPECT_EQ(
      Message(Call("PUT", "/nodes/pve/qemu/100/config", {{"cores", "2"}})),
      "can't lock file '/var/lock/qemu-server/lock-100.conf' - got "
      "timeout\n");
  EXPECT_THAT(Message(Call("POST", "/nodes/pve/qemu", {{"vmid", "100"}})),
              HasSubstr("VM 100 already exists on node 'pve'"));
  EXPECT_EQ(Data(Call("GET", "/cluster/nextid")), "101");
  scheduler_.RunUntilIdle();
  EXPECT_EQ(Task(upid)["exitstatus"], "OK");
  json config = Data(Call("GET", "/nodes/pve/qemu/100/config"));
  EXPECT_EQ(config["cores"], 4);
  EXPECT_EQ(config["memory"], "2048");
  EXPECT_EQ(config["tags"], "coldstart;cs-x");
  EXPECT_EQ(config["scsi0"], "local-zfs:vm-100-disk-0,size=1G");
  EXPECT_EQ(config["ide2"], "local-zfs:vm-100-cloudinit,media=cdrom");
  EXPECT_THAT(config["net0"].get<std::string>(),
              ::testing::MatchesRegex("virtio=BC:24:11:..:..:..,bridge=vmbr0"));

  upid = Upid(Call("PUT", "/nodes/pve/qemu/100/resize",
                   {{"disk", "scsi0"}, {"size", "40G"}}));
  scheduler_.RunUntilIdle();
  EXPECT_EQ(Task(upid)["exitstatus"], "OK");
  upid = Upid(Call("PUT", "/nodes/pve/qemu/100/resize",
                   {{"disk", "scsi0"}, {"size", "8G"}}));
  scheduler_.RunUntilIdle();
  EXPECT_EQ(Task(upid)["exitstatus"], "shrinking disks is not supported");
  json resources = Data(Call("GET", "/cluster/resources", {{"type", "vm"}}));
  ASSERT_EQ(resources.size(), 1u);
  EXPECT_EQ(resources[0]["maxdisk"], int64_t{40} << 30);
  EXPECT_EQ(resources[0]["vmid"], 100);
}

TEST_F(PveApiTest, StartPublishesAndTheAgentAnswersOnceBooted) {
  Download();
  Upid(Call("POST", "/nodes/pve/qemu",
            {{"vmid", "100"},
             {"name", "n1"},
             {"agent", "1"},
             {"ipconfig0", "ip=10.0.1.1/16"},
             {"net0", "virtio,bridge=vmbr0"}}));
  scheduler_.RunUntilIdle();
  std::string path = "/nodes/pve/qemu/100/agent/network-get-interfaces";
  EXPECT_EQ(Message(Call("GET", path)), "VM 100 is not running\n");
  std::string upid = Upid(Call("POST", "/nodes/pve/qemu/100/status/start"));
  scheduler_.RunUntilIdle();
  EXPECT_EQ(Task(upid)["exitstatus"], "OK");
  EXPECT_TRUE(world_.State().vms.at(100).running);
  EXPECT_EQ(Message(Call("GET", path)), "QEMU guest agent is not running\n");
  world_.Publish(NodeBooted{"n1", "10.0.1.1"});
  json agent = Data(Call("GET", path));
  EXPECT_EQ(agent["result"][1]["ip-addresses"][0]["ip-address"], "10.0.1.1");
  upid = Upid(Call("POST", "/nodes/pve/qemu/100/status/start"));
  scheduler_.RunUntilIdle();
  EXPECT_EQ(Task(upid)["exitstatus"], "VM 100 already running");
  EXPECT_EQ(Message(Call("DELETE", "/nodes/pve/qemu/100")),
            "VM 100 is running - destroy failed\n");
}

TEST_F(PveApiTest, DownloadRefusesToOverwriteAndChecksImportRules) {
  Download();
  std::string upid = Upid(Call("POST", "/nodes/pve/storage/local/download-url",
                               {{"url", "https://f/image.qcow2"},
                                {"content", "import"},
                                {"filename", "talos.qcow2"}}));
  scheduler_.RunUntilIdle();
  EXPECT_EQ(
      Task(upid)["exitstatus"],
      "refusing to override existing file '/var/lib/vz/import/talos.qcow2'");
  EXPECT_THAT(Message(Call("POST", "/nodes/pve/storage/local-zfs/download-url",
                           {{"url", "https://f/x.qcow2"},
                            {"content", "import"},
                            {"filename", "x.qcow2"}})),
              HasSubstr("not a file based storage"));
  EXPECT_EQ(Call("POST", "/nodes/pve/storage/local/download-url",
                 {{"url", "https://f/x"},
                  {"content", "import"},
                  {"filename", "x.txt"}})
                .status,
            400);
  json content = Data(
      Call("GET", "/nodes/pve/storage/local/content", {{"content", "import"}}));
  ASSERT_EQ(content.size(), 1u);
  EXPECT_EQ(content[0]["volid"], "local:import/talos.qcow2");
}

TEST_F(PveApiTest, TokensAreShownOnceAndExistingOnesAre400) {
  ASSERT_EQ(Call("POST", "/access/users", {{"userid", "u@pve"}}).status, 200);
  EXPECT_THAT(Message(Call("POST", "/access/users", {{"userid", "u@pve"}})),
              HasSubstr("already exists"));
  ASSERT_EQ(
      Call("POST", "/access/users/u@pve/token/ab", {{"privsep", "0"}}).status,
      200);
  PveResponse again = Call("POST", "/access/users/u@pve/token/ab");
  EXPECT_EQ(again.status, 400);
  EXPECT_EQ(json::parse(again.body)["errors"]["tokenid"],
            "Token already exists.");
  json users = Data(Call("GET", "/access/users", {{"full", "1"}}));
  bool seen = false;
  for (const auto& u : users) {
    if (u["userid"] == "u@pve") {
      seen = true;
      EXPECT_EQ(u["tokens"][0]["tokenid"], "ab");
      EXPECT_FALSE(u["tokens"][0].contains("value"));
    }
  }
  EXPECT_TRUE(seen);
}

TEST(PveTagsTest, NormalizesLikeProxmox) {
  EXPECT_EQ(*NormalizePveTags("b;A,a c"), "a;b;c");
  EXPECT_FALSE(NormalizePveTags("cs:x").ok());
  EXPECT_FALSE(NormalizePveTags("-x").ok());
}

}  // namespace
}  // namespace coldstart::lab
