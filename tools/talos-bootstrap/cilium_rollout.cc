#include "tools/talos-bootstrap/cilium_rollout.h"

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "lib/base/file.h"
#include "lib/base/poll.h"
#include "lib/base/status_macros.h"
#include "lib/kube/kube_client.h"
#include "lib/kube/kube_config.h"
#include "lib/kube/kube_transport.h"
#include "lib/net/http.h"
#include "lib/secrets/crypto.h"
#include "tools/talos-bootstrap/run_steps.h"

namespace coldstart {
namespace {

// The field manager of the Cilium objects (server-side apply).
constexpr char kFieldManager[] = "coldstart-talos-bootstrap";

// One API server address with its own transport.
struct KubeEndpoint {
  std::unique_ptr<HttpClient> http;
  std::unique_ptr<kube::KubeClient> client;
  std::string server;
  std::string label;  // "VIP" or "bootstrap endpoint"
};

absl::StatusOr<KubeEndpoint> OpenKube(const kube::RestConfig& config,
                                      const std::string& server,
                                      const std::string& label) {
  kube::RestConfig c = config;
  c.server = server;
  kube::TransportOptions transport;
  // Not-yet-existing VIPs drop SYNs on a real LAN; do not wait long.
  transport.connect_timeout = absl::Seconds(3);
  transport.timeout = absl::Seconds(30);
  transport.user_agent = "coldstart-talos-bootstrap";
  KubeEndpoint e;
  ASSIGN_OR_RETURN(e.http, kube::NewKubeHttpClient(c, transport));
  e.client = std::make_unique<kube::KubeClient>(*e.http, server);
  e.server = server;
  e.label = label;
  return e;
}

// `server` ("https://host:port/prefix") with its host replaced.
std::string WithHost(const std::string& server, const std::string& host) {
  absl::string_view rest = server;
  absl::ConsumePrefix(&rest, "https://");
  const size_t end = rest.find_first_of(":/");
  return absl::StrCat("https://", host,
                      end == absl::string_view::npos ? "" : rest.substr(end));
}

absl::StatusOr<kube::RestConfig> ReadKubeconfig(const std::string& path) {
  absl::StatusOr<std::string> text = ReadFile(path);
  if (!text.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot read the kubeconfig: ", text.status().message()));
  }
  const size_t slash = path.rfind('/');
  return kube::ParseKubeconfig(
      *text, slash == std::string::npos ? "." : path.substr(0, slash), path);
}

// The first API server that answers GET /version, trying in every round the
// kubeconfig's server (the VIP), then the same port on the bootstrap
// endpoint.
absl::StatusOr<KubeEndpoint> ConnectKube(ToolRun& run,
                                         const kube::RestConfig& config,
                                         absl::Time deadline) {
  std::vector<std::pair<std::string, std::string>> candidates = {
      {config.server, "VIP"}};
  const auto& network = run.spec().network();
  if (!network.bootstrap_endpoint().empty() &&
      network.bootstrap_endpoint() != network.api_vip()) {
    candidates.push_back({WithHost(config.server, network.bootstrap_endpoint()),
                          "bootstrap endpoint"});
  }
  KubeEndpoint found;
  RETURN_IF_ERROR(Poll(
      ConvergenceWait(run, "the Kubernetes API server", deadline),
      [&](PollAttempt&) -> absl::Status {
        std::vector<std::string> errors;
        for (const auto& [server, label] : candidates) {
          ASSIGN_OR_RETURN(KubeEndpoint e, OpenKube(config, server, label));
          absl::Status answered = e.client->Version().status();
          if (answered.ok()) {
            found = std::move(e);
            return absl::OkStatus();
          }
          // Refused, timed out or (a port of some other server) a TLS peer
          // we do not trust: not the API server yet.
          if (!IsRetriedWhileConverging(answered) &&
              !absl::IsFailedPrecondition(answered)) {
            return answered;
          }
          errors.push_back(
              absl::StrCat(label, " ", server, ": ", answered.message()));
        }
        return absl::UnavailableError(absl::StrJoin(errors, "; "));
      }));
  return found;
}

// kubectl's rollout rule for a DaemonSet (facts/kubernetes.md §6).
kube::ConditionResult DaemonSetRolledOut(const kube::Json* ds) {
  if (ds == nullptr) return {false, "the DaemonSet to exist"};
  const kube::Json& st = ds->value("status", kube::Json::object());
  const int64_t generation =
      ds->value("metadata", kube::Json::object()).value("generation", 0);
  if (st.value("observedGeneration", int64_t{0}) < generation) {
    return {false, "the controller to observe the new generation"};
  }
  if (!st.contains("desiredNumberScheduled")) {
    return {false, "the DaemonSet status"};
  }
  const int64_t desired = st.value("desiredNumberScheduled", int64_t{0});
  const int64_t updated = st.value("updatedNumberScheduled", int64_t{0});
  const int64_t available = st.value("numberAvailable", int64_t{0});
  if (updated < desired) {
    return {false,
            absl::StrCat(updated, " of ", desired, " updated pods scheduled")};
  }
  if (available < desired) {
    return {false, absl::StrCat(available, " of ", desired,
                                " updated pods available")};
  }
  return {true, ""};
}

kube::ConditionResult NodeReady(const kube::Json* node) {
  if (node == nullptr) return {false, "the node to register"};
  const kube::Json* ready = kube::FindCondition(*node, "Ready");
  if (ready != nullptr && ready->value("status", "") == "True") {
    return {true, ""};
  }
  return {false, ready == nullptr
                     ? std::string("the Ready condition")
                     : absl::StrCat("Ready=", ready->value("status", ""), " (",
                                    ready->value("reason", ""), ")")};
}

// Polls the object (nullptr while it does not exist) until `condition`
// holds or `deadline`.
absl::Status AwaitObject(
    ToolRun& run, kube::KubeClient& client, const kube::Resource& resource,
    const std::string& ns, const std::string& name, absl::string_view what,
    absl::Time deadline,
    kube::ConditionResult (*condition)(const kube::Json* object)) {
  return Poll(
      ConvergenceWait(run, what, deadline), [&](PollAttempt&) -> absl::Status {
        absl::StatusOr<kube::Json> object = client.Get(resource, ns, name);
        if (!object.ok() && !absl::IsNotFound(object.status())) {
          return object.status();
        }
        const kube::ConditionResult result =
            condition(object.ok() ? &*object : nullptr);
        if (result.done) return absl::OkStatus();
        return absl::UnavailableError(result.waiting_for);
      });
}

// Server-side apply of every object, in file order (helm template output is
// ordered: namespaces and CRDs first). The same manifest again is a no-op
// for the server; a changed one upgrades what it sets.
absl::Status ApplyObjects(ToolRun& run, kube::KubeClient& client,
                          const CiliumManifest& manifest, absl::Time deadline) {
  run.events().Note(absl::StrCat("cilium: applying ", manifest.objects.size(),
                                 " objects (server-side apply, field manager ",
                                 kFieldManager, ")"));
  kube::ApplyOptions apply;
  apply.field_manager = kFieldManager;
  apply.force = true;
  for (const ManifestObject& o : manifest.objects) {
    kube::Resource resource;
    RETURN_IF_ERROR(Poll(
        ConvergenceWait(run, absl::StrCat("discovery of ", o.kind), deadline),
        [&](PollAttempt&) -> absl::Status {
          ASSIGN_OR_RETURN(resource, client.Discover(o.api_version, o.kind));
          return absl::OkStatus();
        }));
    kube::Json object = o.object;
    if (resource.namespaced && o.ns.empty()) {
      object["metadata"]["namespace"] = "default";
    }
    absl::Status applied = Poll(
        ConvergenceWait(run, absl::StrCat("apply of ", o.Describe()), deadline),
        [&](PollAttempt&) {
          return client.Apply(resource, object, apply).status();
        });
    if (!applied.ok()) {
      return absl::Status(
          applied.code(),
          absl::StrCat("cilium: server-side apply of ", o.Describe(),
                       " failed: ", applied.message()));
    }
  }
  return absl::OkStatus();
}

absl::Status AwaitRollouts(ToolRun& run, kube::KubeClient& client,
                           const CiliumManifest& manifest,
                           absl::Time deadline) {
  for (const ManifestObject& o : manifest.objects) {
    if (o.kind != "DaemonSet") continue;
    ASSIGN_OR_RETURN(kube::Resource resource,
                     client.Discover(o.api_version, o.kind));
    RETURN_IF_ERROR(AwaitObject(run, client, resource,
                                o.ns.empty() ? "default" : o.ns, o.name,
                                absl::StrCat("the rollout of ", o.Describe()),
                                deadline, DaemonSetRolledOut));
  }
  return absl::OkStatus();
}

absl::Status AwaitNodesReady(ToolRun& run, kube::KubeClient& client,
                             absl::Time deadline) {
  for (const v1::Node& n : run.spec().nodes()) {
    RETURN_IF_ERROR(AwaitObject(run, client, kube::Nodes(), "", n.name(),
                                absl::StrCat("node ", n.name(), " to be Ready"),
                                deadline, NodeReady));
  }
  run.events().Note(
      absl::StrCat("kubernetes: ", run.spec().nodes_size(), " nodes Ready"));
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::optional<CiliumManifest>> LoadCiliumManifest(
    const v1::ClusterSpec& spec) {
  const std::string& path = spec.talos().cilium_manifest();
  if (path.empty()) return std::nullopt;
  absl::StatusOr<std::string> text = ReadInputFile(path);
  if (!text.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "spec.talos.cilium_manifest: ", text.status().message(),
        " (relative paths are relative to the working directory)"));
  }
  CiliumManifest manifest;
  manifest.path = path;
  manifest.sha256 = HexEncode(Sha256(*text));
  ASSIGN_OR_RETURN(manifest.objects, ParseManifest(*text, path));
  if (manifest.objects.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("spec.talos.cilium_manifest: ", path, " has no objects"));
  }
  return manifest;
}

