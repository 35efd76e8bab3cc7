#include "tools/talos-bootstrap/talos_bootstrap.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "lib/base/status_macros.h"
#include "lib/cli/atomic_file.h"
#include "lib/kube/kube_client.h"
#include "lib/kube/kube_config.h"
#include "lib/kube/kube_transport.h"
#include "lib/net/http.h"
#include "lib/secrets/crypto.h"
#include "lib/secrets/keystore.h"
#include "tools/talos-bootstrap/headscale_client.h"
#include "tools/talos-bootstrap/machine_config.h"
#include "tools/talos-bootstrap/manifest.h"
#include "tools/talos-bootstrap/secrets_bundle.h"
#include "tools/talos-bootstrap/talos_client.h"

namespace coldstart {
namespace {

using coldstart::v1::ClusterSpec;
using coldstart::v1::Node;

constexpr size_t kMaintenanceRequestLimit = 4 << 20;
// The field manager of the Cilium objects (server-side apply).
constexpr char kFieldManager[] = "coldstart-talos-bootstrap";

class Progress {
 public:
  explicit Progress(std::ostream& err) : err_(err) {}
  void Line(const std::string& line) {
    std::lock_guard<std::mutex> lock(mu_);
    err_ << "talos-bootstrap: " << line << "\n";
    err_.flush();
  }

 private:
  std::ostream& err_;
  std::mutex mu_;
};

bool IsControlPlane(const Node& n) {
  return n.role() == coldstart::v1::NODE_ROLE_CONTROL_PLANE;
}

bool Retryable(const absl::Status& s) {
  return absl::IsUnavailable(s) || absl::IsDeadlineExceeded(s) ||
         absl::IsCancelled(s) || absl::IsAborted(s);
}

// Polls `attempt` with exponential backoff (first try immediate) until it
// returns something other than a retryable error, or `deadline`. With
// `progress`, the first retryable error is reported as a line.
template <typename T>
absl::StatusOr<T> Poll(absl::Time deadline, const std::string& what,
                       const std::function<absl::StatusOr<T>()>& attempt,
                       Progress* progress = nullptr) {
  absl::Duration backoff = absl::Milliseconds(50);
  absl::Status last;
  while (true) {
    absl::StatusOr<T> result = attempt();
    if (result.ok() || !Retryable(result.status())) return result;
    if (progress != nullptr && last.ok()) {
      progress->Line(absl::StrCat(what, ": not answering yet (",
                                  result.status().message(),
                                  "); retrying with backoff"));
    }
    last = result.status();
    if (absl::Now() + backoff > deadline) {
      return absl::DeadlineExceededError(
          absl::StrCat(what, ": gave up; last error: ", last.message(),
                       "; re-run to resume"));
    }
    absl::SleepFor(backoff);
    backoff = std::min(backoff * 2, absl::Seconds(2));
  }
}

// Lines of a dry-run diff with secret values hidden.
std::string RedactDiff(const std::string& details) {
  std::string out;
  for (absl::string_view line : absl::StrSplit(details, '\n')) {
    if (absl::StrContains(line, "key:") || absl::StrContains(line, "token:") ||
        absl::StrContains(line, "secret:") ||
        absl::StrContains(line, "Secret:") ||
        absl::StrContains(line, "TS_AUTHKEY") ||
        absl::StrContains(line, "crt:")) {
      const size_t colon = line.find_first_of(":=");
      absl::StrAppend(&out, "    ", line.substr(0, colon + 1), " [redacted]\n");
    } else {
      absl::StrAppend(&out, "    ", line, "\n");
    }
  }
  return out;
}

// Writes `data` to `path` with mode 0600 from the first byte (tmp + fsync +
// rename).
absl::Status WriteSecretFile(const std::string& path, const std::string& data) {
  const std::string tmp = absl::StrCat(path, ".tmp.", getpid());
  const int fd =
      open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    return absl::PermissionDeniedError(absl::StrCat("cannot create ", tmp));
  }
  fchmod(fd, 0600);
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = write(fd, data.data() + done, data.size() - done);
    if (n <= 0) {
      close(fd);
      unlink(tmp.c_str());
      return absl::InternalError(absl::StrCat("cannot write ", tmp));
    }
    done += n;
  }
  fsync(fd);
  close(fd);
  if (rename(tmp.c_str(), path.c_str()) != 0) {
    unlink(tmp.c_str());
    return absl::InternalError(absl::StrCat("cannot rename to ", path));
  }
  return absl::OkStatus();
}

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

struct NodeResult {
  std::string stage;
  std::string sha256;
  bool applied = false;
};

class Run {
 public:
  Run(const TalosBootstrapOptions& options, std::ostream& err)
      : options_(options), progress_(err) {}

