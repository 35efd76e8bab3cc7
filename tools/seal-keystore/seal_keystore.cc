#include "tools/seal-keystore/seal_keystore.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "google/protobuf/timestamp.pb.h"
#include "lib/base/status_macros.h"
#include "lib/cli/atomic_file.h"
#include "lib/kube/cluster_kubeconfig.h"
#include "lib/kube/kube_client.h"
#include "lib/kube/kube_config.h"
#include "tools/seal-keystore/sealed_secret.h"

namespace coldstart {
namespace {

namespace fs = std::filesystem;

std::string CertificateSha256Hex(const Certificate& certificate) {
  return HexEncode(certificate.Sha256Fingerprint());
}

std::string Rfc3339(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
}

std::string DescribeKey(const SealingKeyPair& pair) {
  return absl::StrCat("key ", pair.id, " (", pair.certificate.SubjectString(),
                      ", not before ", Rfc3339(pair.certificate.not_before()),
                      ", not after ", Rfc3339(pair.certificate.not_after()),
                      ")");
}

absl::StatusOr<std::string> ReadFile(const std::string& path,
                                     std::istream* stdin_stream) {
  std::stringstream buffer;
  if (path.empty() || path == "-") {
    if (stdin_stream == nullptr) {
      return absl::InvalidArgumentError("no standard input");
    }
    buffer << stdin_stream->rdbuf();
    return buffer.str();
  }
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": cannot open for reading"));
  }
  buffer << file.rdbuf();
  return buffer.str();
}

// A run's shared pieces.
class Run {
 public:
  Run(const SealKeystoreOptions& options, const SealKeystoreIo& io,
      std::unique_ptr<Events> events)
      : options_(options), io_(io), events_(std::move(events)) {}

  absl::Time Now() const {
    return options_.clock != nullptr ? options_.clock->Now() : absl::Now();
  }
  void Note(absl::string_view message) { events_->Note(message); }
  std::ostream& out() { return *io_.out; }
  std::istream* in() { return io_.in; }
  const SealKeystoreOptions& options() const { return options_; }
  bool dry_run() const { return options_.common.dry_run; }

  absl::Status OpenKeystoreFor(absl::string_view spec_keystore) {
    const std::string spec =
        ResolveKeystoreSpec(options_.common.keystore, spec_keystore);
    ASSIGN_OR_RETURN(keystore_, OpenKeystore(spec));
    return absl::OkStatus();
  }
  Keystore& keystore() { return *keystore_; }

  // The keystore's keys; FailedPrecondition when there are none.
  absl::StatusOr<std::vector<SealingKeyPair>> RequireKeys() {
    ASSIGN_OR_RETURN(std::vector<SealingKeyPair> keys,
                     LoadSealingKeyPairs(*keystore_));
    if (keys.empty()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "keystore ", keystore_->Describe(),
          " holds no sealed-secrets key; run `seal-keystore init` or "
          "`seal-keystore import`"));
    }
    return keys;
  }

  absl::StatusOr<Certificate> IssueSealingCertificate(const PrivateKey& key) {
    CertificateTemplate spec;
    spec.common_name = options_.common_name;
    spec.is_ca = true;
    spec.key_usage = kEncipherOnly;
    spec.not_before = Now();
    spec.not_after = spec.not_before + options_.validity;
    return IssueCertificate(spec, key.public_key(), key, nullptr);
  }

 private:
  const SealKeystoreOptions& options_;
  const SealKeystoreIo& io_;
  std::unique_ptr<Events> events_;
  std::unique_ptr<Keystore> keystore_;
};

std::vector<PrivateKey> PrivateKeysOf(const std::vector<SealingKeyPair>& keys) {
  std::vector<PrivateKey> result;
  for (const SealingKeyPair& pair : keys) result.push_back(pair.key);
  return result;
}

absl::Status RequireArgs(const SealKeystoreOptions& options, size_t min,
                         size_t max, absl::string_view usage) {
  if (options.args.size() < min || options.args.size() > max) {
    return absl::InvalidArgumentError(
        absl::StrCat("usage: seal-keystore ", options.command, " ", usage));
  }
  return absl::OkStatus();
}

absl::Status NoClusterFlags(const SealKeystoreOptions& options) {
  if (!options.common.in.empty() || !options.common.state.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "seal-keystore ", options.command,
        " reads no Cluster; --in/--state are for seal --batch, backup and "
        "restore"));
  }
  return absl::OkStatus();
}

// --- init ------------------------------------------------------------------

absl::Status Init(Run& run) {
  RETURN_IF_ERROR(NoClusterFlags(run.options()));
  RETURN_IF_ERROR(RequireArgs(run.options(), 0, 0, "init [--validity 87600h]"));
  RETURN_IF_ERROR(run.OpenKeystoreFor(""));
  ASSIGN_OR_RETURN(std::vector<SealingKeyPair> keys,
                   LoadSealingKeyPairs(run.keystore()));
  if (!keys.empty()) {
    run.Note(absl::StrCat("keystore ", run.keystore().Describe(),
                          " already holds ", keys.size(),
                          " sealing key(s), newest ", DescribeKey(keys[0]),
                          "; nothing to do (init never replaces a key)"));
    return absl::OkStatus();
  }
  if (run.options().validity <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--validity must be positive");
  }
  if (run.dry_run()) {
    run.Note(absl::StrCat("dry run: would generate an RSA-",
                          run.options().rsa_bits,
                          " sealing key with a self-signed certificate CN=",
                          run.options().common_name, " valid until ",
                          Rfc3339(run.Now() + run.options().validity), " in ",
                          run.keystore().Describe()));
    return absl::OkStatus();
  }
  ASSIGN_OR_RETURN(PrivateKey key,
                   PrivateKey::GenerateRsa(run.options().rsa_bits));
  ASSIGN_OR_RETURN(Certificate certificate, run.IssueSealingCertificate(key));
  ASSIGN_OR_RETURN(Secret pem, key.ToPem(PrivateKeyPem::kTalos));
  SealingKey stored{std::move(pem), certificate.ToPem()};
  ASSIGN_OR_RETURN(SealingKeyPair pair,
                   CheckSealingKey(std::move(stored), "generated key"));
  RETURN_IF_ERROR(AddSealingKey(run.keystore(), pair.stored));
  run.Note(absl::StrCat("generated sealing ", DescribeKey(pair), " in ",
                        run.keystore().Describe(), "; certificate SHA-256 ",
                        CertificateSha256Hex(pair.certificate)));
  return absl::OkStatus();
}

