#include "tools/seal-keystore/sealing_commands.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "lib/base/file.h"
#include "lib/base/status_macros.h"
#include "lib/base/time_format.h"
#include "lib/cli/atomic_file.h"
#include "lib/proxmox/csi_plugin_config.h"
#include "tools/seal-keystore/sealed_secret.h"

namespace coldstart {
namespace {

namespace fs = std::filesystem;

absl::StatusOr<Certificate> UsableCertificate(SealKeystoreCommand& command,
                                              const Certificate& certificate,
                                              absl::string_view where) {
  if (certificate.not_after() <= command.Now()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the sealing certificate ", where, " expired at ",
        Rfc3339(certificate.not_after()),
        " (kubeseal refuses it too); run `seal-keystore renew-cert`"));
  }
  ASSIGN_OR_RETURN(PublicKey public_key, certificate.public_key());
  if (public_key.type() != KeyType::kRsa) {
    return absl::InvalidArgumentError(
        absl::StrCat("the sealing certificate ", where, " has no RSA key"));
  }
  return certificate;
}

// The certificate of --cert FILE; every failure is InvalidArgument naming it.
absl::StatusOr<Certificate> ReadCertificateFile(SealKeystoreCommand& command,
                                                const std::string& path) {
  ASSIGN_OR_RETURN(std::string pem, command.ReadInput(path));
  absl::StatusOr<Certificate> certificate = Certificate::FromPem(pem);
  if (!certificate.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": not a PEM certificate: ",
                     Abbreviate(certificate.status().message())));
  }
  return certificate;
}

// The SealedSecrets of `path` by "namespace/name"; empty when `path` is
// empty or (if `may_be_missing`) does not exist.
absl::StatusOr<std::map<std::string, SealedSecretObject>> ReadPrevious(
    const std::string& path, bool may_be_missing) {
  std::map<std::string, SealedSecretObject> previous;
  if (path.empty()) return previous;
  absl::StatusOr<std::string> text = ReadFile(path);
  if (may_be_missing && absl::IsNotFound(text.status())) return previous;
  if (!text.ok()) {
    return absl::InvalidArgumentError(std::string(text.status().message()));
  }
  ASSIGN_OR_RETURN(std::vector<SealedSecretDocument> documents,
                   ParseSealedSecrets(*text, path));
  for (SealedSecretDocument& document : documents) {
    previous[document.object.metadata.Describe()] = std::move(document.object);
  }
  return previous;
}

// The certificate to seal for and the keys that may open previous values.
struct SealingMaterial {
  Certificate certificate;
  std::vector<SealingKeyPair> keys;
};

absl::StatusOr<SealingMaterial> SealingMaterialFor(SealKeystoreCommand& command,
                                                   bool need_keys) {
  const std::string& cert_file = command.options().cert_file;
  if (!cert_file.empty() && !need_keys) {
    ASSIGN_OR_RETURN(Certificate certificate,
                     ReadCertificateFile(command, cert_file));
    ASSIGN_OR_RETURN(certificate,
                     UsableCertificate(command, certificate,
                                       absl::StrCat("in ", cert_file)));
    return SealingMaterial{certificate, {}};
  }
  ASSIGN_OR_RETURN(std::vector<SealingKeyPair> keys, command.RequireKeys());
  Certificate certificate = keys[0].certificate;
  std::string where = absl::StrCat("of key ", keys[0].id, " in ",
                                   command.run().keystore_spec());
  if (!cert_file.empty()) {
    ASSIGN_OR_RETURN(certificate, ReadCertificateFile(command, cert_file));
    where = absl::StrCat("in ", cert_file);
  }
  ASSIGN_OR_RETURN(certificate, UsableCertificate(command, certificate, where));
  return SealingMaterial{certificate, std::move(keys)};
}