  absl::Status Execute(coldstart::v1::Cluster& cluster);

 private:
  absl::Status LoadBundle(const ClusterSpec& spec, bool dry_run);
  absl::Status Mesh(const ClusterSpec& spec, bool dry_run);
  absl::Status ConvergeNode(const ClusterSpec& spec, const Node& node,
                            NodeResult* result);
  absl::Status BootstrapEtcd(const ClusterSpec& spec, const Node& first,
                             bool* bootstrapped_now);
  absl::Status WriteOutputs(const ClusterSpec& spec, const Node& first,
                            coldstart::v1::TalosBootstrapStatus& status);
  absl::Status FinishMesh(const ClusterSpec& spec);
  absl::StatusOr<KubeEndpoint> ConnectKube(const ClusterSpec& spec,
                                           const kube::RestConfig& config);
  absl::Status ApplyCilium(const ClusterSpec& spec,
                           const std::vector<ManifestObject>& objects,
                           coldstart::v1::TalosBootstrapStatus& status);
  std::string Address(const ClusterSpec& spec, const Node& node) const {
    const uint32_t port =
        spec.talos().api_port() == 0 ? 50000 : spec.talos().api_port();
    return absl::StrCat(node.ip(), ":", port);
  }
  std::unique_ptr<TalosClient> Mutual(const ClusterSpec& spec,
                                      const Node& node) {
    return TalosClient::Mutual(Address(spec, node), bundle_.os_ca.crt_pem,
                               admin_.crt_pem,
                               std::string(admin_.key_pem.Reveal()));
  }

  const TalosBootstrapOptions& options_;
  Progress progress_;
  absl::Time deadline_;
  std::unique_ptr<Keystore> keystore_;
  std::string cluster_name_;
  SecretsBundle bundle_;
  bool have_bundle_ = false;
  CertAndKey admin_;
  std::string schematic_;
  // Headscale.
  std::unique_ptr<CurlHttpClient> http_;
  std::unique_ptr<HeadscaleClient> headscale_;
  std::string hs_user_;
  std::set<std::string> registered_;
  std::map<std::string, Secret> preauth_;           // node -> key
  std::map<std::string, std::string> preauth_ids_;  // node -> key id
};

absl::Status Run::LoadBundle(const ClusterSpec& spec, bool dry_run) {
  const std::string item = spec.talos().secrets_bundle().key().empty()
                               ? "talos-secrets"
                               : spec.talos().secrets_bundle().key();
  const KeystoreAttributes attrs = ClusterSecretAttributes(spec.name(), item);
  absl::StatusOr<Secret> stored = keystore_->Lookup(attrs);
  if (stored.ok()) {
    ASSIGN_OR_RETURN(bundle_, ParseSecretsBundle(*stored));
    have_bundle_ = true;
    progress_.Line(
        absl::StrCat("secrets bundle: reused (keystore item ", item, ")"));
  } else if (absl::IsNotFound(stored.status())) {
    if (dry_run) {
      progress_.Line(
          absl::StrCat("secrets bundle: would be generated (", item, ")"));
      return absl::OkStatus();
    }
    ASSIGN_OR_RETURN(bundle_, GenerateSecretsBundle(absl::Now()));
    RETURN_IF_ERROR(keystore_->Store(
        attrs, absl::StrCat("coldstart ", spec.name(), " Talos secrets"),
        SerializeSecretsBundle(bundle_)));
    have_bundle_ = true;
    progress_.Line(
        absl::StrCat("secrets bundle: generated and stored (", item, ")"));
  } else {
    return stored.status();
  }
  ASSIGN_OR_RETURN(admin_, IssueTalosAdminCertificate(bundle_, absl::Now()));
  return absl::OkStatus();
}