// --- import ----------------------------------------------------------------

struct PemBlock {
  std::string type;
  std::string text;  // The whole block, BEGIN to END line.
};

std::vector<PemBlock> SplitPem(absl::string_view text) {
  std::vector<PemBlock> blocks;
  size_t pos = 0;
  while ((pos = text.find("-----BEGIN ", pos)) != absl::string_view::npos) {
    const size_t type_end = text.find("-----", pos + 11);
    if (type_end == absl::string_view::npos) break;
    const std::string type(text.substr(pos + 11, type_end - pos - 11));
    const std::string end_marker = absl::StrCat("-----END ", type, "-----");
    const size_t end = text.find(end_marker, type_end);
    if (end == absl::string_view::npos) break;
    blocks.push_back(
        {type,
         std::string(text.substr(pos, end + end_marker.size() - pos)) + "\n"});
    pos = end + end_marker.size();
  }
  return blocks;
}

absl::Status Import(Run& run) {
  RETURN_IF_ERROR(NoClusterFlags(run.options()));
  RETURN_IF_ERROR(RequireArgs(run.options(), 1, 1000,
                              "import FILE... (PEM key/certificate files or "
                              "key Secrets as YAML/JSON)"));
  std::vector<SealingKeyPair> incoming;
  std::vector<PrivateKey> pem_keys;
  std::vector<Secret> pem_key_texts;
  std::vector<Certificate> pem_certificates;
  for (const std::string& path : run.options().args) {
    ASSIGN_OR_RETURN(std::string text, ReadFile(path, nullptr));
    Secret content(std::move(text));
    std::vector<PemBlock> blocks = SplitPem(content.Reveal());
    if (blocks.empty()) {
      ASSIGN_OR_RETURN(std::vector<KeySecret> secrets,
                       ParseKeySecrets(content.Reveal(), path));
      if (secrets.empty()) {
        return absl::InvalidArgumentError(absl::StrCat(
            path,
            ": neither PEM nor a sealed-secrets key Secret (a Secret "
            "labelled ",
            kSealingKeyLabel, " with tls.crt and tls.key)"));
      }
      for (KeySecret& secret : secrets) {
        ASSIGN_OR_RETURN(
            SealingKeyPair pair,
            CheckSealingKey(
                SealingKey{std::move(secret.private_key_pem),
                           std::move(secret.certificate_pem)},
                absl::StrCat(path, ": Secret ", secret.metadata.Describe())));
        incoming.push_back(std::move(pair));
      }
      continue;
    }
    for (PemBlock& block : blocks) {
      if (block.type == "CERTIFICATE") {
        ASSIGN_OR_RETURN(Certificate certificate,
                         Certificate::FromPem(block.text));
        pem_certificates.push_back(std::move(certificate));
      } else if (absl::EndsWith(block.type, "PRIVATE KEY")) {
        Secret pem(std::move(block.text));
        absl::StatusOr<PrivateKey> key = PrivateKey::FromPem(pem);
        if (!key.ok() || key->type() != KeyType::kRsa) {
          return absl::InvalidArgumentError(
              absl::StrCat(path, ": a ", block.type,
                           " block that is not a readable RSA private key"));
        }
        pem_keys.push_back(*key);
        pem_key_texts.push_back(std::move(pem));
      } else {
        WipeBytes(block.text.data(), block.text.size());
      }
    }
  }
  // Pair PEM keys with certificates by public key; a key without one gets a
  // fresh self-signed certificate.
  std::vector<bool> certificate_used(pem_certificates.size(), false);
  for (size_t i = 0; i < pem_keys.size(); ++i) {
    std::optional<Certificate> match;
    for (size_t j = 0; j < pem_certificates.size(); ++j) {
      absl::StatusOr<PublicKey> public_key = pem_certificates[j].public_key();
      if (public_key.ok() && *public_key == pem_keys[i].public_key()) {
        if (!match.has_value() ||
            pem_certificates[j].not_after() > match->not_after()) {
          match = pem_certificates[j];
        }
        certificate_used[j] = true;
      }
    }
    if (!match.has_value()) {
      ASSIGN_OR_RETURN(match, run.IssueSealingCertificate(pem_keys[i]));
      run.Note(
          absl::StrCat("a private key had no certificate among the "
                       "inputs; issued a self-signed one, CN=",
                       run.options().common_name));
    }
    ASSIGN_OR_RETURN(
        SealingKeyPair pair,
        CheckSealingKey(SealingKey{std::move(pem_key_texts[i]), match->ToPem()},
                        "PEM input"));
    incoming.push_back(std::move(pair));
  }
  for (size_t j = 0; j < pem_certificates.size(); ++j) {
    if (!certificate_used[j]) {
      return absl::InvalidArgumentError(
          absl::StrCat("certificate ", pem_certificates[j].SubjectString(),
                       " has no private key among the inputs"));
    }
  }
  if (incoming.empty()) {
    return absl::InvalidArgumentError("no private key in the inputs");
  }
  RETURN_IF_ERROR(run.OpenKeystoreFor(""));
  ASSIGN_OR_RETURN(std::vector<std::string> added,
                   MergeSealingKeys(run.keystore(), incoming, run.dry_run()));
  run.Note(absl::StrCat(run.dry_run() ? "dry run: would import " : "imported ",
                        added.size(), " new key(s)", added.empty() ? "" : ": ",
                        absl::StrJoin(added, ", "), "; ",
                        incoming.size() - added.size(), " already in ",
                        run.keystore().Describe()));
  return absl::OkStatus();
}

// --- cert, renew-cert --------------------------------------------------------

absl::Status Cert(Run& run) {
  RETURN_IF_ERROR(NoClusterFlags(run.options()));
  RETURN_IF_ERROR(RequireArgs(run.options(), 0, 0, "cert"));
  RETURN_IF_ERROR(run.OpenKeystoreFor(""));
  ASSIGN_OR_RETURN(std::vector<SealingKeyPair> keys, run.RequireKeys());
  if (keys[0].certificate.not_after() <= run.Now()) {
    run.Note(absl::StrCat("warning: the certificate expired at ",
                          Rfc3339(keys[0].certificate.not_after()),
                          "; kubeseal refuses it; run `seal-keystore "
                          "renew-cert`"));
  }
  run.out() << keys[0].certificate.ToPem();
  return absl::OkStatus();
}

