#include "tools/seal-keystore/cluster_commands.h"

#include <algorithm>
#include <filesystem>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "lib/base/status_macros.h"
#include "lib/base/time_format.h"
#include "lib/json/json_path.h"
#include "lib/kube/cluster_kubeconfig.h"
#include "lib/kube/kube_client.h"
#include "tools/seal-keystore/sealed_secret.h"

namespace coldstart {
namespace {

constexpr char kFieldManager[] = "coldstart-seal-keystore";
constexpr char kManagedByLabel[] = "app.kubernetes.io/managed-by";
constexpr char kLegacyKeySecretName[] = "sealed-secrets-key";

absl::Time ParseRfc3339(const std::string& text) {
  absl::Time t;
  std::string error;
  if (text.empty() || !absl::ParseTime(absl::RFC3339_full, text, &t, &error)) {
    return absl::InfinitePast();
  }
  return t;
}

absl::Status WithContext(const absl::Status& status, absl::string_view what) {
  return absl::Status(status.code(),
                      absl::StrCat(what, ": ", status.message()));
}

// Where the controller runs and how to reach the API.
struct ControllerTarget {
  std::unique_ptr<kube::KubeClient> client;
  std::string server;
  std::string ns;
};

// The kubeconfig talos-bootstrap is still to write: the spec's path when
// neither --kubeconfig nor talos-bootstrap's status names one and the file
// does not exist. Empty otherwise.
std::string UnwrittenKubeconfig(SealKeystoreCommand& command) {
  const v1::Cluster& cluster = command.run().cluster();
  if (!command.options().kube.kubeconfig.empty() ||
      !cluster.status().talos_bootstrap().kubeconfig_path().empty()) {
    return "";
  }
  const std::string& path = cluster.spec().talos().kubeconfig_path();
  std::error_code error;
  if (path.empty() || std::filesystem::exists(path, error)) return "";
  return path;
}

// The controller's API (lib/kube/cluster_kubeconfig.h resolves the
// kubeconfig) and namespace: --namespace, else spec.sealed_secrets.
// controller_namespace, else kube-system. In a dry run, nullopt (and a
// "pending" plan line) when the kubeconfig is not written yet or the API
// does not answer.
absl::StatusOr<std::optional<ControllerTarget>> ConnectToController(
    SealKeystoreCommand& command) {
  ToolRun& run = command.run();
  const KubeAccessOptions& kube = command.options().kube;
  if (command.dry_run()) {
    const std::string unwritten = UnwrittenKubeconfig(command);
    if (!unwritten.empty()) {
      RETURN_IF_ERROR(run.CheckEndpoint(
          "the kubeconfig", unwritten, EndpointExistence::kCreatedEarlier,
          absl::NotFoundError("not written yet (talos-bootstrap writes it)")));
      return std::nullopt;
    }
  }
  ASSIGN_OR_RETURN(
      kube::RestConfig config,
      LoadClusterKubeconfig(run.cluster(), kube.kubeconfig, kube.context));
  ControllerTarget target;
  ASSIGN_OR_RETURN(target.client,
                   kube::KubeClient::FromConfig(config, kube.insecure));
  target.server = config.server;
  target.ns = command.options().namespace_;
  if (target.ns.empty()) {
    target.ns = run.spec().sealed_secrets().controller_namespace();
  }
  if (target.ns.empty()) target.ns = "kube-system";
  if (command.dry_run()) {
    const absl::Status probe = target.client->Version().status();
    RETURN_IF_ERROR(run.CheckEndpoint("the Kubernetes API", target.server,
                                      EndpointExistence::kCreatedEarlier,
                                      probe));
    if (!probe.ok()) return std::nullopt;
  }
  return target;
}

// A key Secret of the controller's namespace.
struct ClusterKey {
  std::string name;
  bool managed_by_us;
  absl::Time created;
  SealingKeyPair pair;
};

// The key Secrets of the namespace: all carrying the key label (any value:
// a retired key still opens what it once sealed) plus the legacy Secret.
absl::StatusOr<std::vector<kube::Json>> ListKeySecrets(
    ControllerTarget& target) {
  kube::ListOptions list;
  list.label_selector = kSealingKeyLabel;
  absl::StatusOr<std::vector<kube::Json>> secrets =
      target.client->List(kube::Secrets(), target.ns, list);
  if (!secrets.ok()) {
    return WithContext(
        secrets.status(),
        absl::StrCat("listing the sealed-secrets key Secrets of namespace ",
                     target.ns, " at ", target.server));
  }
  for (const kube::Json& secret : *secrets) {
    if (JsonString(secret, {"metadata", "name"}) == kLegacyKeySecretName) {
      return secrets;
    }
  }
  absl::StatusOr<kube::Json> legacy =
      target.client->Get(kube::Secrets(), target.ns, kLegacyKeySecretName);
  if (legacy.ok()) {
    secrets->push_back(*std::move(legacy));
  } else if (!absl::IsNotFound(legacy.status())) {
    return WithContext(
        legacy.status(),
        absl::StrCat("reading Secret ", target.ns, "/", kLegacyKeySecretName));
  }
  return secrets;
}

// The sealing key of a key Secret (its data is cleared from `secret`).
absl::StatusOr<SealingKeyPair> KeyOfSecret(kube::Json& secret,
                                           const std::string& what) {
  secret["apiVersion"] = "v1";
  secret["kind"] = "Secret";
  Secret text(secret.dump());
  secret["data"] = nullptr;
  ASSIGN_OR_RETURN(std::vector<KeySecret> parsed,
                   ParseKeySecrets(text.Reveal(), what));
  if (parsed.size() != 1) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": not a key Secret"));
  }
  return CheckSealingKey(SealingKey{std::move(parsed[0].private_key_pem),
                                    parsed[0].certificate_pem},
                         what);
}