absl::Status Seal(SealKeystoreCommand& command) {
  const SealKeystoreOptions& options = command.options();
  const std::string input = options.args.empty() ? "-" : options.args[0];
  std::optional<SealingScope> scope;
  if (!options.scope.empty()) {
    ASSIGN_OR_RETURN(scope, ParseScope(options.scope));
  }
  ASSIGN_OR_RETURN(std::string text, command.ReadInput(input));
  absl::StatusOr<std::vector<SecretObject>> secrets =
      ParseSecrets(text, input == "-" ? "<stdin>" : input);
  WipeBytes(text.data(), text.size());
  if (!secrets.ok()) return secrets.status();
  if (secrets->empty()) {
    return absl::InvalidArgumentError(absl::StrCat(input, ": no Secret"));
  }
  for (SecretObject& secret : *secrets) {
    if (secret.metadata.namespace_.empty()) {
      secret.metadata.namespace_ = options.namespace_;
    }
  }
  ASSIGN_OR_RETURN(auto previous, ReadPrevious(options.previous_file, false));
  ASSIGN_OR_RETURN(SealingMaterial material,
                   SealingMaterialFor(command, !previous.empty()));
  ASSIGN_OR_RETURN(PublicKey public_key, material.certificate.public_key());
  const std::vector<PrivateKey> open_keys = PrivateKeysOf(material.keys);
  std::string output;
  for (const SecretObject& secret : *secrets) {
    SealOptions seal_options;
    seal_options.scope = scope;
    seal_options.open_keys = open_keys;
    auto it = previous.find(secret.metadata.Describe());
    if (it != previous.end()) seal_options.previous = &it->second;
    ASSIGN_OR_RETURN(SealResult result,
                     SealSecret(secret, public_key, seal_options));
    command.Note(
        absl::StrCat(command.dry_run() ? "dry run: would seal " : "sealed ",
                     "Secret ", secret.metadata.Describe(), " (",
                     ScopeName(ScopeOfAnnotations(result.sealed.metadata)),
                     "): ", result.resealed.size(), " value(s) sealed, ",
                     result.kept.size(), " kept unchanged"));
    absl::StrAppend(&output, FormatSealedSecretYaml(result.sealed));
  }
  if (!command.dry_run()) command.run().out() << output;
  return absl::OkStatus();
}

// --- seal --batch ------------------------------------------------------------

// config.yaml of the Proxmox CSI plugin (lib/proxmox/csi_plugin_config.h)
// from the spec and the CSI token in the keystore.
absl::StatusOr<Secret> ProxmoxCsiConfig(SealKeystoreCommand& command) {
  const v1::ProxmoxSpec& proxmox = command.run().spec().proxmox();
  ASSIGN_OR_RETURN(CsiToken token, FindCsiToken(proxmox));
  absl::StatusOr<Secret> stored = command.run().Credential(
      {absl::StrCat("Proxmox CSI token ", token.id.ToString()), "", "",
       token.keystore_key});
  if (absl::IsFailedPrecondition(stored.status())) {
    return absl::FailedPreconditionError(
        absl::StrCat(stored.status().message(),
                     "; run provision-vms first (it creates the token)"));
  }
  if (!stored.ok()) return stored.status();
  ASSIGN_OR_RETURN(CsiPluginConfig config,
                   BuildCsiPluginConfig(proxmox, *stored));
  if (!config.warning.empty()) command.Note(config.warning);
  return std::move(config.config_yaml);
}

// The Secret a spec item describes, its values from the keystore or
// generated.
absl::StatusOr<SecretObject> ItemSecret(SealKeystoreCommand& command,
                                        const v1::SealItem& item,
                                        absl::string_view what) {
  SecretObject secret;
  secret.metadata.name = item.name();
  secret.metadata.namespace_ = item.namespace_();
  secret.type = item.type().empty() ? "Opaque" : item.type();
  for (const v1::SealedValue& value : item.values()) {
    Secret& data = secret.data[value.data_key()];
    if (value.has_secret()) {
      ASSIGN_OR_RETURN(
          data, command.run().Credential(
                    {absl::StrCat(what, " value ", value.data_key()), "", "",
                     value.secret().key()}));
    } else if (value.generated() == v1::GENERATED_VALUE_PROXMOX_CSI_CONFIG) {
      ASSIGN_OR_RETURN(data, ProxmoxCsiConfig(command));
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat(command.run().input().filename, ": ", what, ": value ",
                       value.data_key(),
                       " has neither a secret nor a known generated source"));
    }
  }
  return secret;
}