absl::Status RenewCert(Run& run) {
  RETURN_IF_ERROR(NoClusterFlags(run.options()));
  RETURN_IF_ERROR(RequireArgs(run.options(), 0, 0,
                              "renew-cert [--renew_before 720h] [--force]"));
  RETURN_IF_ERROR(run.OpenKeystoreFor(""));
  ASSIGN_OR_RETURN(std::vector<SealingKeyPair> keys, run.RequireKeys());
  const SealingKeyPair& newest = keys[0];
  const absl::Time expires = newest.certificate.not_after();
  if (!run.options().force &&
      expires - run.Now() > run.options().renew_before) {
    run.Note(absl::StrCat("certificate of ", newest.id, " valid until ",
                          Rfc3339(expires), "; nothing to do"));
    return absl::OkStatus();
  }
  if (run.dry_run()) {
    run.Note(absl::StrCat("dry run: would re-issue the certificate of ",
                          newest.id, " (expires ", Rfc3339(expires), ") for ",
                          absl::FormatDuration(run.options().validity)));
    return absl::OkStatus();
  }
  ASSIGN_OR_RETURN(Certificate renewed,
                   run.IssueSealingCertificate(newest.key));
  RETURN_IF_ERROR(run.keystore().Store(
      SealingKeyAttributes(SealingKeyPart::kCertificate),
      "sealed-secrets certificate", Secret::FromView(renewed.ToPem())));
  run.Note(absl::StrCat("re-issued the certificate of ", newest.id,
                        " from the same key, valid until ",
                        Rfc3339(renewed.not_after()), "; SHA-256 ",
                        CertificateSha256Hex(renewed)));
  return absl::OkStatus();
}

// --- seal ------------------------------------------------------------------