absl::Status Run::Mesh(const ClusterSpec& spec, bool dry_run) {
  const auto& mesh = spec.mesh();
  if (mesh.headscale_url().empty()) return absl::OkStatus();
  ASSIGN_OR_RETURN(int gen, HeadscaleClient::Generation(mesh.api_version()));
  Secret api_key;
  if (const char* env = std::getenv("HEADSCALE_API_KEY"); env && *env) {
    api_key = Secret::FromView(env);
  } else {
    const std::string item = mesh.api_key().key().empty()
                                 ? "headscale-api-key"
                                 : mesh.api_key().key();
    absl::StatusOr<Secret> stored =
        keystore_->Lookup(ClusterSecretAttributes(spec.name(), item));
    if (!stored.ok()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "no Headscale API key: set HEADSCALE_API_KEY or store keystore item ",
          item, " (", stored.status().message(), ")"));
    }
    api_key = *stored;
  }
  CurlHttpClientOptions http_options;
  http_options.trust.ca_file = mesh.ca_file();
  ASSIGN_OR_RETURN(http_, CurlHttpClient::Create(http_options));
  std::string base(mesh.headscale_url());
  while (absl::EndsWith(base, "/")) base.pop_back();
  headscale_ = std::make_unique<HeadscaleClient>(*http_, base, api_key, gen);
  const std::string user_name = mesh.user().empty() ? spec.name() : mesh.user();
  absl::StatusOr<std::string> user =
      headscale_->EnsureUser(user_name, !dry_run);
  if (dry_run && absl::IsNotFound(user.status())) {
    progress_.Line(
        absl::StrCat("headscale: user ", user_name, " would be created"));
    return absl::OkStatus();
  }
  RETURN_IF_ERROR(user.status());
  hs_user_ = *user;
  ASSIGN_OR_RETURN(std::vector<HeadscaleNode> nodes, headscale_->ListNodes());
  for (const HeadscaleNode& n : nodes) registered_.insert(n.name);
  ASSIGN_OR_RETURN(std::vector<HeadscaleKey> keys,
                   headscale_->ListKeys(hs_user_));
  const absl::Duration ttl = absl::Seconds(
      mesh.key_ttl_seconds() == 0 ? 3600 : mesh.key_ttl_seconds());
  for (const Node& node : spec.nodes()) {
    const KeystoreAttributes attrs = ClusterSecretAttributes(
        spec.name(), absl::StrCat("headscale-preauth-", node.name()));
    absl::StatusOr<Secret> stored = keystore_->Lookup(attrs);
    std::string id;
    Secret key;
    if (stored.ok()) {
      std::pair<std::string, std::string> parts =
          absl::StrSplit(stored->Reveal(), absl::MaxSplits('\n', 1));
      id = parts.first;
      key = Secret(std::move(parts.second));
    }
    bool usable = false;
    for (const HeadscaleKey& k : keys) {
      if (k.id == id && !id.empty()) {
        usable = (!k.used || k.reusable) &&
                 k.expiration > absl::Now() + absl::Minutes(1);
      }
    }
    if (registered_.count(node.name()) > 0 || usable) {
      if (!key.empty()) {
        preauth_[node.name()] = key;
        preauth_ids_[node.name()] = id;
      }
      continue;
    }
    if (dry_run) {
      progress_.Line(absl::StrCat("headscale: ", node.name(),
                                  ": a pre-auth key would be created"));
      continue;
    }
    ASSIGN_OR_RETURN(HeadscaleKey created,
                     headscale_->CreateKey(
                         hs_user_, absl::Now() + ttl, mesh.reusable_keys(),
                         mesh.ephemeral_keys(),
                         {mesh.acl_tags().begin(), mesh.acl_tags().end()}));
    RETURN_IF_ERROR(keystore_->Store(
        attrs,
        absl::StrCat("coldstart ", spec.name(), " Headscale key ", node.name()),
        Secret(absl::StrCat(created.id, "\n", created.key.Reveal()))));
    progress_.Line(absl::StrCat("headscale: ", node.name(), ": pre-auth key ",
                                created.id, " created"));
    preauth_[node.name()] = created.key;
    preauth_ids_[node.name()] = created.id;
  }
  return absl::OkStatus();
}