SealingScope ScopeOfItem(const v1::SealItem& item) {
  switch (item.scope()) {
    case v1::SEAL_SCOPE_NAMESPACE_WIDE:
      return SealingScope::kNamespaceWide;
    case v1::SEAL_SCOPE_CLUSTER_WIDE:
      return SealingScope::kClusterWide;
    default:
      return SealingScope::kStrict;
  }
}

// The GitOps checkout: --gitops_checkout, else spec.gitops.checkout relative
// to the spec file's directory.
absl::StatusOr<std::string> GitopsCheckout(SealKeystoreCommand& command) {
  if (!command.options().gitops_checkout.empty()) {
    return command.options().gitops_checkout;
  }
  const std::string& filename = command.run().input().filename;
  const std::string& checkout = command.run().spec().gitops().checkout();
  if (checkout.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(filename, ": spec.gitops.checkout is empty"));
  }
  const fs::path base = filename == "<stdin>" || filename == "-"
                            ? fs::current_path()
                            : fs::path(filename).parent_path();
  return (base / checkout).lexically_normal().string();
}

struct BatchContext {
  std::string checkout;
  std::optional<PublicKey> public_key;
  std::vector<PrivateKey> open_keys;
  std::string certificate_sha256;
  std::map<std::string, v1::SealedItemStatus> old_status;  // by output_path
};

// Seals one item into its file (unless unchanged) and returns its status.
absl::StatusOr<v1::SealedItemStatus> SealItem(SealKeystoreCommand& command,
                                              const BatchContext& batch,
                                              const v1::SealItem& item,
                                              absl::string_view what) {
  ASSIGN_OR_RETURN(SecretObject secret, ItemSecret(command, item, what));
  const std::string path =
      (fs::path(batch.checkout) / item.output_path()).string();
  ASSIGN_OR_RETURN(auto previous, ReadPrevious(path, /*may_be_missing=*/true));
  SealOptions seal_options;
  seal_options.scope = ScopeOfItem(item);
  seal_options.open_keys = batch.open_keys;
  auto it = previous.find(secret.metadata.Describe());
  if (it != previous.end()) seal_options.previous = &it->second;
  ASSIGN_OR_RETURN(SealResult result,
                   SealSecret(secret, *batch.public_key, seal_options));

  v1::SealedItemStatus status;
  auto old = batch.old_status.find(item.output_path());
  if (result.resealed.empty() && old != batch.old_status.end()) {
    status = old->second;
  } else {
    status.set_certificate_sha256(batch.certificate_sha256);
    *status.mutable_sealed_at() = ToTimestamp(command.Now());
  }
  status.set_name(item.name());
  status.set_namespace_(item.namespace_());
  status.set_output_path(item.output_path());

  const std::string yaml = FormatSealedSecretYaml(result.sealed);
  const std::string counts =
      absl::StrCat(result.resealed.size(), " value(s) sealed, ",
                   result.kept.size(), " kept");
  absl::StatusOr<std::string> existing = ReadFile(path);
  if (existing.ok() && *existing == yaml) {
    command.Note(absl::StrCat(what, ": ", item.output_path(),
                              " is up to date (ciphertext kept)"));
    return status;
  }
  if (command.dry_run()) {
    command.run().Plan(absl::StrCat("write ", path, " (", counts, ")"));
    return status;
  }
  std::error_code error;
  fs::create_directories(fs::path(path).parent_path(), error);
  if (error) {
    return absl::FailedPreconditionError(
        absl::StrCat(path, ": cannot create its directory: ", error.message()));
  }
  RETURN_IF_ERROR(WriteFileAtomically(path, yaml));
  command.Note(absl::StrCat(what, ": wrote ", path, " (", counts, ")"));
  return status;
}