absl::StatusOr<Certificate> UsableCertificate(Run& run,
                                              const Certificate& certificate,
                                              absl::string_view where) {
  if (certificate.not_after() <= run.Now()) {
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

// Reads FILE or (for "-") the run's standard input.
absl::StatusOr<std::string> ReadInput(Run& run, const std::string& path);

// The SealedSecrets of `path` by "namespace/name"; empty when `path` is
// empty or (if `may_be_missing`) does not exist.
absl::StatusOr<std::map<std::string, SealedSecretObject>> ReadPrevious(
    const std::string& path, bool may_be_missing) {
  std::map<std::string, SealedSecretObject> previous;
  if (path.empty()) return previous;
  std::error_code error;
  if (may_be_missing && !fs::exists(path, error)) return previous;
  ASSIGN_OR_RETURN(std::string text, ReadFile(path, nullptr));
  ASSIGN_OR_RETURN(std::vector<SealedSecretDocument> documents,
                   ParseSealedSecrets(text, path));
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

absl::StatusOr<SealingMaterial> SealingMaterialFor(
    Run& run, absl::string_view spec_keystore, bool need_keys) {
  if (!run.options().cert_file.empty() && !need_keys) {
    ASSIGN_OR_RETURN(std::string pem,
                     ReadFile(run.options().cert_file, nullptr));
    ASSIGN_OR_RETURN(Certificate certificate, Certificate::FromPem(pem));
    ASSIGN_OR_RETURN(
        certificate,
        UsableCertificate(run, certificate,
                          absl::StrCat("in ", run.options().cert_file)));
    return SealingMaterial{certificate, {}};
  }
  RETURN_IF_ERROR(run.OpenKeystoreFor(spec_keystore));
  ASSIGN_OR_RETURN(std::vector<SealingKeyPair> keys, run.RequireKeys());
  Certificate certificate = keys[0].certificate;
  if (!run.options().cert_file.empty()) {
    ASSIGN_OR_RETURN(std::string pem,
                     ReadFile(run.options().cert_file, nullptr));
    ASSIGN_OR_RETURN(certificate, Certificate::FromPem(pem));
  }
  ASSIGN_OR_RETURN(certificate,
                   UsableCertificate(run, certificate,
                                     absl::StrCat("of key ", keys[0].id, " in ",
                                                  run.keystore().Describe())));
  return SealingMaterial{certificate, std::move(keys)};
}

absl::Status SealOne(Run& run) {
  RETURN_IF_ERROR(NoClusterFlags(run.options()));
  RETURN_IF_ERROR(RequireArgs(run.options(), 0, 1,
                              "seal [FILE|-] [--scope S] [--namespace NS] "
                              "[--cert PEM] [--previous SEALED.yaml]"));
  const std::string input =
      run.options().args.empty() ? "-" : run.options().args[0];
  std::optional<SealingScope> scope;
  if (!run.options().scope.empty()) {
    ASSIGN_OR_RETURN(scope, ParseScope(run.options().scope));
  }
  ASSIGN_OR_RETURN(std::string text, ReadInput(run, input));
  absl::StatusOr<std::vector<SecretObject>> secrets =
      ParseSecrets(text, input == "-" ? "<stdin>" : input);
  WipeBytes(text.data(), text.size());
  if (!secrets.ok()) return secrets.status();
  if (secrets->empty()) {
    return absl::InvalidArgumentError(absl::StrCat(input, ": no Secret"));
  }
  for (SecretObject& secret : *secrets) {
    if (secret.metadata.namespace_.empty()) {
      secret.metadata.namespace_ = run.options().namespace_;
    }
  }
  ASSIGN_OR_RETURN(auto previous,
                   ReadPrevious(run.options().previous_file, false));
  ASSIGN_OR_RETURN(SealingMaterial material,
                   SealingMaterialFor(run, "", !previous.empty()));
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
    run.Note(absl::StrCat(run.dry_run() ? "dry run: would seal " : "sealed ",
                          "Secret ", secret.metadata.Describe(), " (",
                          ScopeName(ScopeOfAnnotations(result.sealed.metadata)),
                          "): ", result.resealed.size(), " value(s) sealed, ",
                          result.kept.size(), " kept unchanged"));
    absl::StrAppend(&output, FormatSealedSecretYaml(result.sealed));
  }
  if (!run.dry_run()) run.out() << output;
  return absl::OkStatus();
}

// --- seal --batch ------------------------------------------------------------

// The user whose ACLs grant a role named like "*csi*" (else whose user id
// names csi) and its first token.
absl::StatusOr<std::pair<const v1::ProxmoxUser*, const v1::ProxmoxToken*>>
CsiToken(const v1::ClusterSpec& spec) {
  auto has_csi = [](absl::string_view text) {
    return absl::StrContains(absl::AsciiStrToLower(text), "csi");
  };
  for (int pass = 0; pass < 2; ++pass) {
    for (const v1::ProxmoxUser& user : spec.proxmox().users()) {
      bool match = pass == 1 && has_csi(user.userid());
      for (const v1::ProxmoxAcl& acl : user.acls()) {
        if (pass == 0 && has_csi(acl.role())) match = true;
      }
      if (match && user.tokens_size() > 0) {
        return std::make_pair(&user, &user.tokens(0));
      }
    }
  }
  return absl::InvalidArgumentError(
      "spec.proxmox.users: no user with a token is granted a CSI role "
      "(needed for GENERATED_VALUE_PROXMOX_CSI_CONFIG)");
}

// The Proxmox CSI plugin's config.yaml (the shape of the plugin's docs).
absl::StatusOr<Secret> ProxmoxCsiConfig(Run& run, const v1::ClusterSpec& spec) {
  ASSIGN_OR_RETURN(auto user_token, CsiToken(spec));
  const auto& [user, token] = user_token;
  if (token->secret().key().empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("spec.proxmox.users[", user->userid(), "].tokens[",
                     token->token_id(), "].secret: no keystore item named"));
  }
  absl::StatusOr<Secret> stored = run.keystore().Lookup(
      ClusterSecretAttributes(spec.name(), token->secret().key()));
  if (absl::IsNotFound(stored.status())) {
    return absl::FailedPreconditionError(absl::StrCat(
        "keystore ", run.keystore().Describe(),
        " has no item cluster=", spec.name(), " key=", token->secret().key(),
        " (the CSI token secret); run provision-vms first"));
  }
  if (!stored.ok()) return stored.status();
  // The item holds "user@realm!tokenid=secret" or only the secret.
  absl::string_view value = stored->Reveal();
  const size_t equals = value.find('=');
  if (equals != absl::string_view::npos &&
      value.substr(0, equals).find('!') != absl::string_view::npos) {
    value.remove_prefix(equals + 1);
  }
  value = absl::StripAsciiWhitespace(value);
  std::string config =
      absl::StrCat("clusters:\n- url: ", spec.proxmox().endpoint(),
                   "\n  token_id: ", user->userid(), "!", token->token_id(),
                   "\n  token_secret: ");
  absl::StrAppend(&config, value);
  absl::StrAppend(&config, "\n  region: ", spec.proxmox().region(), "\n");
  return Secret(std::move(config));
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

void SetTimestamp(absl::Time t, google::protobuf::Timestamp* timestamp) {
  timestamp->set_seconds(absl::ToUnixSeconds(t));
  timestamp->set_nanos(0);
}

absl::Status SealBatch(Run& run) {
  RETURN_IF_ERROR(RequireArgs(run.options(), 0, 0,
                              "seal --batch [--in FILE | --state FILE]"));
  ASSIGN_OR_RETURN(ClusterSession session,
                   ClusterSession::Open(run.options().common));
  v1::Cluster cluster = session.input().cluster;
  const v1::ClusterSpec& spec = cluster.spec();
  const std::string& filename = session.input().filename;
  std::string checkout = run.options().gitops_checkout;
  if (checkout.empty()) {
    if (spec.gitops().checkout().empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(filename, ": spec.gitops.checkout is empty"));
    }
    fs::path base = filename == "<stdin>" || filename == "-"
                        ? fs::current_path()
                        : fs::path(filename).parent_path();
    checkout = (base / spec.gitops().checkout()).lexically_normal().string();
  }
  ASSIGN_OR_RETURN(SealingMaterial material,
                   SealingMaterialFor(run, spec.sealed_secrets().keystore(),
                                      /*need_keys=*/true));
  ASSIGN_OR_RETURN(PublicKey public_key, material.certificate.public_key());
  const std::vector<PrivateKey> open_keys = PrivateKeysOf(material.keys);
  const std::string sealing_sha = CertificateSha256Hex(material.certificate);

  std::map<std::string, v1::SealedItemStatus> old_status;
  for (const v1::SealedItemStatus& item : cluster.status().seal().items()) {
    old_status[item.output_path()] = item;
  }
  v1::SealStatus status = cluster.status().seal();
  status.clear_items();
  for (const v1::SealItem& item : spec.sealed_secrets().items()) {
    const std::string what =
        absl::StrCat("item ", item.namespace_(), "/", item.name());
    if (item.output_path().empty() || item.name().empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(filename, ": spec.sealed_secrets ", what,
                       ": name and output_path are required"));
    }
    SecretObject secret;
    secret.metadata.name = item.name();
    secret.metadata.namespace_ = item.namespace_();
    secret.type = item.type().empty() ? "Opaque" : item.type();
    for (const v1::SealedValue& value : item.values()) {
      if (value.has_secret()) {
        absl::StatusOr<Secret> stored = run.keystore().Lookup(
            ClusterSecretAttributes(spec.name(), value.secret().key()));
        if (absl::IsNotFound(stored.status())) {
          return absl::FailedPreconditionError(
              absl::StrCat(what, ": keystore ", run.keystore().Describe(),
                           " has no item cluster=", spec.name(),
                           " key=", value.secret().key()));
        }
        if (!stored.ok()) return stored.status();
        secret.data[value.data_key()] = *std::move(stored);
      } else if (value.generated() == v1::GENERATED_VALUE_PROXMOX_CSI_CONFIG) {
        ASSIGN_OR_RETURN(secret.data[value.data_key()],
                         ProxmoxCsiConfig(run, spec));
      } else {
        return absl::InvalidArgumentError(
            absl::StrCat(filename, ": ", what, ": value ", value.data_key(),
                         " has neither a secret nor a known generated source"));
      }
    }
    const std::string path = (fs::path(checkout) / item.output_path()).string();
    ASSIGN_OR_RETURN(auto previous,
                     ReadPrevious(path, /*may_be_missing=*/true));
    SealOptions seal_options;
    seal_options.scope = ScopeOfItem(item);
    seal_options.open_keys = open_keys;
    auto it = previous.find(secret.metadata.Describe());
    if (it != previous.end()) seal_options.previous = &it->second;
    ASSIGN_OR_RETURN(SealResult result,
                     SealSecret(secret, public_key, seal_options));
    const std::string yaml = FormatSealedSecretYaml(result.sealed);
    std::string existing;
    if (absl::StatusOr<std::string> text = ReadFile(path, nullptr); text.ok()) {
      existing = *std::move(text);
    }
    const bool unchanged = existing == yaml;
    v1::SealedItemStatus& item_status = *status.add_items();
    item_status.set_name(item.name());
    item_status.set_namespace_(item.namespace_());
    item_status.set_output_path(item.output_path());
    if (result.resealed.empty() && old_status.count(item.output_path())) {
      item_status = old_status[item.output_path()];
      item_status.set_name(item.name());
      item_status.set_namespace_(item.namespace_());
    } else {
      item_status.set_certificate_sha256(sealing_sha);
      SetTimestamp(run.Now(), item_status.mutable_sealed_at());
    }
    if (unchanged) {
      run.Note(absl::StrCat(what, ": ", item.output_path(),
                            " is up to date (ciphertext kept)"));
      continue;
    }
    if (run.dry_run()) {
      run.Note(absl::StrCat("dry run: would write ", path, " (",
                            result.resealed.size(), " value(s) sealed, ",
                            result.kept.size(), " kept)"));
      continue;
    }
    std::error_code error;
    fs::create_directories(fs::path(path).parent_path(), error);
    if (error) {
      return absl::FailedPreconditionError(absl::StrCat(
          path, ": cannot create its directory: ", error.message()));
    }
    RETURN_IF_ERROR(WriteFileAtomically(path, yaml));
    run.Note(absl::StrCat(what, ": wrote ", path, " (", result.resealed.size(),
                          " value(s) sealed, ", result.kept.size(), " kept)"));
  }
  status.set_certificate_sha256(sealing_sha);
  SetTimestamp(run.Now(), status.mutable_updated_at());
  if (run.dry_run()) {
    if (!run.options().common.state.empty()) return absl::OkStatus();
    return session.Write(session.input().cluster, run.out());
  }
  *cluster.mutable_status()->mutable_seal() = status;
  return session.Write(std::move(cluster), run.out());
}