absl::Status Run::ConvergeNode(const ClusterSpec& spec, const Node& node,
                               NodeResult* result) {
  ASSIGN_OR_RETURN(
      MachineConfig config,
      RenderMachineConfig(
          spec, node, bundle_, schematic_,
          preauth_.count(node.name()) ? preauth_[node.name()] : Secret()));
  result->sha256 = config.sha256;
  const std::string address = Address(spec, node);
  // Which mode? Configured nodes answer mTLS; maintenance nodes answer the
  // insecure handshake with their maintenance certificate.
  enum class Mode { kMaintenance, kConfigured };
  absl::StatusOr<Mode> mode = Poll<Mode>(
      deadline_, absl::StrCat(node.name(), ": waiting for the Talos API"),
      [&]() -> absl::StatusOr<Mode> {
        absl::StatusOr<machine::VersionResponse> v =
            Mutual(spec, node)->Version();
        if (v.ok()) return Mode::kConfigured;
        std::unique_ptr<TalosClient> insecure = TalosClient::Insecure(address);
        absl::StatusOr<machine::VersionResponse> iv = insecure->Version();
        if (insecure->peer().leaf_common_name == kMaintenanceCommonName) {
          // ≤1.12: Version is Unimplemented in maintenance; 1.13+: works.
          if (iv.ok() || absl::IsUnimplemented(iv.status())) {
            return Mode::kMaintenance;
          }
        }
        if (!insecure->peer().leaf_common_name.empty()) {
          // Configured node that does not accept our client certificate.
          if (absl::IsPermissionDenied(v.status()) ||
              absl::IsUnauthenticated(v.status())) {
            return v.status();
          }
        }
        return absl::UnavailableError(std::string(v.status().message()));
      },
      &progress_);
  RETURN_IF_ERROR(mode.status());
  if (*mode == Mode::kMaintenance) {
    if (config.yaml.size() >= kMaintenanceRequestLimit) {
      return absl::FailedPreconditionError(absl::StrCat(
          node.name(), ": machine config is ", config.yaml.size(),
          " bytes; maintenance mode on Talos ≤1.12 accepts requests below 4 "
          "MiB"));
    }
    progress_.Line(absl::StrCat(node.name(), ": maintenance mode; applying ",
                                config.sha256.substr(0, 12)));
    machine::ApplyConfigurationRequest request;
    request.set_data(std::string(config.yaml.Reveal()));
    request.set_mode(machine::ApplyConfigurationRequest::AUTO);
    absl::StatusOr<machine::ApplyConfigurationResponse> applied =
        Poll<machine::ApplyConfigurationResponse>(
            deadline_, absl::StrCat(node.name(), ": apply"),
            [&] { return TalosClient::Insecure(address)->Apply(request); });
    if (!applied.ok()) {
      return absl::Status(
          absl::IsInvalidArgument(applied.status())
              ? absl::StatusCode::kFailedPrecondition
              : applied.status().code(),
          absl::StrCat(node.name(), ": the node rejected its config: ",
                       applied.status().message()));
    }
    result->applied = true;
  } else {
    machine::ApplyConfigurationRequest request;
    request.set_data(std::string(config.yaml.Reveal()));
    request.set_mode(machine::ApplyConfigurationRequest::AUTO);
    request.set_dry_run(true);
    ASSIGN_OR_RETURN(machine::ApplyConfigurationResponse dry,
                     Mutual(spec, node)->Apply(request));
    const std::string details =
        dry.messages_size() > 0 ? dry.messages(0).mode_details() : "";
    if (absl::StrContains(details, "No changes.")) {
      result->stage = "configured";
      return absl::OkStatus();
    }
    progress_.Line(absl::StrCat(node.name(), ": config drift; diff:\n",
                                RedactDiff(details)));
    request.set_dry_run(false);
    ASSIGN_OR_RETURN(machine::ApplyConfigurationResponse applied,
                     Mutual(spec, node)->Apply(request));
    result->applied = true;
    progress_.Line(absl::StrCat(
        node.name(), ": applied ", config.sha256.substr(0, 12), " (",
        applied.messages_size() > 0 ? applied.messages(0).mode_details() : "",
        ")"));
    result->stage = "configured";
    return absl::OkStatus();
  }
  // Control planes answer with the cluster PKI within seconds; workers only
  // after trustd (bootstrap + VIP): the caller waits for them later.
  if (IsControlPlane(node)) {
    RETURN_IF_ERROR(
        Poll<bool>(deadline_,
                   absl::StrCat(node.name(), ": waiting for the cluster PKI"),
                   [&]() -> absl::StatusOr<bool> {
                     RETURN_IF_ERROR(Mutual(spec, node)->Version().status());
                     return true;
                   })
            .status());
  }
  result->stage = "configured";
  return absl::OkStatus();
}

absl::Status Run::BootstrapEtcd(const ClusterSpec& spec, const Node& first,
                                bool* bootstrapped_now) {
  absl::StatusOr<machine::EtcdMemberListResponse> members =
      Mutual(spec, first)->EtcdMemberList();
  if (members.ok() && members->messages_size() > 0 &&
      members->messages(0).members_size() > 0) {
    return absl::OkStatus();  // already bootstrapped
  }
  absl::StatusOr<bool> done =
      Poll<bool>(deadline_, absl::StrCat(first.name(), ": Bootstrap"),
                 [&]() -> absl::StatusOr<bool> {
                   absl::StatusOr<machine::BootstrapResponse> r =
                       Mutual(spec, first)->Bootstrap();
                   if (r.ok()) {
                     *bootstrapped_now = true;
                     return true;
                   }
                   if (absl::IsAlreadyExists(r.status())) return true;
                   if (absl::IsFailedPrecondition(r.status())) {
                     const std::string text(r.status().message());
                     if (absl::StrContains(text, "not available yet") ||
                         absl::StrContains(text, "time is not in sync")) {
                       return absl::UnavailableError(text);
                     }
                     return absl::FailedPreconditionError(absl::StrCat(
                         text, " (not retried: bootstrap ", first.name(),
                         " only if it is the cluster's first control plane)"));
                   }
                   return r.status();
                 });
  RETURN_IF_ERROR(done.status());
  progress_.Line(absl::StrCat(first.name(), ": etcd bootstrap ",
                              *bootstrapped_now ? "started" : "already done"));
  return absl::OkStatus();
}