// Every usable key Secret of the namespace, by name. Unusable ones are
// skipped with a warning (the controller skips them too).
absl::StatusOr<std::vector<ClusterKey>> ReadClusterKeys(
    SealKeystoreCommand& command, ControllerTarget& target) {
  ASSIGN_OR_RETURN(std::vector<kube::Json> secrets, ListKeySecrets(target));
  std::vector<ClusterKey> keys;
  for (kube::Json& secret : secrets) {
    const std::string name = JsonString(secret, {"metadata", "name"});
    const std::string what = absl::StrCat("Secret ", target.ns, "/", name);
    absl::StatusOr<SealingKeyPair> pair = KeyOfSecret(secret, what);
    if (!pair.ok()) {
      command.Note(absl::StrCat(
          "warning: skipping ", what,
          " (not a usable sealing key: ", pair.status().message(), ")"));
      continue;
    }
    keys.push_back(ClusterKey{
        name,
        JsonString(secret, {"metadata", "labels", kManagedByLabel}) ==
            "coldstart",
        ParseRfc3339(JsonString(secret, {"metadata", "creationTimestamp"})),
        *std::move(pair)});
  }
  std::sort(
      keys.begin(), keys.end(),
      [](const ClusterKey& a, const ClusterKey& b) { return a.name < b.name; });
  return keys;
}

// Reads the controller's key Secrets into the keystore (MergeSealingKeys:
// keys already held are not written again); records status.seal's
// backed_up_keys. `why` starts the progress line.
absl::StatusOr<std::vector<ClusterKey>> BackupKeys(SealKeystoreCommand& command,
                                                   ControllerTarget& target,
                                                   absl::string_view why) {
  ASSIGN_OR_RETURN(std::vector<ClusterKey> cluster_keys,
                   ReadClusterKeys(command, target));
  ASSIGN_OR_RETURN(Keystore * keystore, command.keystore());
  std::vector<SealingKeyPair> incoming;
  std::vector<std::string> names;
  for (const ClusterKey& key : cluster_keys) {
    incoming.push_back(key.pair);
    names.push_back(absl::StrCat(key.name, " (", key.pair.id, ")"));
  }
  ASSIGN_OR_RETURN(std::vector<std::string> added,
                   MergeSealingKeys(*keystore, incoming, command.dry_run()));
  command.Note(absl::StrCat(
      why, cluster_keys.size(), " key Secret(s) in namespace ", target.ns,
      names.empty() ? "" : ": ", absl::StrJoin(names, ", "), "; ",
      added.empty()
          ? absl::StrCat("keystore ", keystore->Describe(),
                         " already holds every one (nothing written)")
          : absl::StrCat(command.dry_run() ? "would add " : "added ",
                         added.size(), " new key(s) to ", keystore->Describe(),
                         ": ", absl::StrJoin(added, ", "))));
  v1::SealStatus& seal =
      *command.run().cluster().mutable_status()->mutable_seal();
  seal.clear_backed_up_keys();
  for (const ClusterKey& key : cluster_keys) {
    seal.add_backed_up_keys(key.name);
  }
  *seal.mutable_backed_up_at() = ToTimestamp(command.Now());
  return cluster_keys;
}

