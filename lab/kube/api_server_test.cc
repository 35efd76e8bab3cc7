#include "lab/kube/api_server.h"

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lab/kube/tables.h"

namespace coldstart::lab {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

const absl::Time kNow = absl::FromUnixSeconds(1'800'000'000);

ApiServerOptions Fixed() {
  ApiServerOptions o;
  o.now = [] { return kNow; };
  return o;
}

ApiResponse Call(ApiServer& s, const std::string& method,
                 const std::string& path, const std::string& body = "",
                 const std::string& content_type = "application/json",
                 std::map<std::string, std::string> query = {},
                 const std::string& accept = "application/json") {
  ApiRequest r;
  r.method = method;
  r.path = path;
  r.body = body;
  r.content_type = content_type;
  r.query = std::move(query);
  r.accept = accept;
  return s.Handle(r);
}

Json J(const ApiResponse& r) { return Json::parse(r.body); }

TEST(HumanDurationTest, MatchesKubectl) {
  EXPECT_EQ(HumanDuration(absl::Seconds(45)), "45s");
  EXPECT_EQ(HumanDuration(absl::Seconds(119)), "119s");
  EXPECT_EQ(HumanDuration(absl::Seconds(192)), "3m12s");
  EXPECT_EQ(HumanDuration(absl::Minutes(5)), "5m");
  EXPECT_EQ(HumanDuration(absl::Minutes(150)), "150m");
  EXPECT_EQ(HumanDuration(absl::Minutes(302)), "5h2m");
  EXPECT_EQ(HumanDuration(absl::Hours(30)), "30h");
  EXPECT_EQ(HumanDuration(absl::Hours(76)), "3d4h");
  EXPECT_EQ(HumanDuration(absl::Hours(24 * 400)), "400d");
  EXPECT_EQ(HumanDuration(absl::Hours(24 * (365 * 2 + 3))), "2y3d");
  EXPECT_EQ(HumanDuration(absl::Seconds(-5)), "<invalid>");
}

TEST(JsonPathTest, PrinterColumnSubset) {
  Json o = Json::parse(R"({"spec":{"url":"ssh://x"},"status":{"conditions":[
      {"type":"Reconciling","status":"False"},
      {"type":"Ready","status":"True","message":"Applied"}]}})");
  EXPECT_THAT(EvalJsonPath(o, ".spec.url"), ElementsAre(Json("ssh://x")));
  EXPECT_THAT(
      EvalJsonPath(o, R"(.status.conditions[?(@.type=="Ready")].status)"),
      ElementsAre(Json("True")));
  EXPECT_THAT(EvalJsonPath(o, ".status.conditions[0].type"),
              ElementsAre(Json("Reconciling")));
  EXPECT_TRUE(EvalJsonPath(o, ".status.missing").empty());
}

TEST(PodStatusTest, DerivesReason) {
  Json crash = Json::parse(R"({"status":{"phase":"Running","containerStatuses":[
      {"name":"a","ready":false,"restartCount":7,
       "state":{"waiting":{"reason":"CrashLoopBackOff"}}}]}})");
  EXPECT_EQ(PodStatusText(crash), "CrashLoopBackOff");
  Json init =
      Json::parse(R"({"status":{"phase":"Pending","initContainerStatuses":[
      {"name":"i","state":{"waiting":{"reason":"PodInitializing"}}}]}})");
  EXPECT_EQ(PodStatusText(init), "Init:0/1");
  Json done =
      Json::parse(R"({"status":{"phase":"Succeeded","containerStatuses":[
      {"name":"a","state":{"terminated":{"exitCode":0,"reason":"Completed"}}}]}})");
  EXPECT_EQ(PodStatusText(done), "Completed");
  Json evicted =
      Json::parse(R"({"status":{"phase":"Failed","reason":"Evicted"}})");
  EXPECT_EQ(PodStatusText(evicted), "Evicted");
}

TEST(ApiServerTest, VersionAndDiscovery) {
  ApiServer s(Fixed());
  EXPECT_EQ(J(Call(s, "GET", "/version"))["minor"], "32");
  Json api = J(Call(s, "GET", "/api"));
  EXPECT_EQ(api["kind"], "APIVersions");
  Json core = J(Call(s, "GET", "/api/v1"));
  bool has_pods = false;
  for (const Json& r : core["resources"]) {
    if (r["name"] == "pods") {
      has_pods = true;
      EXPECT_EQ(r["shortNames"], Json({"po"}));
    }
  }
  EXPECT_TRUE(has_pods);
  Json apis = J(Call(s, "GET", "/apis"));
  EXPECT_EQ(apis["kind"], "APIGroupList");
  EXPECT_EQ(Call(s, "GET", "/apis/nope.io/v1").status, 404);
}