absl::Status Run::WriteOutputs(const ClusterSpec& spec, const Node& first,
                               coldstart::v1::TalosBootstrapStatus& status) {
  const std::string kube_path = spec.talos().kubeconfig_path().empty()
                                    ? "kubeconfig"
                                    : spec.talos().kubeconfig_path();
  const std::string talos_path = spec.talos().talosconfig_path().empty()
                                     ? "talosconfig"
                                     : spec.talos().talosconfig_path();
  struct stat st;
  if (stat(kube_path.c_str(), &st) != 0) {
    ASSIGN_OR_RETURN(
        std::string stream,
        Poll<std::string>(deadline_, absl::StrCat(first.name(), ": Kubeconfig"),
                          [&] { return Mutual(spec, first)->Kubeconfig(); }));
    ASSIGN_OR_RETURN(std::string kubeconfig, ExtractKubeconfig(stream));
    RETURN_IF_ERROR(WriteSecretFile(kube_path, kubeconfig));
    progress_.Line(absl::StrCat("wrote ", kube_path));
  }
  if (stat(talos_path.c_str(), &st) != 0) {
    std::vector<std::string> endpoints;
    for (const Node& n : spec.nodes()) {
      if (IsControlPlane(n)) endpoints.push_back(n.ip());
    }
    std::string yaml = absl::StrCat("context: ", spec.name(), "\ncontexts:\n  ",
                                    spec.name(), ":\n    endpoints:\n");
    for (const std::string& e : endpoints) {
      absl::StrAppend(&yaml, "      - ", e, "\n");
    }
    absl::StrAppend(&yaml, "    nodes:\n      - ", first.ip(),
                    "\n    ca: ", absl::Base64Escape(bundle_.os_ca.crt_pem),
                    "\n    crt: ", absl::Base64Escape(admin_.crt_pem),
                    "\n    key: ", absl::Base64Escape(admin_.key_pem.Reveal()),
                    "\n");
    RETURN_IF_ERROR(WriteSecretFile(talos_path, yaml));
    progress_.Line(absl::StrCat("wrote ", talos_path));
  }
  status.set_kubeconfig_path(kube_path);
  status.set_talosconfig_path(talos_path);
  return absl::OkStatus();
}