absl::Status RollOutCilium(ToolRun& run, const CiliumManifest& manifest,
                           absl::Time deadline,
                           v1::TalosBootstrapStatus& status) {
  ASSIGN_OR_RETURN(kube::RestConfig config,
                   ReadKubeconfig(status.kubeconfig_path()));
  KubeEndpoint api;
  RETURN_IF_ERROR(RunStep(run, "VIP wait", "", [&]() -> absl::Status {
    ASSIGN_OR_RETURN(api, ConnectKube(run, config, deadline));
    run.events().Note(absl::StrCat("kubernetes: API server answers on ",
                                   api.label, " ", api.server));
    return absl::OkStatus();
  }));
  status.set_kube_endpoint(api.server);
  RETURN_IF_ERROR(RunStep(run, "cilium apply", "", [&] {
    return ApplyObjects(run, *api.client, manifest, deadline);
  }));
  status.set_cilium_applied(run.spec().versions().cilium());
  RETURN_IF_ERROR(RunStep(run, "cilium rollout", "", [&] {
    return AwaitRollouts(run, *api.client, manifest, deadline);
  }));
  RETURN_IF_ERROR(RunStep(run, "nodes ready", "", [&] {
    return AwaitNodesReady(run, *api.client, deadline);
  }));
  status.set_nodes_ready(true);
  return absl::OkStatus();
}

absl::Status CheckKubernetesApi(ToolRun& run) {
  const auto& network = run.spec().network();
  const std::string url =
      absl::StrCat("https://", network.api_vip(), ":",
                   network.api_port() == 0 ? 6443 : network.api_port());
  CurlHttpClientOptions options;
  options.connect_timeout = absl::Seconds(3);
  options.timeout = absl::Seconds(10);
  ASSIGN_OR_RETURN(std::unique_ptr<CurlHttpClient> http,
                   CurlHttpClient::Create(options));
  HttpRequest request;
  request.method = "GET";
  request.url = url + "/version";
  absl::Status probe = http->Send(request).status();
  // A server certificate we cannot check without the kubeconfig still
  // means something answers there.
  if (absl::IsFailedPrecondition(probe)) probe = absl::OkStatus();
  return run.CheckEndpoint("the Kubernetes API (VIP)", url,
                           EndpointExistence::kCreatedEarlier, probe);
}

}  // namespace coldstart