// --- unseal ------------------------------------------------------------------

absl::Status Unseal(Run& run) {
  RETURN_IF_ERROR(NoClusterFlags(run.options()));
  RETURN_IF_ERROR(RequireArgs(run.options(), 0, 1, "unseal [FILE|-]"));
  const std::string input =
      run.options().args.empty() ? "-" : run.options().args[0];
  ASSIGN_OR_RETURN(std::string text, ReadInput(run, input));
  ASSIGN_OR_RETURN(std::vector<SealedSecretDocument> documents,
                   ParseSealedSecrets(text, input == "-" ? "<stdin>" : input));
  if (documents.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(input, ": no SealedSecret"));
  }
  RETURN_IF_ERROR(run.OpenKeystoreFor(""));
  ASSIGN_OR_RETURN(std::vector<SealingKeyPair> keys, run.RequireKeys());
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
                       " key(s) from ", run.keystore().Describe(), ")"));
    }
    if (run.dry_run()) {
      run.Note(absl::StrCat("dry run: SealedSecret ",
                            document.object.metadata.Describe(), " decrypts (",
                            secret->data.size(), " value(s)); not printed"));
      continue;
    }
    std::string yaml = FormatSecretYaml(*secret);
    output = Secret(absl::StrCat(output.Reveal(), yaml));
    WipeBytes(yaml.data(), yaml.size());
  }
  run.out() << output.Reveal();
  return absl::OkStatus();
}

// --- check -------------------------------------------------------------------

bool IsManifest(const fs::path& path) {
  const std::string ext = path.extension().string();
  return ext == ".yaml" || ext == ".yml" || ext == ".json";
}

absl::Status Check(Run& run) {
  RETURN_IF_ERROR(NoClusterFlags(run.options()));
  RETURN_IF_ERROR(RequireArgs(run.options(), 1, 1, "check DIR"));
  const fs::path root = run.options().args[0];
  std::error_code error;
  if (!fs::is_directory(root, error)) {
    return absl::InvalidArgumentError(
        absl::StrCat(root.string(), ": not a directory"));
  }
  RETURN_IF_ERROR(run.OpenKeystoreFor(""));
  ASSIGN_OR_RETURN(std::vector<SealingKeyPair> keys, run.RequireKeys());
  const std::vector<PrivateKey> private_keys = PrivateKeysOf(keys);
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
  int total = 0;
  std::vector<std::string> failures;
  for (const fs::path& file : files) {
    const std::string shown = file.lexically_relative(root).string();
    ASSIGN_OR_RETURN(std::string text, ReadFile(file.string(), nullptr));
    absl::StatusOr<std::vector<SealedSecretDocument>> documents =
        ParseSealedSecrets(text, shown);
    if (!documents.ok()) {
      if (absl::StrContains(text, "SealedSecret")) {
        failures.push_back(absl::StrCat(documents.status().message()));
      }
      continue;
    }
    for (const SealedSecretDocument& document : *documents) {
      ++total;
      const SealedSecretObject& sealed = document.object;
      const std::string label =
          ScopeLabel(ScopeOfAnnotations(sealed.metadata), sealed.metadata);
      std::map<std::string, std::string> values = sealed.encrypted_data;
      if (!sealed.legacy_data.empty())
        values["(spec.data)"] = sealed.legacy_data;
      std::vector<std::string> bad;
      for (const auto& [key, blob] : values) {
        absl::StatusOr<Secret> opened =
            OpenSealedValue(blob, label, private_keys);
        if (!opened.ok()) {
          bad.push_back(
              absl::StrCat(key, " (", opened.status().message(), ")"));
        }
      }
      if (!bad.empty()) {
        failures.push_back(
            absl::StrCat(shown, ":", document.line, ": SealedSecret ",
                         sealed.metadata.Describe(), " (",
                         ScopeName(ScopeOfAnnotations(sealed.metadata)),
                         "): does not decrypt: ", absl::StrJoin(bad, ", ")));
      }
    }
  }
  for (const std::string& failure : failures) run.out() << failure << "\n";
  if (!failures.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        failures.size(), " of ", total, " SealedSecret(s) under ",
        root.string(), " do not decrypt with the ", keys.size(), " key(s) in ",
        run.keystore().Describe(),
        "; import the key that sealed them (`seal-keystore import`) or "
        "re-seal them, before a rebuild orphans them"));
  }
  run.Note(absl::StrCat("all ", total, " SealedSecret(s) in ", files.size(),
                        " file(s) under ", root.string(), " decrypt with the ",
                        keys.size(), " key(s) in ", run.keystore().Describe()));
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadInput(Run& run, const std::string& path) {
  return ReadFile(path, path == "-" ? run.in() : nullptr);
}