absl::Status Run::FinishMesh(const ClusterSpec& spec) {
  if (!headscale_) return absl::OkStatus();
  const std::vector<std::string> routes(spec.mesh().advertise_routes().begin(),
                                        spec.mesh().advertise_routes().end());
  std::set<std::string> wanted;
  for (const Node& n : spec.nodes()) wanted.insert(n.name());
  ASSIGN_OR_RETURN(std::vector<HeadscaleNode> nodes,
                   Poll<std::vector<HeadscaleNode>>(
                       deadline_, "headscale: waiting for the nodes to enrol",
                       [&]() -> absl::StatusOr<std::vector<HeadscaleNode>> {
                         ASSIGN_OR_RETURN(std::vector<HeadscaleNode> listed,
                                          headscale_->ListNodes());
                         std::set<std::string> seen;
                         for (const HeadscaleNode& n : listed)
                           seen.insert(n.name);
                         for (const std::string& w : wanted) {
                           if (seen.count(w) == 0) {
                             return absl::UnavailableError(
                                 absl::StrCat(w, " has not enrolled yet"));
                           }
                         }
                         return listed;
                       }));
  for (const HeadscaleNode& n : nodes) {
    if (wanted.count(n.name) == 0 || routes.empty()) continue;
    std::vector<std::string> missing;
    for (const std::string& r : routes) {
      bool approved = false;
      for (const std::string& a : n.approved_routes) approved |= a == r;
      if (!approved) missing.push_back(r);
    }
    if (missing.empty()) continue;
    RETURN_IF_ERROR(headscale_->ApproveRoutes(n, missing));
    progress_.Line(absl::StrCat("headscale: ", n.name, ": approved ",
                                absl::StrJoin(missing, ",")));
  }
  // Enrolled: their keys are no longer needed.
  ASSIGN_OR_RETURN(std::vector<HeadscaleKey> keys,
                   headscale_->ListKeys(hs_user_));
  for (const auto& [node, id] : preauth_ids_) {
    for (HeadscaleKey& k : keys) {
      if (k.id != id || k.expiration <= absl::Now()) continue;
      k.key = preauth_[node];
      RETURN_IF_ERROR(headscale_->ExpireKey(hs_user_, k));
      progress_.Line(absl::StrCat("headscale: ", node, ": key ", id,
                                  " expired (node enrolled)"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<KubeEndpoint> Run::ConnectKube(const ClusterSpec& spec,
                                              const kube::RestConfig& config) {
  std::vector<std::pair<std::string, std::string>> candidates = {
      {config.server, "VIP"}};
  const std::string bootstrap = spec.network().bootstrap_endpoint();
  if (!bootstrap.empty() && bootstrap != spec.network().api_vip()) {
    candidates.push_back(
        {WithHost(config.server, bootstrap), "bootstrap endpoint"});
  }
  return Poll<KubeEndpoint>(
      deadline_, "kubernetes: waiting for the API server",
      [&]() -> absl::StatusOr<KubeEndpoint> {
        std::vector<std::string> errors;
        for (const auto& [server, label] : candidates) {
          ASSIGN_OR_RETURN(KubeEndpoint e, OpenKube(config, server, label));
          absl::Status answered = e.client->Version().status();
          if (answered.ok()) return e;
          // Refused, timed out or (a port of some other server) a TLS peer
          // we do not trust: not the API server yet.
          if (!Retryable(answered) && !absl::IsFailedPrecondition(answered)) {
            return answered;
          }
          errors.push_back(
              absl::StrCat(label, " ", server, ": ", answered.message()));
        }
        return absl::UnavailableError(absl::StrJoin(errors, "; "));
      },
      &progress_);
}

absl::Status Run::ApplyCilium(const ClusterSpec& spec,
                              const std::vector<ManifestObject>& objects,
                              coldstart::v1::TalosBootstrapStatus& status) {
  const std::string kube_path = status.kubeconfig_path();
  std::ifstream in(kube_path);
  std::stringstream text;
  text << in.rdbuf();
  if (!in) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot read the kubeconfig ", kube_path));
  }
  const size_t slash = kube_path.rfind('/');
  ASSIGN_OR_RETURN(
      kube::RestConfig config,
      kube::ParseKubeconfig(
          text.str(),
          slash == std::string::npos ? "." : kube_path.substr(0, slash),
          kube_path));
  ASSIGN_OR_RETURN(KubeEndpoint api, ConnectKube(spec, config));
  progress_.Line(absl::StrCat("kubernetes: API server answers on ", api.label,
                              " ", api.server));
  status.set_kube_endpoint(api.server);
  // Server-side apply of every object, in file order (helm template output
  // is ordered: namespaces and CRDs first). The same manifest again is a
  // no-op for the server; a changed one upgrades what it sets.
  progress_.Line(absl::StrCat("cilium: applying ", objects.size(),
                              " objects (server-side apply, field manager ",
                              kFieldManager, ")"));
  kube::ApplyOptions apply;
  apply.field_manager = kFieldManager;
  apply.force = true;
  for (const ManifestObject& o : objects) {
    ASSIGN_OR_RETURN(
        kube::Resource resource,
        Poll<kube::Resource>(
            deadline_, absl::StrCat("cilium: discovery of ", o.kind),
            [&] { return api.client->Discover(o.api_version, o.kind); }));
    kube::Json object = o.object;
    if (resource.namespaced && o.ns.empty()) {
      object["metadata"]["namespace"] = "default";
    }
    absl::StatusOr<kube::Json> applied = Poll<kube::Json>(
        deadline_, absl::StrCat("cilium: apply ", o.Describe()),
        [&] { return api.client->Apply(resource, object, apply); });
    if (!applied.ok()) {
      return absl::Status(
          applied.status().code(),
          absl::StrCat("cilium: server-side apply of ", o.Describe(),
                       " failed: ", applied.status().message()));
    }
  }
  status.set_cilium_applied(spec.versions().cilium());
  // Rollout of every DaemonSet of the manifest, then every node Ready.
  kube::WaitOptions wait;
  wait.timeout = std::max(absl::ZeroDuration(), deadline_ - absl::Now());
  for (const ManifestObject& o : objects) {
    if (o.kind != "DaemonSet") continue;
    ASSIGN_OR_RETURN(kube::Resource resource,
                     api.client->Discover(o.api_version, o.kind));
    progress_.Line(
        absl::StrCat("cilium: waiting for the rollout of ", o.Describe()));
    RETURN_IF_ERROR(api.client
                        ->WaitFor(
                            resource, o.ns.empty() ? "default" : o.ns, o.name,
                            [](const kube::Json* ds)
                                -> absl::StatusOr<kube::ConditionResult> {
                              return DaemonSetRolledOut(ds);
                            },
                            wait)
                        .status());
  }
  progress_.Line("kubernetes: waiting for every node to be Ready");
  for (const Node& n : spec.nodes()) {
    wait.timeout = std::max(absl::ZeroDuration(), deadline_ - absl::Now());
    RETURN_IF_ERROR(api.client
                        ->WaitFor(
                            kube::Nodes(), "", n.name(),
                            [](const kube::Json* node)
                                -> absl::StatusOr<kube::ConditionResult> {
                              return NodeReady(node);
                            },
                            wait)
                        .status());
  }
  status.set_nodes_ready(true);
  progress_.Line(
      absl::StrCat("kubernetes: ", spec.nodes_size(), " nodes Ready"));
  return absl::OkStatus();
}

// The Cilium manifest named in the spec (relative paths: to the working
// directory): its SHA-256 and objects. InvalidArgument when it cannot be read
// or parsed.
absl::Status LoadCiliumManifest(const ClusterSpec& spec, std::string* sha256,
                                std::vector<ManifestObject>* objects) {
  const std::string& path = spec.talos().cilium_manifest();
  if (path.empty()) return absl::OkStatus();
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  if (!in) {
    return absl::InvalidArgumentError(absl::StrCat(
        "spec.talos.cilium_manifest: cannot read ", path,
        " (relative paths are relative to the working directory)"));
  }
  *sha256 = HexEncode(Sha256(text.str()));
  ASSIGN_OR_RETURN(*objects, ParseManifest(text.str(), path));
  if (objects->empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("spec.talos.cilium_manifest: ", path, " has no objects"));
  }
  return absl::OkStatus();
}

absl::Status Run::Execute(coldstart::v1::Cluster& cluster) {
  const ClusterSpec& spec = cluster.spec();
  deadline_ = absl::Now() + options_.timeout;
  const bool dry_run = options_.common.dry_run;
  if (spec.nodes().empty()) {
    return absl::InvalidArgumentError("spec.nodes is empty");
  }
  const Node* first = nullptr;
  for (const Node& n : spec.nodes()) {
    if (IsControlPlane(n) &&
        (first == nullptr || n.ip() == spec.network().bootstrap_endpoint())) {
      if (first == nullptr || n.ip() == spec.network().bootstrap_endpoint()) {
        first = &n;
      }
    }
  }
  if (first == nullptr) {
    return absl::InvalidArgumentError("spec.nodes has no control plane");
  }
  std::string manifest_sha256;
  std::vector<ManifestObject> manifest;
  RETURN_IF_ERROR(LoadCiliumManifest(spec, &manifest_sha256, &manifest));
  schematic_ = cluster.status().provision().image().schematic_id();
  cluster_name_ = spec.name();
  std::string keystore_spec = options_.common.keystore;
  if (keystore_spec.empty() &&
      std::getenv(kKeystoreEnvironmentVariable) == nullptr &&
      !spec.sealed_secrets().keystore().empty()) {
    keystore_spec = spec.sealed_secrets().keystore();
  }
  ASSIGN_OR_RETURN(keystore_, OpenKeystore(KeystoreSpec(keystore_spec)));
  RETURN_IF_ERROR(LoadBundle(spec, dry_run));
  RETURN_IF_ERROR(Mesh(spec, dry_run));

  auto* status = cluster.mutable_status()->mutable_talos_bootstrap();
  if (dry_run) {
    for (const Node& node : spec.nodes()) {
      if (!have_bundle_) {
        progress_.Line(
            absl::StrCat("plan: ", node.name(), ": ",
                         IsControlPlane(node) ? "controlplane" : "worker",
                         " config (hash after the bundle exists)"));
        continue;
      }
      ASSIGN_OR_RETURN(
          MachineConfig config,
          RenderMachineConfig(
              spec, node, bundle_, schematic_,
              preauth_.count(node.name()) ? preauth_[node.name()] : Secret()));
      progress_.Line(
          absl::StrCat("plan: ", node.name(), " (", node.ip(),
                       "): ", IsControlPlane(node) ? "controlplane" : "worker",
                       " config ", config.sha256));
    }
    bool pending = true;
    if (have_bundle_) {
      absl::StatusOr<machine::EtcdMemberListResponse> m =
          Mutual(spec, *first)->EtcdMemberList();
      pending = !(m.ok() && m->messages_size() > 0 &&
                  m->messages(0).members_size() > 0);
    }
    progress_.Line(absl::StrCat("plan: etcd bootstrap on ", first->name(), ": ",
                                pending ? "pending" : "done"));
    if (!manifest.empty()) {
      progress_.Line(absl::StrCat(
          "plan: cilium ", spec.talos().cilium_manifest(), " (sha256 ",
          manifest_sha256.substr(0, 12), ", ", manifest.size(),
          " objects): pending (server-side apply after bootstrap, then "
          "rollout and nodes Ready)"));
    }
    return absl::OkStatus();
  }

  // Apply: every node in parallel; workers' waits end after bootstrap.
  std::map<std::string, NodeResult> results;
  std::map<std::string, absl::Status> errors;
  for (const Node& n : spec.nodes()) results[n.name()];
  std::vector<std::thread> threads;
  absl::Mutex mu;
  for (const Node& node : spec.nodes()) {
    if (!IsControlPlane(node)) continue;
    threads.emplace_back([&, node] {
      absl::Status s = ConvergeNode(spec, node, &results[node.name()]);
      absl::MutexLock lock(&mu);
      errors[node.name()] = s;
    });
  }
  std::vector<std::thread> workers;
  for (const Node& node : spec.nodes()) {
    if (IsControlPlane(node)) continue;
    workers.emplace_back([&, node] {
      absl::Status s = ConvergeNode(spec, node, &results[node.name()]);
      absl::MutexLock lock(&mu);
      errors[node.name()] = s;
    });
  }
  for (std::thread& t : threads) t.join();
  absl::Status first_error;
  for (const auto& [name, s] : errors) {
    if (!s.ok() && first_error.ok()) first_error = s;
  }
  bool bootstrapped_now = false;
  if (first_error.ok()) {
    first_error = BootstrapEtcd(spec, *first, &bootstrapped_now);
  }
  if (!first_error.ok()) {
    // Workers cannot finish without etcd; stop waiting for them.
    deadline_ = absl::Now();
  }
  for (std::thread& t : workers) t.join();
  for (const auto& [name, s] : errors) {
    if (!s.ok() && first_error.ok()) first_error = s;
  }
  // Record what is known even on failure.
  status->clear_nodes();
  for (const Node& n : spec.nodes()) {
    auto* ns = status->add_nodes();
    ns->set_name(n.name());
    ns->set_stage(results[n.name()].stage.empty() ? "unknown"
                                                  : results[n.name()].stage);
    ns->set_config_sha256(results[n.name()].sha256);
    ns->set_talos_version(spec.versions().talos());
    *ns->mutable_observed_at() = google::protobuf::Timestamp();
    ns->mutable_observed_at()->set_seconds(absl::ToUnixSeconds(absl::Now()));
  }
  status->clear_preauth_key_ids();
  for (const auto& [node, id] : preauth_ids_) status->add_preauth_key_ids(id);
  status->mutable_updated_at()->set_seconds(absl::ToUnixSeconds(absl::Now()));
  RETURN_IF_ERROR(first_error);

  // etcd members: every control plane joined.
  int control_planes = 0;
  for (const Node& n : spec.nodes()) control_planes += IsControlPlane(n);
  deadline_ = absl::Now() + options_.timeout;
  RETURN_IF_ERROR(
      Poll<bool>(deadline_, "waiting for the etcd members",
                 [&]() -> absl::StatusOr<bool> {
                   ASSIGN_OR_RETURN(machine::EtcdMemberListResponse m,
                                    Mutual(spec, *first)->EtcdMemberList());
                   const int n =
                       m.messages_size() > 0 ? m.messages(0).members_size() : 0;
                   if (n < control_planes) {
                     return absl::UnavailableError(absl::StrCat(
                         n, " of ", control_planes, " etcd members"));
                   }
                   return true;
                 })
          .status());
  status->set_etcd_bootstrapped(true);
  status->set_bootstrap_node(first->name());
  if (bootstrapped_now || !status->has_bootstrapped_at()) {
    status->mutable_bootstrapped_at()->set_seconds(
        absl::ToUnixSeconds(absl::Now()));
  }
  RETURN_IF_ERROR(WriteOutputs(spec, *first, *status));
  RETURN_IF_ERROR(FinishMesh(spec));
  if (!manifest.empty()) {
    status->set_nodes_ready(false);
    deadline_ = absl::Now() + options_.timeout;
    RETURN_IF_ERROR(ApplyCilium(spec, manifest, *status));
    status->set_cilium_manifest_sha256(manifest_sha256);
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status RunTalosBootstrap(const TalosBootstrapOptions& options,
                               std::ostream& out, std::ostream& err) {
  RETURN_IF_ERROR(CheckCommonOptions(options.common));
  ASSIGN_OR_RETURN(ClusterSession session,
                   ClusterSession::Open(options.common));
  coldstart::v1::Cluster cluster = session.input().cluster;
  Run run(options, err);
  absl::Status status = run.Execute(cluster);
  if (!options.common.dry_run) {
    // State so far is valid even when the run failed: write it.
    absl::Status written = session.Write(cluster, out);
    if (status.ok()) status = written;
  }
  return status;
}

}  // namespace coldstart