absl::Status Backup(SealKeystoreCommand& command) {
  std::optional<ControllerTarget> target;
  RETURN_IF_ERROR(command.Step("connect", [&]() -> absl::Status {
    ASSIGN_OR_RETURN(target, ConnectToController(command));
    return absl::OkStatus();
  }));
  if (!target.has_value()) return absl::OkStatus();  // pending (dry run)
  return command.Step("backup", [&]() -> absl::Status {
    ASSIGN_OR_RETURN(std::vector<ClusterKey> keys,
                     BackupKeys(command, *target, "backup: read "));
    if (keys.empty()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "no sealed-secrets key Secret (label ", kSealingKeyLabel,
          ", or named ", kLegacyKeySecretName, ") in namespace ", target->ns,
          " at ", target->server,
          "; is the controller deployed there? (spec.sealed_secrets."
          "controller_namespace or --namespace)"));
    }
    return absl::OkStatus();
  });
}

// --- restore -----------------------------------------------------------------

// The key Secret restore applies for `pair`: the controller's format
// (kubernetes.io/tls, tls.crt + tls.key, label ...=active), named after the
// key so that re-runs find it, marked as ours.
kube::Json KeySecretObject(const SealingKeyPair& pair, const std::string& ns) {
  return kube::Json{
      {"apiVersion", "v1"},
      {"kind", "Secret"},
      {"type", "kubernetes.io/tls"},
      {"metadata",
       {{"name", absl::StrCat(kLegacyKeySecretName, "-", pair.id)},
        {"namespace", ns},
        {"labels",
         {{kSealingKeyLabel, "active"}, {kManagedByLabel, "coldstart"}}}}},
      {"data",
       {{"tls.crt", absl::Base64Escape(pair.stored.certificate_pem)},
        {"tls.key",
         absl::Base64Escape(pair.stored.private_key_pem.Reveal())}}}};
}

// Pods of the controller: the Helm chart's label, or named after
// spec.sealed_secrets.controller_name (Deployment pods: NAME-<hash>-<id>).
bool IsControllerPod(const kube::Json& pod, absl::string_view controller_name) {
  if (JsonString(pod, {"metadata", "labels", "app.kubernetes.io/name"}) ==
      "sealed-secrets") {
    return true;
  }
  const std::string name = JsonString(pod, {"metadata", "name"});
  return !controller_name.empty() &&
         (name == controller_name ||
          absl::StartsWith(name, absl::StrCat(controller_name, "-")));
}

// What restore knows of the namespace's key Secrets.
struct RestoreState {
  std::set<std::string> in_cluster;  // key ids
  std::set<std::string> ours;        // names of key Secrets we manage
  absl::Time newest_ours = absl::InfinitePast();
  int applied = 0;
};

// The namespace (before the controller is deployed it may not exist).
absl::Status EnsureNamespace(SealKeystoreCommand& command,
                             ControllerTarget& target) {
  const std::string& ns = target.ns;
  absl::StatusOr<kube::Json> existing =
      target.client->Get(kube::Namespaces(), "", ns);
  if (existing.ok()) return absl::OkStatus();
  if (!absl::IsNotFound(existing.status())) {
    return WithContext(existing.status(),
                       absl::StrCat("reading namespace ", ns));
  }
  if (command.dry_run()) {
    command.run().Plan(absl::StrCat("create namespace ", ns));
    return absl::OkStatus();
  }
  kube::ApplyOptions apply;
  apply.field_manager = kFieldManager;
  absl::StatusOr<kube::Json> created =
      target.client->Apply(kube::Namespaces(),
                           kube::Json{{"apiVersion", "v1"},
                                      {"kind", "Namespace"},
                                      {"metadata", {{"name", ns}}}},
                           apply);
  if (!created.ok()) {
    return WithContext(created.status(),
                       absl::StrCat("creating namespace ", ns));
  }
  command.Note(absl::StrCat("restore: created namespace ", ns));
  return absl::OkStatus();
}