// --- backup, restore (the Kubernetes API) ------------------------------------

constexpr char kFieldManager[] = "coldstart-seal-keystore";
constexpr char kManagedByLabel[] = "app.kubernetes.io/managed-by";
constexpr char kLegacyKeySecretName[] = "sealed-secrets-key";

std::string JsonString(const kube::Json& object,
                       std::initializer_list<const char*> path) {
  const kube::Json* at = &object;
  for (const char* step : path) {
    if (!at->is_object()) return "";
    auto it = at->find(step);
    if (it == at->end()) return "";
    at = &*it;
  }
  return at->is_string() ? at->get<std::string>() : "";
}

absl::Time ParseRfc3339(const std::string& text) {
  absl::Time t;
  std::string error;
  if (text.empty() || !absl::ParseTime(absl::RFC3339_full, text, &t, &error)) {
    return absl::InfinitePast();
  }
  return t;
}

// Where the controller runs and how to reach the API.
struct ControllerTarget {
  std::unique_ptr<kube::KubeClient> client;
  std::string server;
  std::string ns;
};

// The kubeconfig as verify-cluster resolves it: --kubeconfig, else the
// status' or the spec's kubeconfig_path, else $KUBECONFIG / ~/.kube/config.
absl::StatusOr<ControllerTarget> ConnectToController(
    Run& run, const v1::Cluster& cluster) {
  const SealKeystoreOptions& options = run.options();
  ASSIGN_OR_RETURN(
      kube::RestConfig config,
      LoadClusterKubeconfig(cluster, options.kubeconfig, options.context));
  ControllerTarget target;
  ASSIGN_OR_RETURN(target.client,
                   kube::KubeClient::FromConfig(config, options.insecure));
  target.server = config.server;
  target.ns = options.namespace_;
  if (target.ns.empty()) {
    target.ns = cluster.spec().sealed_secrets().controller_namespace();
  }
  if (target.ns.empty()) target.ns = "kube-system";
  return target;
}

// A key Secret of the controller's namespace.
struct ClusterKey {
  std::string name;
  std::string label_value;  // of kSealingKeyLabel; empty for the legacy name
  bool managed_by_us;
  absl::Time created;
  SealingKeyPair pair;
};

absl::Status WithContext(const absl::Status& status, absl::string_view what) {
  return absl::Status(status.code(),
                      absl::StrCat(what, ": ", status.message()));
}

