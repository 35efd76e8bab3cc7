#include "lib/kube/kube_client.h"

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lab/kube/test_server.h"
#include "lib/kube/kube_config.h"
#include "lib/kube/kube_lists.h"
#include "lib/testing/fake_clock.h"
#include "lib/testing/files.h"
#include "lib/testing/http_testing.h"

namespace coldstart::kube {
namespace {

using ::testing::HasSubstr;

class KubeClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = coldstart::testing::MakeTempDir(
        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    auto sim = lab::StartTestKubeApi(dir_);
    ASSERT_TRUE(sim.ok()) << sim.status();
    sim_ = std::move(*sim);
    KubeconfigLoadOptions o;
    o.explicit_path = sim_->kubeconfig_path;
    auto config = LoadKubeconfig(o);
    ASSERT_TRUE(config.ok()) << config.status();
    config_ = std::move(*config);
    auto client = KubeClient::FromConfig(config_);
    ASSERT_TRUE(client.ok()) << client.status();
    client_ = std::move(*client);
  }

  std::string dir_;
  std::unique_ptr<lab::TestKubeApi> sim_;
  RestConfig config_;
  std::unique_ptr<KubeClient> client_;
};

Json Pod(const std::string& ns, const std::string& name,
         const std::string& phase) {
  return {{"apiVersion", "v1"},
          {"kind", "Pod"},
          {"metadata", {{"name", name}, {"namespace", ns}}},
          {"spec", {{"containers", {{{"name", "c"}, {"image", "x"}}}}}},
          {"status", {{"phase", phase}}}};
}

TEST_F(KubeClientTest, VersionOverMutualTls) {
  absl::StatusOr<Json> v = client_->Version();
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ((*v)["minor"], "32");
}

TEST_F(KubeClientTest, WrongClientCertificateIsRefused) {
  auto other = lab::IssueKubePki({"127.0.0.1"});
  ASSERT_TRUE(other.ok());
  RestConfig c = config_;
  c.client_cert_pem = other->admin_cert_pem;
  c.client_key_pem = Secret(std::string(other->admin_key_pem));
  auto client = KubeClient::FromConfig(c);
  ASSERT_TRUE(client.ok());
  absl::StatusOr<Json> v = (*client)->Version();
  EXPECT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), absl::StatusCode::kUnavailable) << v.status();
}

TEST_F(KubeClientTest, WrongCaIsFailedPrecondition) {
  auto other = lab::IssueKubePki({"127.0.0.1"});
  ASSERT_TRUE(other.ok());
  RestConfig c = config_;
  c.ca_pem = other->ca_cert_pem;
  auto client = KubeClient::FromConfig(c);
  ASSERT_TRUE(client.ok());
  absl::Status s = (*client)->Version().status();
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
}

