#include "tools/provision-vms/vm_config.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/secrets/secret.h"
#include "tools/provision-vms/pve_client.h"

namespace coldstart {
namespace {

coldstart::v1::ClusterSpec Spec() {
  coldstart::v1::ClusterSpec spec;
  spec.set_name("test-cluster");
  spec.mutable_versions()->set_talos("v1.9.1");
  spec.mutable_network()->set_node_subnet("10.0.0.0/16");
  spec.mutable_network()->set_gateway("10.0.0.1");
  spec.mutable_network()->add_nameservers("10.0.0.53");
  spec.mutable_network()->add_nameservers("1.1.1.1");
  spec.mutable_proxmox()->set_bridge("vmbr0");
  spec.mutable_proxmox()->set_vm_storage("local-zfs");
  spec.mutable_image()->set_factory_url("https://factory.talos.dev/");
  return spec;
}

// The ids facts/talos.md §6 verified against the real factory.
TEST(SchematicTest, MatchesTheFactorysVerifiedIds) {
  coldstart::v1::ImageSpec image;
  EXPECT_EQ(SchematicYaml(image), "customization: {}\n");
  EXPECT_EQ(SchematicId(SchematicYaml(image)),
            "376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba");
  image.add_extensions("siderolabs/qemu-guest-agent");
  EXPECT_EQ(SchematicId(SchematicYaml(image)),
            "ce4c980550dd2ab1b17bbf2b08801c7eb59418eafe8f279833297925d67c7515");
  coldstart::v1::ImageSpec args;
  args.add_extra_kernel_args("noapic");
  args.add_extra_kernel_args("nolapic");
  EXPECT_EQ(SchematicId(SchematicYaml(args)),
            "9cba8e32753f91a16c1837ab8abf356af021706ef284aef07380780177d9a06c");
}

TEST(SchematicTest, ExtensionOrderDoesNotChangeTheId) {
  coldstart::v1::ImageSpec a, b;
  a.add_extensions("siderolabs/tailscale");
  a.add_extensions("siderolabs/qemu-guest-agent");
  b.add_extensions("siderolabs/qemu-guest-agent");
  b.add_extensions("siderolabs/tailscale");
  EXPECT_EQ(SchematicYaml(a), SchematicYaml(b));
}

TEST(VmConfigTest, CreateParamsCarryTheStaticAddressTagsAndMarker) {
  coldstart::v1::ClusterSpec spec = Spec();
  coldstart::v1::Node node;
  node.set_name("ctrl-1");
  node.set_vmid(1500);
  node.set_ip("10.0.1.1");
  node.set_cores(4);
  node.set_memory_mib(12288);
  node.set_disk_gib(40);
  auto p = CreateParams(spec, node, "local:import/x.qcow2");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->at("ipconfig0"), "ip=10.0.1.1/16,gw=10.0.0.1");
  EXPECT_EQ(p->at("nameserver"), "10.0.0.53 1.1.1.1");
  EXPECT_EQ(p->at("scsi0"), "local-zfs:0,import-from=local:import/x.qcow2");
  EXPECT_EQ(p->at("ide2"), "local-zfs:cloudinit");
  EXPECT_EQ(p->at("tags"), "coldstart;cs-test-cluster");
  EXPECT_EQ(p->at("scsihw"), "virtio-scsi-pci");
  EXPECT_EQ(p->at("cpu"), "x86-64-v2-AES");
  EXPECT_EQ(p->at("agent"), "1");
  EXPECT_EQ(p->at("vmid"), "1500");
  EXPECT_THAT(p->at("description"),
              ::testing::HasSubstr("cluster test-cluster"));
  EXPECT_EQ(ImageUrl(spec, "abc"),
            "https://factory.talos.dev/image/abc/v1.9.1/nocloud-amd64.qcow2");
  EXPECT_EQ(ImageFileName(spec, "abc"), "talos-v1.9.1-abc-nocloud-amd64.qcow2");
}

TEST(VmConfigTest, PropertyStringsAndSizes) {
  auto net = ParsePropertyString("virtio=BC:24:11:00:00:01,bridge=vmbr0,tag=5",
                                 "model");
  EXPECT_EQ(net["virtio"], "BC:24:11:00:00:01");
  EXPECT_EQ(net["bridge"], "vmbr0");
  EXPECT_EQ(net["tag"], "5");
  EXPECT_EQ(ParsePropertyString("virtio,bridge=vmbr0", "model")["model"],
            "virtio");
  EXPECT_EQ(*ParsePveSize("40G"), int64_t{40} << 30);
  EXPECT_EQ(*ParsePveSize("1246M"), int64_t{1246} << 20);
  EXPECT_EQ(*ParsePveSize("512"), 512);
  EXPECT_FALSE(ParsePveSize("x").ok());
}

TEST(PveClientTest, TokenIdsAndLenientNumbers) {
  EXPECT_EQ(*PveTokenId(Secret::FromView("ci@pve!tf=1234-5678")), "ci@pve!tf");
  absl::StatusOr<std::string> bad = PveTokenId(Secret::FromView("secretvalue"));
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(std::string(bad.status().message()),
              ::testing::Not(::testing::HasSubstr("secretvalue")));
  EXPECT_EQ(PveInt(nlohmann::json("101")), 101);
  EXPECT_EQ(PveInt(nlohmann::json(101)), 101);
  EXPECT_FALSE(PveInt(nlohmann::json("x")).has_value());
}

TEST(PveClientTest, RetriesLocksAnd5xxButNotPermanentErrors) {
  auto response = [](int status, const std::string& message) {
    HttpResponse r;
    r.status = status;
    r.body = nlohmann::json{{"data", nullptr}, {"message", message}}.dump();
    return r;
  };
  EXPECT_TRUE(IsRetryablePveResponse(
      response(500,
               "can't lock file '/var/lock/qemu-server/lock-1500.conf' - got "
               "timeout\n")));
  EXPECT_TRUE(IsRetryablePveResponse(response(500, "VM is locked (create)")));
  EXPECT_TRUE(IsRetryablePveResponse(response(500, "internal error")));
  EXPECT_FALSE(IsRetryablePveResponse(
      response(500, "unable to create VM 1500 - VM 1500 already exists")));
  EXPECT_FALSE(IsRetryablePveResponse(response(
      500,
      "Configuration file 'nodes/pve/qemu-server/1.conf' does not exist")));
  EXPECT_FALSE(
      IsRetryablePveResponse(response(403, "Permission check failed")));
  EXPECT_FALSE(IsRetryablePveResponse(response(501, "not implemented")));
}

TEST(PveClientTest, FormEncoding) {
  EXPECT_EQ(FormEncode({{"a", "x y"}, {"net0", "virtio,bridge=vmbr0"}}),
            "a=x%20y&net0=virtio%2Cbridge%3Dvmbr0");
}

}  // namespace
}  // namespace coldstart