// Every key Secret in the controller's namespace: all carrying the key
// label (any value: a retired key still opens what it once sealed) plus the
// legacy Secret named sealed-secrets-key. Unusable ones are skipped with a
// warning (the controller skips them too).
absl::StatusOr<std::vector<ClusterKey>> ReadClusterKeys(
    Run& run, ControllerTarget& target) {
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
  bool has_legacy = false;
  for (const kube::Json& secret : *secrets) {
    if (JsonString(secret, {"metadata", "name"}) == kLegacyKeySecretName) {
      has_legacy = true;
    }
  }
  if (!has_legacy) {
    absl::StatusOr<kube::Json> legacy =
        target.client->Get(kube::Secrets(), target.ns, kLegacyKeySecretName);
    if (legacy.ok()) {
      secrets->push_back(*std::move(legacy));
    } else if (!absl::IsNotFound(legacy.status())) {
      return WithContext(legacy.status(),
                         absl::StrCat("reading Secret ", target.ns, "/",
                                      kLegacyKeySecretName));
    }
  }
  std::vector<ClusterKey> keys;
  for (kube::Json& secret : *secrets) {
    secret["apiVersion"] = "v1";
    secret["kind"] = "Secret";
    const std::string name = JsonString(secret, {"metadata", "name"});
    const std::string what = absl::StrCat("Secret ", target.ns, "/", name);
    Secret text(secret.dump());
    secret["data"] = nullptr;
    absl::StatusOr<std::vector<KeySecret>> parsed =
        ParseKeySecrets(text.Reveal(), what);
    absl::StatusOr<SealingKeyPair> pair =
        parsed.ok() && parsed->size() == 1
            ? CheckSealingKey(
                  SealingKey{std::move((*parsed)[0].private_key_pem),
                             (*parsed)[0].certificate_pem},
                  what)
            : absl::StatusOr<SealingKeyPair>(
                  parsed.ok() ? absl::InvalidArgumentError(
                                    absl::StrCat(what, ": not a key Secret"))
                              : parsed.status());
    if (!pair.ok()) {
      run.Note(absl::StrCat(
          "warning: skipping ", what,
          " (not a usable sealing key: ", pair.status().message(), ")"));
      continue;
    }
    keys.push_back(ClusterKey{
        name, JsonString(secret, {"metadata", "labels", kSealingKeyLabel}),
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

struct BackupResult {
  std::vector<ClusterKey> cluster_keys;
  std::vector<std::string> added;  // key ids new to the keystore
};

// Reads the controller's key Secrets into the keystore (MergeSealingKeys:
// keys already held are not written again).
absl::StatusOr<BackupResult> BackupKeys(Run& run, ControllerTarget& target,
                                        absl::string_view why) {
  BackupResult result;
  ASSIGN_OR_RETURN(result.cluster_keys, ReadClusterKeys(run, target));
  std::vector<SealingKeyPair> incoming;
  std::vector<std::string> names;
  for (const ClusterKey& key : result.cluster_keys) {
    incoming.push_back(key.pair);
    names.push_back(absl::StrCat(key.name, " (", key.pair.id, ")"));
  }
  ASSIGN_OR_RETURN(result.added,
                   MergeSealingKeys(run.keystore(), incoming, run.dry_run()));
  run.Note(absl::StrCat(
      why, result.cluster_keys.size(), " key Secret(s) in namespace ",
      target.ns, names.empty() ? "" : ": ", absl::StrJoin(names, ", "), "; ",
      result.added.empty()
          ? absl::StrCat("keystore ", run.keystore().Describe(),
                         " already holds every one (nothing written)")
          : absl::StrCat(run.dry_run() ? "would add " : "added ",
                         result.added.size(), " new key(s) to ",
                         run.keystore().Describe(), ": ",
                         absl::StrJoin(result.added, ", "))));
  return result;
}

void RecordBackup(Run& run, const BackupResult& backup, v1::SealStatus& seal) {
  seal.clear_backed_up_keys();
  for (const ClusterKey& key : backup.cluster_keys) {
    seal.add_backed_up_keys(key.name);
  }
  SetTimestamp(run.Now(), seal.mutable_backed_up_at());
}

absl::Status Backup(Run& run) {
  RETURN_IF_ERROR(RequireArgs(run.options(), 0, 0,
                              "backup [--in FILE | --state FILE] [--kubeconfig "
                              "FILE] [--namespace NS]"));
  ASSIGN_OR_RETURN(ClusterSession session,
                   ClusterSession::Open(run.options().common));
  v1::Cluster cluster = session.input().cluster;
  RETURN_IF_ERROR(
      run.OpenKeystoreFor(cluster.spec().sealed_secrets().keystore()));
  ASSIGN_OR_RETURN(ControllerTarget target, ConnectToController(run, cluster));
  ASSIGN_OR_RETURN(BackupResult backup,
                   BackupKeys(run, target, "backup: read "));
  if (backup.cluster_keys.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("no sealed-secrets key Secret (label ", kSealingKeyLabel,
                     ", or named ", kLegacyKeySecretName, ") in namespace ",
                     target.ns, " at ", target.server,
                     "; is the controller deployed there? (spec.sealed_secrets."
                     "controller_namespace or --namespace)"));
  }
  if (run.dry_run()) {
    if (!run.options().common.state.empty()) return absl::OkStatus();
    return session.Write(session.input().cluster, run.out());
  }
  RecordBackup(run, backup, *cluster.mutable_status()->mutable_seal());
  return session.Write(std::move(cluster), run.out());
}

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

absl::Status Restore(Run& run) {
  RETURN_IF_ERROR(
      RequireArgs(run.options(), 0, 0,
                  "restore [--in FILE | --state FILE] [--kubeconfig FILE] "
                  "[--namespace NS]"));
  ASSIGN_OR_RETURN(ClusterSession session,
                   ClusterSession::Open(run.options().common));
  v1::Cluster cluster = session.input().cluster;
  const v1::SealedSecretsSpec& spec = cluster.spec().sealed_secrets();
  RETURN_IF_ERROR(run.OpenKeystoreFor(spec.keystore()));
  ASSIGN_OR_RETURN(ControllerTarget target, ConnectToController(run, cluster));
  v1::SealStatus seal = cluster.status().seal();
  const std::string& ns = target.ns;

  // 1. A key the controller made itself (at its start, or by renewal) is
  //    saved before anything else, so no key that sealed something is lost.
  ASSIGN_OR_RETURN(BackupResult backup,
                   BackupKeys(run, target, "restore: backup first: "));
  ASSIGN_OR_RETURN(std::vector<SealingKeyPair> keys,
                   LoadSealingKeyPairs(run.keystore()));
  if (keys.empty() && backup.cluster_keys.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "keystore ", run.keystore().Describe(),
        " holds no sealed-secrets key to restore; run `seal-keystore init` "
        "or `seal-keystore import`"));
  }
  std::set<std::string> in_cluster;
  absl::Time newest_ours = absl::InfinitePast();
  std::set<std::string> ours;
  for (const ClusterKey& key : backup.cluster_keys) {
    in_cluster.insert(key.pair.id);
    if (key.managed_by_us) {
      ours.insert(key.name);
      newest_ours = std::max(newest_ours, key.created);
    }
  }

  // 2. The namespace (before the controller is deployed it may not exist).
  absl::StatusOr<kube::Json> namespace_object =
      target.client->Get(kube::Namespaces(), "", ns);
  if (absl::IsNotFound(namespace_object.status())) {
    if (run.dry_run()) {
      run.Note(absl::StrCat("dry run: would create namespace ", ns));
    } else {
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
      run.Note(absl::StrCat("restore: created namespace ", ns));
    }
  } else if (!namespace_object.ok()) {
    return WithContext(namespace_object.status(),
                       absl::StrCat("reading namespace ", ns));
  }

  // 3. One key Secret per keystore key the namespace lacks.
  int applied = 0;
  for (const SealingKeyPair& pair : keys) {
    if (in_cluster.count(pair.id)) continue;
    kube::Json secret = KeySecretObject(pair, ns);
    const std::string name = secret["metadata"]["name"];
    if (run.dry_run()) {
      run.Note(absl::StrCat("dry run: would apply key Secret ", ns, "/", name,
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
    ++applied;
    ours.insert(name);
    newest_ours = std::max(
        newest_ours,
        ParseRfc3339(JsonString(*stored, {"metadata", "creationTimestamp"})));
    run.Note(absl::StrCat("restore: applied key Secret ", ns, "/", name,
                          " for ", DescribeKey(pair)));
  }
  if (applied == 0 && !run.dry_run()) {
    run.Note(absl::StrCat("restore: all ", keys.size(),
                          " keystore key(s) are already in namespace ", ns,
                          "; nothing applied"));
  }

  // 4. The controller reads keys only at start: a pod that started before
  //    our newest key Secret has not loaded it; deleting it restarts it.
  absl::StatusOr<std::vector<kube::Json>> pods =
      target.client->List(kube::Pods(), ns);
  if (!pods.ok()) {
    return WithContext(pods.status(),
                       absl::StrCat("listing the pods of namespace ", ns));
  }
  std::vector<std::string> restarted;
  int running = 0;
  for (const kube::Json& pod : *pods) {
    if (!IsControllerPod(pod, spec.controller_name())) continue;
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
    const bool stale = applied > 0 || ParseRfc3339(started) < newest_ours;
    if (!stale) continue;
    if (run.dry_run()) {
      run.Note(absl::StrCat("dry run: would delete controller pod ", ns, "/",
                            name, " so that it restarts with the keys"));
      continue;
    }
    absl::Status deleted = target.client->Delete(kube::Pods(), ns, name);
    if (!deleted.ok() && !absl::IsNotFound(deleted)) {
      return WithContext(deleted,
                         absl::StrCat("deleting controller pod ", ns, "/", name,
                                      " (restart to load the keys)"));
    }
    restarted.push_back(name);
    run.Note(absl::StrCat("restore: deleted controller pod ", ns, "/", name,
                          " (started ", started,
                          ", before the restored keys) so that it restarts "
                          "and loads them"));
  }
  if (running == 0) {
    run.Note(absl::StrCat("restore: no controller pod in ", ns,
                          " yet; it loads the keys when it starts"));
  }

  // 5. A controller that restarted may have generated a key at once (when
  //    the newest key is older than its renew period): save it too.
  if (!restarted.empty()) {
    ASSIGN_OR_RETURN(
        BackupResult after,
        BackupKeys(run, target, "restore: backup after restart: "));
    backup = std::move(after);
  }
  if (!keys.empty()) {
    const absl::Time newest = keys[0].certificate.not_before();
    if (run.Now() - newest >= absl::Hours(720)) {
      run.Note(absl::StrCat(
          "note: the newest key (", keys[0].id, ") dates from ",
          Rfc3339(newest),
          ", older than the controller's default renew period (720h): it "
          "will generate a new key when it starts; run `seal-keystore "
          "backup` after it started"));
    }
  }
  if (run.dry_run()) {
    if (!run.options().common.state.empty()) return absl::OkStatus();
    return session.Write(session.input().cluster, run.out());
  }
  RecordBackup(run, backup, seal);
  seal.clear_restored_keys();
  for (const std::string& name : ours) seal.add_restored_keys(name);
  seal.clear_restarted_pods();
  for (const std::string& name : restarted) seal.add_restarted_pods(name);
  SetTimestamp(run.Now(), seal.mutable_updated_at());
  *cluster.mutable_status()->mutable_seal() = seal;
  return session.Write(std::move(cluster), run.out());
}

}  // namespace

// --- Public helpers --------------------------------------------------------

absl::StatusOr<SealingKeyPair> CheckSealingKey(SealingKey stored,
                                               absl::string_view what) {
  absl::StatusOr<PrivateKey> key = PrivateKey::FromPem(stored.private_key_pem);
  if (!key.ok() || key->type() != KeyType::kRsa) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": the private key is not a readable RSA PEM key"));
  }
  absl::StatusOr<Certificate> certificate =
      Certificate::FromPem(stored.certificate_pem);
  if (!certificate.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(what,
                     ": the certificate is not a readable PEM "
                     "CERTIFICATE: ",
                     certificate.status().message()));
  }
  ASSIGN_OR_RETURN(PublicKey certified, certificate->public_key());
  if (!(certified == key->public_key())) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": the certificate (", certificate->SubjectString(),
                     ") is not for this private key"));
  }
  SealingKeyPair pair{*key, *certificate, std::move(stored), ""};
  pair.id = HexEncode(Sha256(certified.ToDer())).substr(0, 16);
  return pair;
}