TEST(ApiServerTest, CrudAndStatusErrors) {
  ApiServer s(Fixed());
  ApiResponse created = Call(s, "POST", "/api/v1/namespaces/default/configmaps",
                             R"({"apiVersion":"v1","kind":"ConfigMap",
                                 "metadata":{"name":"cm1"},"data":{"a":"b"}})");
  ASSERT_EQ(created.status, 201) << created.body;
  Json cm = J(created);
  EXPECT_FALSE(cm["metadata"]["uid"].get<std::string>().empty());
  EXPECT_EQ(cm["metadata"]["creationTimestamp"], "2027-01-15T08:00:00Z");
  std::string rv = cm["metadata"]["resourceVersion"];

  ApiResponse again = Call(s, "POST", "/api/v1/namespaces/default/configmaps",
                           R"({"metadata":{"name":"cm1"}})");
  EXPECT_EQ(again.status, 409);
  EXPECT_EQ(J(again)["reason"], "AlreadyExists");
  EXPECT_EQ(J(again)["message"], "configmaps \"cm1\" already exists");

  cm["data"]["a"] = "c";
  ApiResponse replaced =
      Call(s, "PUT", "/api/v1/namespaces/default/configmaps/cm1", cm.dump());
  ASSERT_EQ(replaced.status, 200) << replaced.body;
  EXPECT_NE(J(replaced)["metadata"]["resourceVersion"], rv);
  // Stale resourceVersion.
  ApiResponse stale =
      Call(s, "PUT", "/api/v1/namespaces/default/configmaps/cm1", cm.dump());
  EXPECT_EQ(stale.status, 409);
  EXPECT_EQ(J(stale)["reason"], "Conflict");

  ApiResponse patched =
      Call(s, "PATCH", "/api/v1/namespaces/default/configmaps/cm1",
           R"({"data":{"x":"y","a":null}})", "application/merge-patch+json");
  ASSERT_EQ(patched.status, 200);
  EXPECT_EQ(J(patched)["data"], Json({{"x", "y"}}));

  ApiResponse missing =
      Call(s, "GET", "/api/v1/namespaces/default/configmaps/nope");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(J(missing)["message"], "configmaps \"nope\" not found");
  EXPECT_EQ(J(missing)["kind"], "Status");

  EXPECT_EQ(
      Call(s, "DELETE", "/api/v1/namespaces/default/configmaps/cm1").status,
      200);
  EXPECT_EQ(Call(s, "GET", "/api/v1/namespaces/default/configmaps/cm1").status,
            404);
  // Namespace must exist.
  ApiResponse no_ns = Call(s, "POST", "/api/v1/namespaces/ghost/configmaps",
                           R"({"metadata":{"name":"x"}})");
  EXPECT_EQ(no_ns.status, 404);
  EXPECT_THAT(J(no_ns)["message"].get<std::string>(),
              HasSubstr("namespaces \"ghost\" not found"));
}

TEST(ApiServerTest, ServerSideApplyCreatesThenMerges) {
  ApiServer s(Fixed());
  std::map<std::string, std::string> q = {{"fieldManager", "t"}};
  ApiResponse first = Call(s, "PATCH", "/api/v1/namespaces/newns",
                           R"({"apiVersion":"v1","kind":"Namespace",
                               "metadata":{"name":"newns","labels":{"a":"1"}}})",
                           "application/apply-patch+yaml", q);
  EXPECT_EQ(first.status, 201) << first.body;
  ApiResponse second = Call(s, "PATCH", "/api/v1/namespaces/newns",
                            "apiVersion: v1\nkind: Namespace\nmetadata:\n"
                            "  name: newns\n  labels:\n    b: '2'\n",
                            "application/apply-patch+yaml", q);
  EXPECT_EQ(second.status, 200) << second.body;
  EXPECT_EQ(J(second)["metadata"]["labels"], Json({{"a", "1"}, {"b", "2"}}));
  ApiResponse no_manager = Call(
      s, "PATCH", "/api/v1/namespaces/newns",
      R"({"apiVersion":"v1","kind":"Namespace","metadata":{"name":"newns"}})",
      "application/apply-patch+yaml");
  EXPECT_EQ(no_manager.status, 400);
}

TEST(ApiServerTest, SecretsFoldStringData) {
  ApiServer s(Fixed());
  ASSERT_TRUE(s.Apply({{"apiVersion", "v1"},
                       {"kind", "Secret"},
                       {"metadata", {{"name", "k"}, {"namespace", "default"}}},
                       {"stringData", {{"key", "value"}}}})
                  .ok());
  Json secret = *s.Get("v1", "Secret", "default", "k");
  EXPECT_EQ(secret["data"]["key"], "dmFsdWU=");
  EXPECT_FALSE(secret.contains("stringData"));
}