TEST_F(KubeClientTest, CreateGetReplacePatchDelete) {
  Json cm = {{"apiVersion", "v1"},
             {"kind", "ConfigMap"},
             {"metadata", {{"name", "cm"}, {"namespace", "default"}}},
             {"data", {{"a", "1"}}}};
  Resource cms{"", "v1", "configmaps", true, "ConfigMap"};
  absl::StatusOr<Json> created = client_->Create(cms, cm);
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_EQ(client_->Create(cms, cm).status().code(),
            absl::StatusCode::kAlreadyExists);
  Json stale = *created;
  Json next = *created;
  next["data"]["a"] = "2";
  ASSERT_TRUE(client_->Replace(cms, next).ok());
  stale["data"]["a"] = "3";
  absl::Status conflict = client_->Replace(cms, stale).status();
  EXPECT_EQ(conflict.code(), absl::StatusCode::kAborted);
  EXPECT_THAT(conflict.message(), HasSubstr("the object has been modified"));
  absl::StatusOr<Json> patched =
      client_->MergePatch(cms, "default", "cm", {{"data", {{"b", "x"}}}});
  ASSERT_TRUE(patched.ok()) << patched.status();
  EXPECT_EQ((*patched)["data"], Json({{"a", "2"}, {"b", "x"}}));
  ASSERT_TRUE(client_->Delete(cms, "default", "cm").ok());
  absl::Status gone = client_->Get(cms, "default", "cm").status();
  EXPECT_EQ(gone.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(gone.message(),
            "GET /api/v1/namespaces/default/configmaps/cm: configmaps \"cm\" "
            "not found (NotFound)");
}

TEST_F(KubeClientTest, ServerSideApplyCreatesAndMerges) {
  Json ns = {{"metadata", {{"name", "apps"}, {"labels", {{"a", "1"}}}}}};
  EXPECT_EQ(client_->Apply(Namespaces(), ns, {}).status().code(),
            absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(client_->Apply(Namespaces(), ns, {"coldstart"}).ok());
  Json more = {{"metadata", {{"name", "apps"}, {"labels", {{"b", "2"}}}}}};
  absl::StatusOr<Json> merged =
      client_->Apply(Namespaces(), more, {"coldstart"});
  ASSERT_TRUE(merged.ok()) << merged.status();
  EXPECT_EQ((*merged)["metadata"]["labels"], Json({{"a", "1"}, {"b", "2"}}));
}

TEST_F(KubeClientTest, ListPaginatesAndDecodesFast) {
  for (int i = 0; i < 23; ++i) {
    ASSERT_TRUE(sim_->api
                    ->Apply(Pod("default", absl::StrCat("p", 100 + i),
                                i == 7 ? "Pending" : "Running"))
                    .ok());
  }
  int pages = 0;
  ASSERT_TRUE(client_
                  ->ListPages(Pods(), "", {.page_size = 5},
                              [&](absl::string_view) {
                                ++pages;
                                return absl::OkStatus();
                              })
                  .ok());
  EXPECT_EQ(pages, 5);
  absl::StatusOr<std::vector<Json>> all =
      client_->List(Pods(), "default", {.page_size = 4});
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ(all->size(), 23u);
  absl::StatusOr<std::vector<PodSummary>> pods =
      ListPodSummaries(*client_, "", {.page_size = 10});
  ASSERT_TRUE(pods.ok()) << pods.status();
  ASSERT_EQ(pods->size(), 23u);
  EXPECT_EQ((*pods)[7].name, "p107");
  EXPECT_EQ((*pods)[7].phase, "Pending");
  EXPECT_EQ((*pods)[0].containers, 1);
}

TEST_F(KubeClientTest, DiscoverFindsCrdKinds) {
  absl::StatusOr<Resource> ds = client_->Discover("apps/v1", "DaemonSet");
  ASSERT_TRUE(ds.ok()) << ds.status();
  EXPECT_EQ(ds->plural, "daemonsets");
  EXPECT_EQ(client_->Discover("external-secrets.io/v1", "ExternalSecret")
                .status()
                .code(),
            absl::StatusCode::kNotFound);
}

TEST_F(KubeClientTest, WaitForConditionAndDeadline) {
  // Fake clock: every sleep advances it and flips the pod on the 3rd poll.
  class FlippingClock : public FakeClock {
   public:
    explicit FlippingClock(std::function<void()> flip)
        : FakeClock(absl::UnixEpoch()), flip_(std::move(flip)) {}
    void SleepFor(absl::Duration d) override {
      FakeClock::SleepFor(d);
      if (++count == 2) flip_();
    }
    int count = 0;

   private:
    std::function<void()> flip_;
  } clock([&] {
    ASSERT_TRUE(sim_->api->Apply(Pod("default", "w", "Running")).ok());
  });
  WaitOptions w;
  w.timeout = absl::Seconds(30);
  w.clock = &clock;
  auto running = [](const Json* pod) -> absl::StatusOr<ConditionResult> {
    if (pod == nullptr) return ConditionResult{false, "pod absent"};
    std::string phase = (*pod)["status"].value("phase", "");
    return ConditionResult{phase == "Running", absl::StrCat("phase ", phase)};
  };
  absl::StatusOr<Json> got =
      client_->WaitFor(Pods(), "default", "w", running, w);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(clock.count, 2);
  absl::StatusOr<Json> never =
      client_->WaitFor(Pods(), "default", "never", running, w);
  EXPECT_EQ(never.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_THAT(never.status().message(), HasSubstr("pods default/never"));
  EXPECT_THAT(never.status().message(), HasSubstr("pod absent"));
}

TEST(KubeClientTokenTest, SendsBearerToken) {
  std::string seen;
  auto server = LoopbackHttpServer::Start([&](const LoopbackRequest& r) {
    for (const auto& [k, v] : r.headers) {
      if (k == "Authorization") seen = v;
    }
    return LoopbackResponse{200,
                            {{"Content-Type", "application/json"}},
                            R"({"major":"1","minor":"32"})"};
  });
  ASSERT_TRUE(server.ok());
  RestConfig c;
  c.server = (*server)->Url("");
  c.token = Secret(std::string("tok-123"));
  auto client = KubeClient::FromConfig(c);
  ASSERT_TRUE(client.ok());
  ASSERT_TRUE((*client)->Version().ok());
  EXPECT_EQ(seen, "Bearer tok-123");
}

TEST(StatusFromResponseTest, MapsCodes) {
  HttpResponse r;
  r.status = 422;
  r.body = R"({"kind":"Status","reason":"Invalid","message":"bad"})";
  EXPECT_EQ(StatusFromResponse("POST", "/x", r).code(),
            absl::StatusCode::kInvalidArgument);
  r.status = 401;
  EXPECT_EQ(StatusFromResponse("GET", "/x", r).code(),
            absl::StatusCode::kUnauthenticated);
  r.status = 503;
  r.body = "";
  EXPECT_EQ(StatusFromResponse("GET", "/x", r).code(),
            absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace coldstart::kube