absl::StatusOr<std::vector<SealingKeyPair>> LoadSealingKeyPairs(
    Keystore& keystore) {
  ASSIGN_OR_RETURN(std::vector<SealingKey> stored, LoadSealingKeys(keystore));
  std::vector<SealingKeyPair> pairs;
  for (size_t i = 0; i < stored.size(); ++i) {
    ASSIGN_OR_RETURN(
        SealingKeyPair pair,
        CheckSealingKey(
            std::move(stored[i]),
            absl::StrCat(keystore.Describe(), ": sealing key ",
                         i == 0 ? "private_key/public_key" : "(archived)")));
    pairs.push_back(std::move(pair));
  }
  return pairs;
}

absl::StatusOr<std::vector<std::string>> MergeSealingKeys(
    Keystore& keystore, const std::vector<SealingKeyPair>& incoming,
    bool dry_run) {
  ASSIGN_OR_RETURN(std::vector<SealingKeyPair> existing,
                   LoadSealingKeyPairs(keystore));
  std::vector<const SealingKeyPair*> added;
  auto known = [&](const std::string& id) {
    for (const SealingKeyPair& pair : existing) {
      if (pair.id == id) return true;
    }
    for (const SealingKeyPair* pair : added) {
      if (pair->id == id) return true;
    }
    return false;
  };
  for (const SealingKeyPair& pair : incoming) {
    if (!known(pair.id)) added.push_back(&pair);
  }
  std::vector<std::string> ids;
  for (const SealingKeyPair* pair : added) ids.push_back(pair->id);
  if (dry_run || added.empty()) return ids;

  const SealingKeyPair* newest = existing.empty() ? nullptr : &existing[0];
  for (const SealingKeyPair* pair : added) {
    if (newest == nullptr ||
        pair->certificate.not_before() > newest->certificate.not_before()) {
      newest = pair;
    }
  }
  for (const SealingKeyPair* pair : added) {
    if (pair == newest) continue;
    const std::string id =
        HexEncode(Sha256(pair->stored.certificate_pem)).substr(0, 16);
    RETURN_IF_ERROR(keystore.Store(
        ArchivedSealingKeyAttributes(SealingKeyPart::kPrivateKey, id),
        absl::StrCat("sealed-secrets private key (archived ", id, ")"),
        pair->stored.private_key_pem));
    RETURN_IF_ERROR(keystore.Store(
        ArchivedSealingKeyAttributes(SealingKeyPart::kCertificate, id),
        absl::StrCat("sealed-secrets certificate (archived ", id, ")"),
        Secret::FromView(pair->stored.certificate_pem)));
  }
  if (existing.empty() || newest != &existing[0]) {
    RETURN_IF_ERROR(AddSealingKey(keystore, newest->stored));
  }
  return ids;
}

std::string ResolveKeystoreSpec(absl::string_view flag,
                                absl::string_view spec_keystore) {
  if (!flag.empty()) return std::string(flag);
  const char* env = std::getenv(kKeystoreEnvironmentVariable);
  if (env != nullptr && *env != '\0') return env;
  if (!spec_keystore.empty()) return std::string(spec_keystore);
  return "secret-service";
}

absl::Status RunSealKeystore(const SealKeystoreOptions& options,
                             const SealKeystoreIo& io) {
  EventsOptions events_options;
  events_options.tool = "seal-keystore";
  events_options.stderr_stream = io.progress;
  events_options.events_path = options.common.events;
  events_options.clock = options.clock;
  ASSIGN_OR_RETURN(std::unique_ptr<Events> events,
                   Events::Create(std::move(events_options)));
  Run run(options, io, std::move(events));
  const std::string& command = options.command;
  if (command == "init") return Init(run);
  if (command == "import") return Import(run);
  if (command == "cert") return Cert(run);
  if (command == "renew-cert") return RenewCert(run);
  if (command == "seal") return options.batch ? SealBatch(run) : SealOne(run);
  if (command == "unseal") return Unseal(run);
  if (command == "check") return Check(run);
  if (command == "backup") return Backup(run);
  if (command == "restore") return Restore(run);
  return absl::InvalidArgumentError(absl::StrCat(
      "unknown command \"", command,
      "\"; want init, import, cert, renew-cert, seal, unseal, check, backup "
      "or restore"));
}

}  // namespace coldstart
