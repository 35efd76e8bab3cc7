#include "lab/kube/kube_https.h"

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "gtest/gtest.h"
#include "lab/faults/fault_injector.h"
#include "lab/kube/test_server.h"
#include "lib/kube/kube_client.h"
#include "lib/kube/kube_config.h"
#include "lib/testing/files.h"

namespace coldstart::lab {
namespace {

using ::coldstart::kube::Json;
using ::coldstart::kube::KubeClient;
using ::coldstart::kube::KubeconfigLoadOptions;
using ::coldstart::kube::LoadKubeconfig;
using ::coldstart::kube::Resource;

// The lab's drop_reply fault on the Kubernetes API: the create is applied,
// the answer lost. The client sees a transport error (Unavailable, so
// callers retry), the same client's next call works (it once failed as
// "certificate not trusted": lib/kube kept the broken handle) and the retry
// meets the object (AlreadyExists).
TEST(KubeHttpsTest, CreateAppliedButTheReplyLost) {
  const std::string dir = coldstart::testing::MakeTempDir("drop_reply");
  auto fault_file = ParseFaultFile(
      R"pb(rules {
             name: "lost"
             endpoint: "kube:POST /api/v1/namespaces/default/configmaps"
             nth_call: 1
             drop_reply {}
           })pb",
      "test");
  ASSERT_TRUE(fault_file.ok()) << fault_file.status();
  auto faults = FaultInjector::Create(*fault_file);
  ASSERT_TRUE(faults.ok()) << faults.status();
  auto sim = StartTestKubeApi(dir, {}, faults->get());
  ASSERT_TRUE(sim.ok()) << sim.status();
  KubeconfigLoadOptions o;
  o.explicit_path = (*sim)->kubeconfig_path;
  auto config = LoadKubeconfig(o);
  ASSERT_TRUE(config.ok()) << config.status();
  auto client = KubeClient::FromConfig(*config);
  ASSERT_TRUE(client.ok()) << client.status();
  Resource cms{"", "v1", "configmaps", true, "ConfigMap"};
  Json cm = {{"apiVersion", "v1"},
             {"kind", "ConfigMap"},
             {"metadata", {{"name", "lost"}, {"namespace", "default"}}}};
  absl::Status lost = (*client)->Create(cms, cm).status();
  EXPECT_EQ(lost.code(), absl::StatusCode::kUnavailable) << lost;
  absl::Status got = (*client)->Get(cms, "default", "lost").status();
  EXPECT_TRUE(got.ok()) << got;
  EXPECT_EQ((*client)->Create(cms, cm).status().code(),
            absl::StatusCode::kAlreadyExists);
}

}  // namespace
}  // namespace coldstart::lab