TEST(ApiServerTest, ListsPageAndFilter) {
  ApiServer s(Fixed());
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(s.Apply({{"apiVersion", "v1"},
                         {"kind", "Pod"},
                         {"metadata",
                          {{"name", absl::StrCat("p", i)},
                           {"namespace", "default"},
                           {"labels", {{"app", i % 2 ? "odd" : "even"}}}}},
                         {"status", {{"phase", "Running"}}}})
                    .ok());
  }
  Json page1 = J(Call(s, "GET", "/api/v1/pods", "", "", {{"limit", "2"}}));
  EXPECT_EQ(page1["items"].size(), 2u);
  std::string cont = page1["metadata"]["continue"];
  Json page2 = J(Call(s, "GET", "/api/v1/pods", "", "",
                      {{"limit", "2"}, {"continue", cont}}));
  EXPECT_EQ(page2["items"][0]["metadata"]["name"], "p2");
  Json odd = J(Call(s, "GET", "/api/v1/namespaces/default/pods", "", "",
                    {{"labelSelector", "app=odd"}}));
  EXPECT_EQ(odd["items"].size(), 2u);
  Json by_name = J(Call(s, "GET", "/api/v1/pods", "", "",
                        {{"fieldSelector", "metadata.name=p4"}}));
  ASSERT_EQ(by_name["items"].size(), 1u);
}

TEST(ApiServerTest, CrdServesKindWithPrinterColumns) {
  ApiServer s(Fixed());
  Json crd = Json::parse(R"({"apiVersion":"apiextensions.k8s.io/v1",
    "kind":"CustomResourceDefinition",
    "metadata":{"name":"clustersecretstores.external-secrets.io"},
    "spec":{"group":"external-secrets.io","scope":"Cluster",
      "names":{"plural":"clustersecretstores","kind":"ClusterSecretStore",
               "shortNames":["css"]},
      "versions":[{"name":"v1","served":true,"storage":true,
        "subresources":{"status":{}},
        "additionalPrinterColumns":[
          {"name":"Status","type":"string",
           "jsonPath":".status.conditions[?(@.type==\"Ready\")].reason"},
          {"name":"Ready","type":"string",
           "jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}]}]}})");
  ASSERT_TRUE(s.Apply(crd).ok());
  ASSERT_TRUE(s.Apply(Json::parse(R"({"apiVersion":"external-secrets.io/v1",
      "kind":"ClusterSecretStore","metadata":{"name":"vault-backend"},
      "status":{"conditions":[{"type":"Ready","status":"True","reason":"Valid"}]}})"))
                  .ok());
  ApiResponse table =
      Call(s, "GET", "/apis/external-secrets.io/v1/clustersecretstores", "", "",
           {}, "application/json;as=Table;v=v1;g=meta.k8s.io");
  Json t = J(table);
  ASSERT_EQ(t["kind"], "Table") << table.body;
  EXPECT_EQ(t["columnDefinitions"][1]["name"], "Status");
  EXPECT_EQ(t["rows"][0]["cells"], Json({"vault-backend", "Valid", "True"}));
  EXPECT_EQ(t["rows"][0]["object"]["kind"], "PartialObjectMetadata");
  // Deleting the CRD stops serving the kind.
  ASSERT_TRUE(s.Delete("apiextensions.k8s.io/v1", "CustomResourceDefinition",
                       "", "clustersecretstores.external-secrets.io")
                  .ok());
  EXPECT_EQ(
      Call(s, "GET", "/apis/external-secrets.io/v1/clustersecretstores").status,
      404);
}

TEST(ApiServerTest, NodeTableFollowsConditions) {
  ApiServer s(Fixed());
  Json node = Json::parse(R"({"apiVersion":"v1","kind":"Node",
    "metadata":{"name":"cp-1","labels":{"node-role.kubernetes.io/control-plane":""}},
    "status":{"conditions":[{"type":"Ready","status":"False"}],
      "addresses":[{"type":"InternalIP","address":"10.0.0.11"}],
      "nodeInfo":{"kubeletVersion":"v1.32.3"}}})");
  ASSERT_TRUE(s.Apply(node).ok());
  std::string accept = "application/json;as=Table;v=v1;g=meta.k8s.io";
  Json t = J(Call(s, "GET", "/api/v1/nodes", "", "", {}, accept));
  EXPECT_EQ(t["rows"][0]["cells"][1], "NotReady");
  EXPECT_EQ(t["rows"][0]["cells"][2], "control-plane");
  EXPECT_EQ(t["rows"][0]["cells"][5], "10.0.0.11");
  ASSERT_TRUE(s.Apply(Json::parse(R"({"apiVersion":"v1","kind":"Node",
    "metadata":{"name":"cp-1"},
    "status":{"conditions":[{"type":"Ready","status":"True"}]}})"))
                  .ok());
  t = J(Call(s, "GET", "/api/v1/nodes", "", "", {}, accept));
  EXPECT_EQ(t["rows"][0]["cells"][1], "Ready");
}

TEST(ApiServerTest, OpenApiListsGroupVersions) {
  ApiServer s(Fixed());
  Json root = J(Call(s, "GET", "/openapi/v3"));
  ASSERT_TRUE(root["paths"].contains("api/v1"));
  std::string url = root["paths"]["api/v1"]["serverRelativeURL"];
  EXPECT_THAT(url, HasSubstr("/openapi/v3/api/v1?hash="));
  Json doc = J(Call(s, "GET", "/openapi/v3/api/v1"));
  EXPECT_TRUE(
      doc["paths"].contains("/api/v1/namespaces/{namespace}/pods/{name}"));
}

}  // namespace
}  // namespace coldstart::lab
