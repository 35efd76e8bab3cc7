#include "lab/kube/kube_module.h"

#include <cstdlib>
#include <memory>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lab/faults/fault_injector.h"
#include "lab/http/request_log.h"
#include "lab/world/latency.h"
#include "lab/world/lifecycle.h"
#include "lab/world/scheduler.h"
#include "lab/world/world.h"
#include "lib/cli/cluster_textproto.h"
#include "lib/kube/kube_client.h"
#include "lib/kube/kube_config.h"

namespace coldstart::lab {
namespace {

std::string Runfile(const std::string& rel) {
  return absl::StrCat(std::getenv("TEST_SRCDIR"), "/",
                      std::getenv("TEST_WORKSPACE"), "/", rel);
}

std::string ReadyOf(ApiServer& api, const std::string& node) {
  std::optional<Json> n = api.Get("v1", "Node", "", node);
  if (!n.has_value()) return "absent";
  return (*n)["status"]["conditions"][0]["status"];
}

TEST(KubeModuleTest, NodesRegisterThenTurnReadyAfterCiliumThenScenarioPlays) {
  auto parsed = ReadClusterFile(Runfile("testdata/lab.txtpb"));
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  const v1::Cluster& spec = parsed->cluster;
  VirtualScheduler scheduler(absl::Now());
  World world([&] { return scheduler.Now(); });
  auto latency = LatencyModel::Create(0.01);
  ASSERT_TRUE(latency.ok());
  LifecycleOptions lifecycle;
  lifecycle.api_vip = spec.spec().network().api_vip();
  for (const v1::Node& n : spec.spec().nodes()) {
    lifecycle.node_ips[n.name()] = n.ip();
  }
  InstallLifecycle(lifecycle, world, scheduler, *latency);
  auto faults = FaultInjector::Create({});
  ASSERT_TRUE(faults.ok());
  RequestLog requests;
  ModuleContext context;
  context.spec = &spec;
  context.world = &world;
  context.scheduler = &scheduler;
  context.latency = &*latency;
  context.faults = faults->get();
  context.requests = &requests;
  context.workdir = std::getenv("TEST_TMPDIR");
  context.any_port = true;
  context.options["scenario"] =
      Runfile("lab/kube/testdata/scenarios/healthy.txtpb");
  context.log = [](const std::string&) {};

  KubeModule module;
  ASSERT_TRUE(module.Start(context).ok());
  EXPECT_TRUE(module.Listeners().empty());  // no VIP before etcd

  for (const v1::Node& n : spec.spec().nodes()) {
    world.Publish(
        ConfigApplied{n.name(), n.role() == v1::NODE_ROLE_CONTROL_PLANE});
  }
  EXPECT_EQ(ReadyOf(*module.api(), "ctrl-1"), "False");
  EXPECT_EQ(ReadyOf(*module.api(), "worker-2"), "False");

  world.Publish(EtcdBootstrapped{"ctrl-1"});
  scheduler.RunUntilIdle();
  ASSERT_EQ(module.Listeners().count("https"), 1u);
  EXPECT_THAT(module.Listeners()["https"],
              ::testing::StartsWith(spec.spec().network().api_vip()));

  ::coldstart::kube::KubeconfigLoadOptions kc;
  kc.explicit_path = module.kubeconfig_path();
  auto config = ::coldstart::kube::LoadKubeconfig(kc);
  ASSERT_TRUE(config.ok()) << config.status();
  auto client = ::coldstart::kube::KubeClient::FromConfig(*config);
  ASSERT_TRUE(client.ok());
  // Cilium applied through the API, server-side.
  ::coldstart::kube::Json ds = {
      {"metadata", {{"name", "cilium"}, {"namespace", "kube-system"}}},
      {"spec", {{"template", {{"spec", ::coldstart::kube::Json::object()}}}}}};
  ASSERT_TRUE((*client)
                  ->Apply(::coldstart::kube::DaemonSets(), ds, {"coldstart"})
                  .ok());
  EXPECT_EQ(ReadyOf(*module.api(), "ctrl-1"), "False");  // CNI still rolling
  scheduler.RunUntilIdle();
  for (const v1::Node& n : spec.spec().nodes()) {
    EXPECT_EQ(ReadyOf(*module.api(), n.name()), "True") << n.name();
  }
  EXPECT_TRUE(module.api()
                  ->Get("v1", "Pod", "kube-system", "cilium-worker-1")
                  .has_value());

  // Flux's GitRepository starts the scenario.
  EXPECT_FALSE(module.api()
                   ->Get("storage.k8s.io/v1", "StorageClass", "", "proxmox-csi")
                   .has_value());
  ASSERT_TRUE(
      module.api()
          ->Apply(
              {{"apiVersion", "apiextensions.k8s.io/v1"},
               {"kind", "CustomResourceDefinition"},
               {"metadata",
                {{"name", "gitrepositories.source.toolkit.fluxcd.io"}}},
               {"spec",
                {{"group", "source.toolkit.fluxcd.io"},
                 {"scope", "Namespaced"},
                 {"names",
                  {{"plural", "gitrepositories"}, {"kind", "GitRepository"}}},
                 {"versions", {{{"name", "v1"}, {"served", true}}}}}}})
          .ok());
  ASSERT_TRUE(module.api()
                  ->Apply({{"apiVersion", "v1"},
                           {"kind", "Namespace"},
                           {"metadata", {{"name", "flux-system"}}}})
                  .ok());
  ASSERT_TRUE(
      module.api()
          ->Apply({{"apiVersion", "source.toolkit.fluxcd.io/v1"},
                   {"kind", "GitRepository"},
                   {"metadata",
                    {{"name", "flux-system"}, {"namespace", "flux-system"}}}})
          .ok());
  scheduler.RunUntilIdle();
  EXPECT_TRUE(module.api()
                  ->Get("storage.k8s.io/v1", "StorageClass", "", "proxmox-csi")
                  .has_value());
  EXPECT_TRUE(module.api()->Get("v1", "Pod", "vault", "vault-0").has_value());
  module.Stop();
  EXPECT_TRUE(module.Listeners().empty());
}

}  // namespace
}  // namespace coldstart::lab