// One key Secret per keystore key the namespace lacks.
absl::Status ApplyKeySecrets(SealKeystoreCommand& command,
                             ControllerTarget& target,
                             const std::vector<SealingKeyPair>& keys,
                             RestoreState& state) {
  const std::string& ns = target.ns;
  for (const SealingKeyPair& pair : keys) {
    if (state.in_cluster.count(pair.id)) continue;
    kube::Json secret = KeySecretObject(pair, ns);
    const std::string name = secret["metadata"]["name"];
    if (command.dry_run()) {
      command.run().Plan(absl::StrCat("apply key Secret ", ns, "/", name,
                                      " for ", DescribeKey(pair)));
      continue;
    }
    kube::ApplyOptions apply;
    apply.field_manager = kFieldManager;
    absl::StatusOr<kube::Json> stored =
        target.client->Apply(kube::Secrets(), secret, apply);
    secret["data"] = nullptr;
    if (!stored.ok()) {
      return WithContext(stored.status(),
                         absl::StrCat("applying key Secret ", ns, "/", name));
    }
    ++state.applied;
    state.ours.insert(name);
    state.newest_ours = std::max(
        state.newest_ours,
        ParseRfc3339(JsonString(*stored, {"metadata", "creationTimestamp"})));
    command.Note(absl::StrCat("restore: applied key Secret ", ns, "/", name,
                              " for ", DescribeKey(pair)));
  }
  if (state.applied == 0 && !command.dry_run()) {
    command.Note(absl::StrCat("restore: all ", keys.size(),
                              " keystore key(s) are already in namespace ", ns,
                              "; nothing applied"));
  }
  v1::SealStatus& seal =
      *command.run().cluster().mutable_status()->mutable_seal();
  seal.clear_restored_keys();
  for (const std::string& name : state.ours) seal.add_restored_keys(name);
  return absl::OkStatus();
}

// The controller reads keys only at start: a pod that started before our
// newest key Secret has not loaded it; deleting it restarts it. Returns the
// pods deleted.
absl::StatusOr<std::vector<std::string>> RestartStaleControllers(
    SealKeystoreCommand& command, ControllerTarget& target,
    const RestoreState& state) {
  const std::string& ns = target.ns;
  absl::StatusOr<std::vector<kube::Json>> pods =
      target.client->List(kube::Pods(), ns);
  if (!pods.ok()) {
    return WithContext(pods.status(),
                       absl::StrCat("listing the pods of namespace ", ns));
  }
  const std::string& controller_name =
      command.run().spec().sealed_secrets().controller_name();
  std::vector<std::string> restarted;
  int running = 0;
  for (const kube::Json& pod : *pods) {
    if (!IsControllerPod(pod, controller_name)) continue;
    const std::string phase = JsonString(pod, {"status", "phase"});
    if (phase == "Succeeded" || phase == "Failed" ||
        !JsonString(pod, {"metadata", "deletionTimestamp"}).empty()) {
      continue;
    }
    ++running;
    const std::string name = JsonString(pod, {"metadata", "name"});
    std::string started = JsonString(pod, {"status", "startTime"});
    if (started.empty()) {
      started = JsonString(pod, {"metadata", "creationTimestamp"});
    }
    if (state.applied == 0 && ParseRfc3339(started) >= state.newest_ours) {
      continue;
    }
    if (command.dry_run()) {
      command.run().Plan(absl::StrCat("delete controller pod ", ns, "/", name,
                                      " so that it restarts with the keys"));
      continue;
    }
    absl::Status deleted = target.client->Delete(kube::Pods(), ns, name);
    if (!deleted.ok() && !absl::IsNotFound(deleted)) {
      return WithContext(deleted,
                         absl::StrCat("deleting controller pod ", ns, "/", name,
                                      " (restart to load the keys)"));
    }
    restarted.push_back(name);
    command.Note(absl::StrCat("restore: deleted controller pod ", ns, "/", name,
                              " (started ", started,
                              ", before the restored keys) so that it "
                              "restarts and loads them"));
  }
  if (running == 0) {
    command.Note(absl::StrCat("restore: no controller pod in ", ns,
                              " yet; it loads the keys when it starts"));
  }
  v1::SealStatus& seal =
      *command.run().cluster().mutable_status()->mutable_seal();
  seal.clear_restarted_pods();
  for (const std::string& name : restarted) seal.add_restarted_pods(name);
  return restarted;
}