absl::Status SealBatch(SealKeystoreCommand& command) {
  v1::Cluster& cluster = command.run().cluster();
  BatchContext batch;
  ASSIGN_OR_RETURN(batch.checkout, GitopsCheckout(command));
  ASSIGN_OR_RETURN(SealingMaterial material,
                   SealingMaterialFor(command, /*need_keys=*/true));
  ASSIGN_OR_RETURN(batch.public_key, material.certificate.public_key());
  batch.open_keys = PrivateKeysOf(material.keys);
  batch.certificate_sha256 = CertificateSha256Hex(material.certificate);
  for (const v1::SealedItemStatus& item : cluster.status().seal().items()) {
    batch.old_status[item.output_path()] = item;
  }
  v1::SealStatus status = cluster.status().seal();
  status.clear_items();
  for (const v1::SealItem& item : cluster.spec().sealed_secrets().items()) {
    const std::string what =
        absl::StrCat("item ", item.namespace_(), "/", item.name());
    RETURN_IF_ERROR(command.Step(
        absl::StrCat("seal ", item.namespace_(), "/", item.name()), [&] {
          ASSIGN_OR_RETURN(*status.add_items(),
                           SealItem(command, batch, item, what));
          return absl::OkStatus();
        }));
  }
  status.set_certificate_sha256(batch.certificate_sha256);
  *status.mutable_updated_at() = ToTimestamp(command.Now());
  *cluster.mutable_status()->mutable_seal() = std::move(status);
  return absl::OkStatus();
}

// --- unseal, check -----------------------------------------------------------

absl::Status Unseal(SealKeystoreCommand& command) {
  const SealKeystoreOptions& options = command.options();
  const std::string input = options.args.empty() ? "-" : options.args[0];
  ASSIGN_OR_RETURN(std::string text, command.ReadInput(input));
  ASSIGN_OR_RETURN(std::vector<SealedSecretDocument> documents,
                   ParseSealedSecrets(text, input == "-" ? "<stdin>" : input));
  if (documents.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(input, ": no SealedSecret"));
  }
  ASSIGN_OR_RETURN(std::vector<SealingKeyPair> keys, command.RequireKeys());
  const std::vector<PrivateKey> private_keys = PrivateKeysOf(keys);
  Secret output;
  for (const SealedSecretDocument& document : documents) {
    absl::StatusOr<SecretObject> secret =
        UnsealSecret(document.object, private_keys);
    if (!secret.ok()) {
      return absl::Status(
          secret.status().code(),
          absl::StrCat(input, ":", document.line, ": ",
                       secret.status().message(), " (tried ", keys.size(),
                       " key(s) from ", command.run().keystore_spec(), ")"));
    }
    if (command.dry_run()) {
      command.Note(absl::StrCat(
          "dry run: SealedSecret ", document.object.metadata.Describe(),
          " decrypts (", secret->data.size(), " value(s)); not printed"));
      continue;
    }
    std::string yaml = FormatSecretYaml(*secret);
    output = Secret(absl::StrCat(output.Reveal(), yaml));
    WipeBytes(yaml.data(), yaml.size());
  }
  command.run().out() << output.Reveal();
  return absl::OkStatus();
}

bool IsManifest(const fs::path& path) {
  const std::string ext = path.extension().string();
  return ext == ".yaml" || ext == ".yml" || ext == ".json";
}

// The manifests under `root`, sorted; dot-directories are skipped.
absl::StatusOr<std::vector<fs::path>> ManifestsUnder(const fs::path& root) {
  std::error_code error;
  if (!fs::is_directory(root, error)) {
    return absl::InvalidArgumentError(
        absl::StrCat(root.string(), ": not a directory"));
  }
  std::vector<fs::path> files;
  for (auto it = fs::recursive_directory_iterator(root, error);
       !error && it != fs::recursive_directory_iterator();
       it.increment(error)) {
    const std::string name = it->path().filename().string();
    if (it->is_directory() && absl::StartsWith(name, ".")) {
      it.disable_recursion_pending();
      continue;
    }
    if (it->is_regular_file() && IsManifest(it->path())) {
      files.push_back(it->path());
    }
  }
  if (error) {
    return absl::FailedPreconditionError(
        absl::StrCat(root.string(), ": cannot list: ", error.message()));
  }
  std::sort(files.begin(), files.end());
  return files;
}

