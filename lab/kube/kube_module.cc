#include "lab/kube/kube_module.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "lib/base/status_macros.h"
#include "lib/kube/kube_config.h"
#include "lib/secrets/secret.h"

namespace coldstart::lab {
namespace {

Json Running(const std::string& name) {
  return {{"name", name},
          {"ready", true},
          {"restartCount", 0},
          {"started", true},
          {"state", {{"running", {{"startedAt", "2026-01-01T00:00:00Z"}}}}}};
}

Json PodObject(const std::string& ns, const std::string& name,
               const std::string& node, bool running) {
  Json status =
      running ? Json{{"phase", "Running"},
                     {"conditions", {{{"type", "Ready"}, {"status", "True"}}}},
                     {"containerStatuses", {Running("main")}}}
              : Json{{"phase", "Pending"},
                     {"conditions",
                      {{{"type", "PodScheduled"},
                        {"status", "False"},
                        {"reason", "Unschedulable"}}}}};
  Json spec = {{"containers", {{{"name", "main"}, {"image", name}}}}};
  if (!node.empty()) spec["nodeName"] = node;
  return {{"apiVersion", "v1"},
          {"kind", "Pod"},
          {"metadata", {{"name", name}, {"namespace", ns}}},
          {"spec", spec},
          {"status", status}};
}

}  // namespace

void KubeModule::Log(const std::string& line) {
  if (context_ != nullptr && context_->log) context_->log(line);
}

absl::Status KubeModule::Start(ModuleContext& context) {
  context_ = &context;
  api_ = std::make_unique<ApiServer>();
  const v1::ClusterSpec& spec = context.spec->spec();
  for (const v1::Node& n : spec.nodes()) spec_nodes_[n.name()] = &n;
  auto ds = context.options.find("cilium_daemonset");
  if (ds != context.options.end()) {
    std::vector<std::string> parts = absl::StrSplit(ds->second, '/');
    if (parts.size() != 2) {
      return absl::InvalidArgumentError(
          "kube.cilium_daemonset: want NAMESPACE/NAME");
    }
    cilium_ns_ = parts[0];
    cilium_name_ = parts[1];
  }
  if (auto port = context.options.find("port"); port != context.options.end()) {
    if (!absl::SimpleAtoi(port->second, &port_) || port_ <= 0 ||
        port_ > 65535) {
      return absl::InvalidArgumentError("kube.port: want a TCP port");
    }
  }
  auto sc = context.options.find("scenario");
  if (sc != context.options.end()) {
    ASSIGN_OR_RETURN(scenario_, LoadScenarioFile(sc->second));
  }
  api_->AddWriteObserver(
      [this](WriteVerb verb, const ResourceType& type, const Json& object) {
        OnWrite(verb, type, object);
      });
  ASSIGN_OR_RETURN(
      sealed_secrets_,
      SealedSecretsInLab::ForSpec(*api_, spec, context.options, context.log));
  World& world = *context.world;
  subscriptions_.push_back(world.Subscribe<ConfigApplied>(
      [this](const ConfigApplied& e) { OnConfigApplied(e); }));
  subscriptions_.push_back(world.Subscribe<NodeReady>(
      [this](const NodeReady& e) { OnNodeReady(e); }));
  subscriptions_.push_back(
      world.Subscribe<VipUp>([this](const VipUp& e) { OnVipUp(e); }));
  subscriptions_.push_back(
      world.Subscribe<ClusterCasShared>([this](const ClusterCasShared& e) {
        absl::MutexLock lock(&mu_);
        ca_cert_pem_ = e.cas.kubernetes_ca_cert_pem;
        ca_key_pem_ = e.cas.kubernetes_ca_key_pem;
      }));
  WorldState state = world.State();
  if (state.cas.has_value()) {
    absl::MutexLock lock(&mu_);
    ca_cert_pem_ = state.cas->kubernetes_ca_cert_pem;
    ca_key_pem_ = state.cas->kubernetes_ca_key_pem;
  }
  for (const auto& [name, node] : state.nodes) {
    if (node.stage == NodeStage::kConfigured ||
        node.stage == NodeStage::kReady) {
      OnConfigApplied({name, node.control_plane});
    }
    if (node.stage == NodeStage::kReady) OnNodeReady({name});
  }
  for (const std::string& vip : state.vips_up) OnVipUp({vip});
  return absl::OkStatus();
}

absl::Status KubeModule::StartListener() {
  const v1::NetworkPlan& net = context_->spec->spec().network();
  absl::MutexLock lock(&mu_);
  if (https_ != nullptr) return absl::OkStatus();
  std::vector<std::string> addresses = {net.api_vip()};
  if (!net.bootstrap_endpoint().empty()) {
    addresses.push_back(net.bootstrap_endpoint());
  }
  for (const std::string& san : context_->spec->spec().talos().cert_sans()) {
    addresses.push_back(san);
  }
  ASSIGN_OR_RETURN(KubePki pki,
                   IssueKubePki(addresses, ca_cert_pem_.value_or(""),
                                ca_key_pem_.value_or("")));
  std::string dir = absl::StrCat(context_->workdir, "/kube");
  ::mkdir(dir.c_str(), 0700);
  KubeHttpsOptions options;
  options.host = net.api_vip();
  options.port = port_ > 0
                     ? port_
                     : (context_->any_port
                            ? 0
                            : (net.api_port() == 0 ? 6443 : net.api_port()));
  options.server_cert_pem = pki.server_cert_pem;
  options.server_key_pem = pki.server_key_pem;
  options.client_ca_pem = pki.ca_cert_pem;
  options.tls_dir = dir;
  options.faults = context_->faults;
  options.requests = context_->requests;
  ASSIGN_OR_RETURN(https_, KubeHttpsServer::Start(*api_, options));
  kubeconfig_path_ = absl::StrCat(dir, "/admin.kubeconfig");
  std::string text = coldstart::kube::RenderKubeconfig(
      context_->spec->spec().name(), https_->url(), pki.ca_cert_pem,
      pki.admin_cert_pem, Secret(std::string(pki.admin_key_pem)));
  int fd = ::open(kubeconfig_path_.c_str(),
                  O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd >= 0) {
    (void)!::write(fd, text.data(), text.size());
    ::close(fd);
  }
  Log(absl::StrCat("kube: API server up on ", https_->address()));
  return absl::OkStatus();
}

void KubeModule::OnVipUp(const VipUp& e) {
  if (e.address != context_->spec->spec().network().api_vip()) return;
  absl::Status s = StartListener();
  if (!s.ok())
    Log(absl::StrCat("kube: cannot start the API server: ", s.message()));
}

void KubeModule::OnConfigApplied(const ConfigApplied& e) {
  const v1::ClusterSpec& spec = context_->spec->spec();
  auto it = spec_nodes_.find(e.node);
  Json labels = {{"kubernetes.io/hostname", e.node},
                 {"kubernetes.io/os", "linux"}};
  std::string ip;
  if (it != spec_nodes_.end()) {
    for (const auto& [k, v] : it->second->labels()) labels[k] = v;
    ip = it->second->ip();
  }
  if (e.control_plane) labels["node-role.kubernetes.io/control-plane"] = "";
  Json node = {
      {"apiVersion", "v1"},
      {"kind", "Node"},
      {"metadata", {{"name", e.node}, {"labels", labels}}},
      {"spec", {{"podCIDR", ""}}},
      {"status",
       {{"conditions",
         {{{"type", "Ready"},
           {"status", "False"},
           {"reason", "KubeletNotReady"},
           {"message",
            "container runtime network not ready: NetworkReady=false "
            "reason:NetworkPluginNotReady message:Network plugin returns "
            "error: cni plugin not initialized"}}}},
        {"addresses",
         {{{"type", "InternalIP"}, {"address", ip}},
          {{"type", "Hostname"}, {"address", e.node}}}},
        {"nodeInfo",
         {{"kubeletVersion", absl::StrCat("v", spec.versions().kubernetes())},
          {"osImage", absl::StrCat("Talos (", spec.versions().talos(), ")")},
          {"kernelVersion", "6.12.6-talos"},
          {"containerRuntimeVersion", "containerd://2.0.1"},
          {"operatingSystem", "linux"},
          {"architecture", "amd64"}}}}}};
  (void)api_->Apply(node);
  (void)api_->Apply({{"apiVersion", "storage.k8s.io/v1"},
                     {"kind", "CSINode"},
                     {"metadata", {{"name", e.node}}},
                     {"spec", {{"drivers", Json::array()}}}});
  if (e.control_plane) {
    for (const char* c :
         {"kube-apiserver", "kube-controller-manager", "kube-scheduler"}) {
      (void)api_->Apply(
          PodObject("kube-system", absl::StrCat(c, "-", e.node), e.node, true));
    }
  }
  for (const char* dns : {"coredns-0", "coredns-1"}) {
    if (!api_->Get("v1", "Pod", "kube-system", dns).has_value()) {
      (void)api_->Apply(PodObject("kube-system", dns, "", false));
    }
  }
}

void KubeModule::OnNodeReady(const NodeReady& e) {
  (void)api_->Apply({{"apiVersion", "v1"},
                     {"kind", "Node"},
                     {"metadata", {{"name", e.node}}},
                     {"status",
                      {{"conditions",
                        {{{"type", "Ready"},
                          {"status", "True"},
                          {"reason", "KubeletReady"},
                          {"message", "kubelet is posting ready status"}}}}}}});
  (void)api_->Apply(PodObject(
      cilium_ns_, absl::StrCat(cilium_name_, "-", e.node), e.node, true));
  for (const char* dns : {"coredns-0", "coredns-1"}) {
    (void)api_->Apply(PodObject("kube-system", dns, e.node, true));
  }
  UpdateCiliumDaemonSetStatus();
}

void KubeModule::UpdateCiliumDaemonSetStatus() {
  std::optional<Json> ds =
      api_->Get("apps/v1", "DaemonSet", cilium_ns_, cilium_name_);
  if (!ds.has_value()) return;
  int64_t nodes = 0, ready = 0;
  for (const Json& node : api_->List("v1", "Node")) {
    ++nodes;
    for (const Json& c : node["status"].value("conditions", Json::array())) {
      if (c.value("type", "") == "Ready" && c.value("status", "") == "True") {
        ++ready;
      }
    }
  }
  const int64_t generation = (*ds)["metadata"].value("generation", 1);
  (void)api_->Apply(
      {{"apiVersion", "apps/v1"},
       {"kind", "DaemonSet"},
       {"metadata", {{"name", cilium_name_}, {"namespace", cilium_ns_}}},
       {"status",
        {{"observedGeneration", generation},
         {"desiredNumberScheduled", nodes},
         {"currentNumberScheduled", nodes},
         {"updatedNumberScheduled", ready},
         {"numberReady", ready},
         {"numberAvailable", ready},
         {"numberUnavailable", nodes - ready},
         {"numberMisscheduled", 0}}}});
}

void KubeModule::OnWrite(WriteVerb verb, const ResourceType& type,
                         const Json& object) {
  if (verb == WriteVerb::kDelete || context_ == nullptr) return;
  const Json& meta = object["metadata"];
  std::string ns = meta.value("namespace", "");
  std::string name = meta.value("name", "");
  if (type.group == "apps" && type.kind == "DaemonSet" && ns == cilium_ns_ &&
      name == cilium_name_) {
    {
      absl::MutexLock lock(&mu_);
      if (cni_published_) return;
      cni_published_ = true;
    }
    Log(absl::StrCat("kube: DaemonSet ", ns, "/", name,
                     " applied; CNI rolling out"));
    UpdateCiliumDaemonSetStatus();
    context_->world->Publish(CniRolledOut{});
    return;
  }
  if (scenario_.has_value() && verb == WriteVerb::kCreate &&
      type.ApiVersion() == scenario_->trigger.api_version() &&
      type.kind == scenario_->trigger.kind() &&
      ns == scenario_->trigger.namespace_() &&
      name == scenario_->trigger.name()) {
    {
      absl::MutexLock lock(&mu_);
      if (scenario_started_) return;
      scenario_started_ = true;
    }
    Log(absl::StrCat("kube: ", type.kind, " ", ns, "/", name,
                     " exists; playing the layer-2 scenario"));
    PlayScenario(*scenario_, *api_, *context_->scheduler,
                 context_->latency->time_scale(), context_->log);
  }
}

std::map<std::string, std::string> KubeModule::Listeners() const {
  absl::MutexLock lock(&mu_);
  if (https_ == nullptr) return {};
  return {{"https", https_->address()}};
}

std::string KubeModule::kubeconfig_path() const {
  absl::MutexLock lock(&mu_);
  return kubeconfig_path_;
}

void KubeModule::Stop() {
  if (context_ != nullptr) {
    for (World::SubscriptionId id : subscriptions_) {
      context_->world->Unsubscribe(id);
    }
    subscriptions_.clear();
  }
  std::unique_ptr<KubeHttpsServer> https;
  {
    absl::MutexLock lock(&mu_);
    https = std::move(https_);
  }
  if (https != nullptr) https->Stop();
}

}  // namespace coldstart::lab
