// Benchmark (not a test): 1,000 nodes and 10,000 pods in the Kubernetes API
// simulator; verify-cluster's full run (every default check, in process)
// against a raw fetch of the same large lists (nodes, all pods) with the
// curl CLI over the same mutual TLS. Prints both medians and the ratio
// (target <= 1.5).
//
//   bazel run -c opt //tools/verify-cluster:verify_cluster_benchmark
#include <stdlib.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "lab/kube/scenario.h"
#include "lab/kube/test_server.h"
#include "lib/cli/cli.h"
#include "lib/cli/tool_run.h"
#include "lib/kube/kube_client.h"
#include "lib/kube/kube_config.h"
#include "lib/kube/kube_lists.h"
#include "tools/verify-cluster/checks.h"
#include "tools/verify-cluster/verify_cluster.h"

namespace coldstart {
namespace {

using Json = nlohmann::json;

constexpr int kNodes = 1000;
constexpr int kPods = 10000;
constexpr int kRounds = 7;

Json Node(const std::string& name, bool cp) {
  Json labels = {{"kubernetes.io/hostname", name},
                 {"kubernetes.io/os", "linux"},
                 {"topology.kubernetes.io/region", "lab"},
                 {"topology.kubernetes.io/zone", "pve"}};
  if (cp) labels["node-role.kubernetes.io/control-plane"] = "";
  return {{"apiVersion", "v1"},
          {"kind", "Node"},
          {"metadata", {{"name", name}, {"labels", labels}}},
          {"spec",
           {{"podCIDR", "10.244.0.0/24"}, {"providerID", "proxmox://lab/1"}}},
          {"status",
           {{"conditions",
             {{{"type", "MemoryPressure"},
               {"status", "False"},
               {"reason", "KubeletHasSufficientMemory"}},
              {{"type", "DiskPressure"},
               {"status", "False"},
               {"reason", "KubeletHasNoDiskPressure"}},
              {{"type", "PIDPressure"},
               {"status", "False"},
               {"reason", "KubeletHasSufficientPID"}},
              {{"type", "Ready"},
               {"status", "True"},
               {"reason", "KubeletReady"},
               {"message", "kubelet is posting ready status"}}}},
            {"addresses",
             {{{"type", "InternalIP"}, {"address", "10.0.0.1"}},
              {{"type", "Hostname"}, {"address", name}}}},
            {"nodeInfo",
             {{"kubeletVersion", "v1.32.1"},
              {"osImage", "Talos (v1.9.1)"},
              {"kernelVersion", "6.12.6-talos"},
              {"containerRuntimeVersion", "containerd://2.0.1"},
              {"architecture", "amd64"},
              {"operatingSystem", "linux"}}}}}};
}

Json Pod(const std::string& ns, const std::string& name,
         const std::string& node) {
  return {{"apiVersion", "v1"},
          {"kind", "Pod"},
          {"metadata",
           {{"name", name},
            {"namespace", ns},
            {"labels",
             {{"app.kubernetes.io/name", "bench"},
              {"pod-template-hash", "6d5f8c7b9"}}},
            {"ownerReferences",
             {{{"apiVersion", "apps/v1"},
               {"kind", "ReplicaSet"},
               {"name", "bench-6d5f8c7b9"},
               {"controller", true}}}}}},
          {"spec",
           {{"nodeName", node},
            {"containers",
             {{{"name", "main"},
               {"image", "registry.example/bench:1.0"},
               {"resources",
                {{"requests", {{"cpu", "10m"}, {"memory", "16Mi"}}}}}}}}}},
          {"status",
           {{"phase", "Running"},
            {"podIP", "10.244.1.1"},
            {"podIPs", {{{"ip", "10.244.1.1"}}}},
            {"conditions",
             {{{"type", "Initialized"}, {"status", "True"}},
              {{"type", "Ready"}, {"status", "True"}},
              {{"type", "ContainersReady"}, {"status", "True"}},
              {{"type", "PodScheduled"}, {"status", "True"}}}},
            {"containerStatuses",
             {{{"name", "main"},
               {"ready", true},
               {"restartCount", 0},
               {"started", true},
               {"image", "registry.example/bench:1.0"},
               {"state",
                {{"running", {{"startedAt", "2026-01-01T00:00:00Z"}}}}}}}}}}};
}

std::string Runfile(const std::string& rel) {
  const char* srcdir = std::getenv("RUNFILES_DIR");
  std::string base =
      srcdir != nullptr ? srcdir : absl::StrCat(getenv("PWD"), "/..");
  return absl::StrCat(base, "/coldstart/", rel);
}

void Write(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

int Main() {
  char tmpl[] = "/tmp/verify-bench-XXXXXX";
  std::string dir = mkdtemp(tmpl);
  auto sim = lab::StartTestKubeApi(dir);
  if (!sim.ok()) {
    std::cerr << sim.status() << "\n";
    return 1;
  }
  lab::ApiServer& api = *(*sim)->api;
  // Layer 2 (CRDs, Flux objects, services, secrets) from the healthy scenario.
  auto scenario = lab::LoadScenarioFile(
      Runfile("lab/kube/testdata/scenarios/healthy.txtpb"));
  if (!scenario.ok()) {
    std::cerr << scenario.status() << "\n";
    return 1;
  }
  for (const lab::LoadedStep& step : scenario->steps) {
    if (!lab::ApplyStep(api, step).ok()) return 1;
  }
  v1::Cluster cluster;
  cluster.set_schema_version(1);
  v1::ClusterSpec* spec = cluster.mutable_spec();
  spec->set_name("bench");
  spec->mutable_versions()->set_kubernetes("1.32.1");
  spec->mutable_network()->set_dns_vip("127.0.3.3");
  spec->mutable_network()->set_ingress_vip("127.0.3.2");
  for (int i = 0; i < kNodes; ++i) {
    std::string name = absl::StrFormat("node-%04d", i);
    v1::Node* n = spec->add_nodes();
    n->set_name(name);
    n->set_role(i < 3 ? v1::NODE_ROLE_CONTROL_PLANE : v1::NODE_ROLE_WORKER);
    (void)api.Apply(Node(name, i < 3));
  }
  for (int i = 0; i < 20; ++i) {
    (void)api.Apply({{"apiVersion", "v1"},
                     {"kind", "Namespace"},
                     {"metadata", {{"name", absl::StrCat("bench-", i)}}}});
  }
  for (int i = 0; i < kPods; ++i) {
    (void)api.Apply(Pod(absl::StrCat("bench-", i % 20),
                        absl::StrFormat("bench-6d5f8c7b9-%05d", i),
                        absl::StrFormat("node-%04d", i % kNodes)));
  }
  std::string in = absl::StrCat(dir, "/cluster.txtpb");
  Write(in, *FormatCluster(cluster, OutputFormat::kTextproto));
  Write(absl::StrCat(dir, "/ca.pem"), (*sim)->pki.ca_cert_pem);
  Write(absl::StrCat(dir, "/admin.pem"), (*sim)->pki.admin_cert_pem);
  Write(absl::StrCat(dir, "/admin-key.pem"), (*sim)->pki.admin_key_pem);
  std::cerr << "simulator: " << api.ObjectCount() << " objects\n";

  VerifyOptions options;
  options.common.in = in;
  options.kube.kubeconfig = (*sim)->kubeconfig_path;
  std::string curl = absl::StrCat(
      "curl -sS --fail --cacert ", dir, "/ca.pem --cert ", dir,
      "/admin.pem --key ", dir, "/admin-key.pem -H 'Accept: application/json' ",
      (*sim)->url, "/api/v1/nodes -o /dev/null ", (*sim)->url,
      "/api/v1/pods -o /dev/null");
  std::vector<double> verify_s, curl_s;
  for (int round = 0; round < kRounds; ++round) {
    std::ostringstream out, err;
    ToolIo io{out, err};
    absl::Time t0 = absl::Now();
    absl::Status s = RealMain(options, io);
    verify_s.push_back(absl::ToDoubleSeconds(absl::Now() - t0));
    if (!s.ok()) {
      std::cerr << "verify-cluster failed: " << s << "\n" << err.str();
      return 1;
    }
    t0 = absl::Now();
    if (system(curl.c_str()) != 0) {
      std::cerr << "curl failed\n";
      return 1;
    }
    curl_s.push_back(absl::ToDoubleSeconds(absl::Now() - t0));
  }
  // Where the time goes: each gate alone.
  for (const std::string& gate : KnownGates()) {
    VerifyOptions one = options;
    one.gates = {gate};
    std::ostringstream out, err;
    ToolIo io{out, err};
    absl::Time t0 = absl::Now();
    (void)RealMain(one, io);
    std::cerr << absl::StrFormat("  gate %-10s %8.1f ms\n", gate,
                                 absl::ToDoubleMilliseconds(absl::Now() - t0));
  }
  double v = Median(verify_s), c = Median(curl_s);
  std::cout << absl::StrFormat(
      "nodes=%d pods=%d\nverify-cluster full run (11 checks): %.1f ms "
      "(median of %d)\ncurl raw fetch of nodes + pods: %.1f ms (median of "
      "%d)\nratio verify/curl: %.2f (target <= 1.5)\n",
      kNodes, kPods, v * 1000, kRounds, c * 1000, kRounds, v / c);
  // The JSON choice for large lists: one 10,000-pod page decoded by
  // nlohmann::json vs simdjson (lib/kube_lists.h).
  std::string page;
  {
    kube::KubeconfigLoadOptions kc;
    kc.explicit_path = (*sim)->kubeconfig_path;
    auto client = kube::KubeClient::FromConfig(*kube::LoadKubeconfig(kc));
    (void)(*client)->ListPages(kube::Pods(), "", {.page_size = 0},
                               [&](absl::string_view p) {
                                 page = std::string(p);
                                 return absl::OkStatus();
                               });
  }
  std::vector<double> nl, sj;
  for (int round = 0; round < kRounds; ++round) {
    absl::Time t0 = absl::Now();
    Json parsed = Json::parse(page);
    nl.push_back(absl::ToDoubleSeconds(absl::Now() - t0));
    std::vector<kube::PodSummary> pods;
    t0 = absl::Now();
    (void)kube::DecodePodListPage(page, pods);
    sj.push_back(absl::ToDoubleSeconds(absl::Now() - t0));
  }
  std::cout << absl::StrFormat(
      "decode %d pods (%.1f MB): nlohmann::json %.1f ms, simdjson summaries "
      "%.1f ms (%.1fx)\n",
      kPods, page.size() / 1e6, Median(nl) * 1000, Median(sj) * 1000,
      Median(nl) / Median(sj));
  (*sim)->https->Stop();
  (void)system(absl::StrCat("rm -rf ", dir).c_str());
  return 0;
}

}  // namespace
}  // namespace coldstart

int main() { return coldstart::Main(); }