// A restarted controller generates a key at once when its newest key is
// older than its renew period (720 h by default); say so.
void NoteRenewDue(SealKeystoreCommand& command,
                  const std::vector<SealingKeyPair>& keys) {
  if (keys.empty()) return;
  const absl::Time newest = keys[0].certificate.not_before();
  if (command.Now() - newest < absl::Hours(720)) return;
  command.Note(absl::StrCat(
      "note: the newest key (", keys[0].id, ") dates from ", Rfc3339(newest),
      ", older than the controller's default renew period (720h): it will "
      "generate a new key when it starts; run `seal-keystore backup` after "
      "it started"));
}

absl::Status Restore(SealKeystoreCommand& command) {
  std::optional<ControllerTarget> target;
  RETURN_IF_ERROR(command.Step("connect", [&]() -> absl::Status {
    ASSIGN_OR_RETURN(target, ConnectToController(command));
    return absl::OkStatus();
  }));
  if (!target.has_value()) return absl::OkStatus();  // pending (dry run)

  // 1. A key the controller made itself (at its start, or by renewal) is
  //    saved before anything else, so no key that sealed something is lost.
  RestoreState state;
  std::vector<SealingKeyPair> keys;
  RETURN_IF_ERROR(command.Step("backup", [&]() -> absl::Status {
    ASSIGN_OR_RETURN(std::vector<ClusterKey> cluster_keys,
                     BackupKeys(command, *target, "restore: backup first: "));
    ASSIGN_OR_RETURN(Keystore * keystore, command.keystore());
    ASSIGN_OR_RETURN(keys, LoadSealingKeyPairs(*keystore));
    if (keys.empty() && cluster_keys.empty()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "keystore ", keystore->Describe(),
          " holds no sealed-secrets key to restore; run `seal-keystore init` "
          "or `seal-keystore import`"));
    }
    for (const ClusterKey& key : cluster_keys) {
      state.in_cluster.insert(key.pair.id);
      if (!key.managed_by_us) continue;
      state.ours.insert(key.name);
      state.newest_ours = std::max(state.newest_ours, key.created);
    }
    return absl::OkStatus();
  }));
  // 2.-4. The namespace, our key Secrets, a restart of stale controllers.
  RETURN_IF_ERROR(command.Step(
      "namespace", [&] { return EnsureNamespace(command, *target); }));
  RETURN_IF_ERROR(command.Step("apply key Secrets", [&] {
    return ApplyKeySecrets(command, *target, keys, state);
  }));
  std::vector<std::string> restarted;
  RETURN_IF_ERROR(command.Step("restart controller", [&]() -> absl::Status {
    ASSIGN_OR_RETURN(restarted,
                     RestartStaleControllers(command, *target, state));
    return absl::OkStatus();
  }));
  // 5. The restarted controller may have generated a key: save it too.
  if (!restarted.empty()) {
    RETURN_IF_ERROR(command.Step("backup after restart", [&] {
      return BackupKeys(command, *target, "restore: backup after restart: ")
          .status();
    }));
  }
  NoteRenewDue(command, keys);
  *command.run()
       .cluster()
       .mutable_status()
       ->mutable_seal()
       ->mutable_updated_at() = ToTimestamp(command.Now());
  return absl::OkStatus();
}

absl::Status ClusterCommand(SealKeystoreCommand& command,
                            absl::string_view usage,
                            absl::Status (*body)(SealKeystoreCommand&)) {
  RETURN_IF_ERROR(command.RequireArgs(0, 0, usage));
  return command.Step(command.options().command, [&] { return body(command); });
}

}  // namespace

absl::Status RunBackup(SealKeystoreCommand& command) {
  return ClusterCommand(command,
                        "[--in FILE | --state FILE] [--kubeconfig FILE] "
                        "[--namespace NS]",
                        Backup);
}

absl::Status RunRestore(SealKeystoreCommand& command) {
  return ClusterCommand(command,
                        "[--in FILE | --state FILE] [--kubeconfig FILE] "
                        "[--namespace NS]",
                        Restore);
}

}  // namespace coldstart