// "FILE:LINE: SealedSecret NS/NAME (scope): does not decrypt: ..." when a
// value of `document` does not open; empty when all do.
std::string DecryptFailure(const std::string& shown,
                           const SealedSecretDocument& document,
                           const std::vector<PrivateKey>& private_keys) {
  const SealedSecretObject& sealed = document.object;
  const std::string label =
      ScopeLabel(ScopeOfAnnotations(sealed.metadata), sealed.metadata);
  std::map<std::string, std::string> values = sealed.encrypted_data;
  if (!sealed.legacy_data.empty()) values["(spec.data)"] = sealed.legacy_data;
  std::vector<std::string> bad;
  for (const auto& [key, blob] : values) {
    absl::StatusOr<Secret> opened = OpenSealedValue(blob, label, private_keys);
    if (!opened.ok()) {
      bad.push_back(absl::StrCat(key, " (", opened.status().message(), ")"));
    }
  }
  if (bad.empty()) return "";
  return absl::StrCat(shown, ":", document.line, ": SealedSecret ",
                      sealed.metadata.Describe(), " (",
                      ScopeName(ScopeOfAnnotations(sealed.metadata)),
                      "): does not decrypt: ", absl::StrJoin(bad, ", "));
}

absl::Status Check(SealKeystoreCommand& command) {
  const fs::path root = command.options().args[0];
  ASSIGN_OR_RETURN(std::vector<fs::path> files, ManifestsUnder(root));
  ASSIGN_OR_RETURN(std::vector<SealingKeyPair> keys, command.RequireKeys());
  const std::vector<PrivateKey> private_keys = PrivateKeysOf(keys);
  int total = 0;
  std::vector<std::string> failures;
  for (const fs::path& file : files) {
    const std::string shown = file.lexically_relative(root).string();
    ASSIGN_OR_RETURN(std::string text, ReadInputFile(file.string()));
    absl::StatusOr<std::vector<SealedSecretDocument>> documents =
        ParseSealedSecrets(text, shown);
    if (!documents.ok()) {
      if (absl::StrContains(text, "SealedSecret")) {
        failures.push_back(std::string(documents.status().message()));
      }
      continue;
    }
    for (const SealedSecretDocument& document : *documents) {
      ++total;
      std::string failure = DecryptFailure(shown, document, private_keys);
      if (!failure.empty()) failures.push_back(std::move(failure));
    }
  }
  for (const std::string& failure : failures) {
    command.run().out() << failure << "\n";
  }
  const std::string keys_in =
      absl::StrCat(keys.size(), " key(s) in ", command.run().keystore_spec());
  if (!failures.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        failures.size(), " of ", total, " SealedSecret(s) under ",
        root.string(), " do not decrypt with the ", keys_in,
        "; import the key that sealed them (`seal-keystore import`) or "
        "re-seal them, before a rebuild orphans them"));
  }
  command.Note(absl::StrCat("all ", total, " SealedSecret(s) in ", files.size(),
                            " file(s) under ", root.string(),
                            " decrypt with the ", keys_in));
  return absl::OkStatus();
}

// Checks the arguments, then runs `body` as the step `step`.
absl::Status Sealing(SealKeystoreCommand& command, size_t min, size_t max,
                     absl::string_view usage, absl::string_view step,
                     absl::Status (*body)(SealKeystoreCommand&)) {
  RETURN_IF_ERROR(command.RequireArgs(min, max, usage));
  return command.Step(step, [&] { return body(command); });
}

}  // namespace

absl::Status RunSeal(SealKeystoreCommand& command) {
  RETURN_IF_ERROR(command.RequireNoCluster());
  return Sealing(command, 0, 1,
                 "[FILE|-] [--scope S] [--namespace NS] [--cert PEM] "
                 "[--previous SEALED.yaml]",
                 "seal", Seal);
}

absl::Status RunSealBatch(SealKeystoreCommand& command) {
  return Sealing(command, 0, 0, "--batch [--in FILE | --state FILE]",
                 "seal --batch", SealBatch);
}

absl::Status RunUnseal(SealKeystoreCommand& command) {
  RETURN_IF_ERROR(command.RequireNoCluster());
  return Sealing(command, 0, 1, "[FILE|-]", "unseal", Unseal);
}

absl::Status RunCheck(SealKeystoreCommand& command) {
  RETURN_IF_ERROR(command.RequireNoCluster());
  return Sealing(command, 1, 1, "DIR", "check", Check);
}

}  // namespace coldstart
