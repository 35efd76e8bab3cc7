#include "tools/talos-bootstrap/secrets_bundle.h"

#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "lib/base/status_macros.h"
#include "lib/secrets/crypto.h"
#include "yaml-cpp/yaml.h"

namespace coldstart {
namespace {

constexpr absl::string_view kTokenAlphabet =
    "0123456789abcdefghijklmnopqrstuvwxyz";

std::string RandomTokenChars(int n) {
  std::string out;
  while (static_cast<int>(out.size()) < n) {
    for (unsigned char c : RandomBytes(32)) {
      // 252 = 7 * 36: reject the tail so every character is equally likely.
      if (c < 252 && static_cast<int>(out.size()) < n) {
        out += kTokenAlphabet[c % 36];
      }
    }
  }
  return out;
}

std::string UrlSafeBase64WithPadding(absl::string_view bytes) {
  std::string out;
  absl::WebSafeBase64Escape(bytes, &out);
  while (out.size() % 4 != 0) out += '=';
  return out;
}

absl::StatusOr<CertAndKey> MakeCa(PrivateKey key, std::string common_name,
                                  std::string organization, absl::Time now) {
  CertificateTemplate spec;
  spec.common_name = std::move(common_name);
  if (!organization.empty()) spec.organizations = {std::move(organization)};
  spec.is_ca = true;
  spec.key_usage = kKeyCertSign | kDigitalSignature;
  spec.server_auth = true;
  spec.client_auth = true;
  spec.not_before = now;
  spec.not_after = now + absl::Hours(87600);
  ASSIGN_OR_RETURN(Certificate cert,
                   IssueCertificate(spec, key.public_key(), key, nullptr));
  ASSIGN_OR_RETURN(Secret key_pem, key.ToPem(PrivateKeyPem::kTalos));
  return CertAndKey{cert.ToPem(), std::move(key_pem)};
}

std::string B64(absl::string_view text) { return absl::Base64Escape(text); }

absl::StatusOr<std::string> Unb64(const YAML::Node& node,
                                  absl::string_view path) {
  if (!node || !node.IsScalar()) {
    return absl::InvalidArgumentError(
        absl::StrCat("secrets bundle: ", path, " is missing"));
  }
  std::string out;
  if (!absl::Base64Unescape(node.Scalar(), &out)) {
    return absl::InvalidArgumentError(
        absl::StrCat("secrets bundle: ", path, " is not base64"));
  }
  return out;
}

absl::StatusOr<std::string> Scalar(const YAML::Node& node,
                                   absl::string_view path) {
  if (!node || !node.IsScalar() || node.Scalar().empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("secrets bundle: ", path, " is missing"));
  }
  return node.Scalar();
}

absl::StatusOr<CertAndKey> ReadPair(const YAML::Node& certs,
                                    absl::string_view name) {
  ASSIGN_OR_RETURN(std::string crt,
                   Unb64(certs[std::string(name)]["crt"],
                         absl::StrCat("certs.", name, ".crt")));
  ASSIGN_OR_RETURN(std::string key,
                   Unb64(certs[std::string(name)]["key"],
                         absl::StrCat("certs.", name, ".key")));
  RETURN_IF_ERROR(Certificate::FromPem(crt).status());
  Secret key_pem(std::move(key));
  RETURN_IF_ERROR(PrivateKey::FromPem(key_pem).status());
  return CertAndKey{std::move(crt), std::move(key_pem)};
}

}  // namespace

Secret GenerateTalosToken() {
  return Secret(absl::StrCat(RandomTokenChars(6), ".", RandomTokenChars(16)));
}

bool IsTalosToken(absl::string_view token) {
  if (token.size() != 23 || token[6] != '.') return false;
  for (size_t i = 0; i < token.size(); ++i) {
    if (i == 6) continue;
    if (kTokenAlphabet.find(token[i]) == absl::string_view::npos) return false;
  }
  return true;
}

absl::StatusOr<SecretsBundle> GenerateSecretsBundle(absl::Time now) {
  SecretsBundle bundle;
  bundle.cluster_id = UrlSafeBase64WithPadding(RandomBytes(32));
  bundle.cluster_secret = Secret(absl::Base64Escape(RandomBytes(32)));
  bundle.bootstrap_token = GenerateTalosToken();
  bundle.secretbox_secret = Secret(absl::Base64Escape(RandomBytes(32)));
  bundle.trustd_token = GenerateTalosToken();
  ASSIGN_OR_RETURN(bundle.os_ca,
                   MakeCa(PrivateKey::GenerateEd25519(), "", "talos", now));
  ASSIGN_OR_RETURN(bundle.kubernetes_ca, MakeCa(PrivateKey::GenerateEcdsaP256(),
                                                "", "kubernetes", now));
  ASSIGN_OR_RETURN(bundle.aggregator_ca, MakeCa(PrivateKey::GenerateEcdsaP256(),
                                                "front-proxy", "", now));
  ASSIGN_OR_RETURN(bundle.etcd_ca,
                   MakeCa(PrivateKey::GenerateEcdsaP256(), "", "etcd", now));
  ASSIGN_OR_RETURN(PrivateKey sa, PrivateKey::GenerateRsa(4096));
  ASSIGN_OR_RETURN(bundle.service_account_key, sa.ToPem(PrivateKeyPem::kTalos));
  return bundle;
}

Secret SerializeSecretsBundle(const SecretsBundle& b) {
  YAML::Emitter out;
  auto pair = [&out](const char* name, const CertAndKey& pair) {
    out << YAML::Key << name << YAML::Value << YAML::BeginMap;
    out << YAML::Key << "crt" << YAML::Value << B64(pair.crt_pem);
    out << YAML::Key << "key" << YAML::Value << B64(pair.key_pem.Reveal());
    out << YAML::EndMap;
  };
  out << YAML::BeginMap;
  out << YAML::Key << "cluster" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "id" << YAML::Value << b.cluster_id;
  out << YAML::Key << "secret" << YAML::Value
      << std::string(b.cluster_secret.Reveal());
  out << YAML::EndMap;
  out << YAML::Key << "secrets" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "bootstraptoken" << YAML::Value
      << std::string(b.bootstrap_token.Reveal());
  out << YAML::Key << "secretboxencryptionsecret" << YAML::Value
      << std::string(b.secretbox_secret.Reveal());
  out << YAML::EndMap;
  out << YAML::Key << "trustdinfo" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "token" << YAML::Value
      << std::string(b.trustd_token.Reveal());
  out << YAML::EndMap;
  out << YAML::Key << "certs" << YAML::Value << YAML::BeginMap;
  pair("etcd", b.etcd_ca);
  pair("k8s", b.kubernetes_ca);
  pair("k8saggregator", b.aggregator_ca);
  out << YAML::Key << "k8sserviceaccount" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "key" << YAML::Value
      << B64(b.service_account_key.Reveal());
  out << YAML::EndMap;
  pair("os", b.os_ca);
  out << YAML::EndMap;
  out << YAML::EndMap;
  std::string text(out.c_str());
  text += "\n";
  return Secret(std::move(text));
}

absl::StatusOr<SecretsBundle> ParseSecretsBundle(const Secret& yaml) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml.Reveal()));
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat("secrets bundle: not YAML (line ", e.mark.line + 1, ")"));
  }
  if (!root.IsMap()) {
    return absl::InvalidArgumentError("secrets bundle: not a YAML map");
  }
  SecretsBundle b;
  ASSIGN_OR_RETURN(b.cluster_id, Scalar(root["cluster"]["id"], "cluster.id"));
  ASSIGN_OR_RETURN(std::string secret,
                   Scalar(root["cluster"]["secret"], "cluster.secret"));
  b.cluster_secret = Secret(std::move(secret));
  ASSIGN_OR_RETURN(
      std::string bootstrap,
      Scalar(root["secrets"]["bootstraptoken"], "secrets.bootstraptoken"));
  b.bootstrap_token = Secret(std::move(bootstrap));
  ASSIGN_OR_RETURN(std::string secretbox,
                   Scalar(root["secrets"]["secretboxencryptionsecret"],
                          "secrets.secretboxencryptionsecret"));
  b.secretbox_secret = Secret(std::move(secretbox));
  ASSIGN_OR_RETURN(std::string trustd,
                   Scalar(root["trustdinfo"]["token"], "trustdinfo.token"));
  b.trustd_token = Secret(std::move(trustd));
  if (!IsTalosToken(b.bootstrap_token.Reveal()) ||
      !IsTalosToken(b.trustd_token.Reveal())) {
    return absl::InvalidArgumentError(
        "secrets bundle: a token is not [a-z0-9]{6}.[a-z0-9]{16}");
  }
  const YAML::Node certs = root["certs"];
  ASSIGN_OR_RETURN(b.etcd_ca, ReadPair(certs, "etcd"));
  ASSIGN_OR_RETURN(b.kubernetes_ca, ReadPair(certs, "k8s"));
  ASSIGN_OR_RETURN(b.aggregator_ca, ReadPair(certs, "k8saggregator"));
  ASSIGN_OR_RETURN(b.os_ca, ReadPair(certs, "os"));
  ASSIGN_OR_RETURN(std::string sa, Unb64(certs["k8sserviceaccount"]["key"],
                                         "certs.k8sserviceaccount.key"));
  b.service_account_key = Secret(std::move(sa));
  RETURN_IF_ERROR(PrivateKey::FromPem(b.service_account_key).status());
  return b;
}

absl::StatusOr<CertAndKey> IssueTalosAdminCertificate(
    const SecretsBundle& bundle, absl::Time now) {
  ASSIGN_OR_RETURN(Certificate ca, Certificate::FromPem(bundle.os_ca.crt_pem));
  ASSIGN_OR_RETURN(PrivateKey ca_key,
                   PrivateKey::FromPem(bundle.os_ca.key_pem));
  PrivateKey key = PrivateKey::GenerateEd25519();
  CertificateTemplate spec;
  spec.organizations = {"os:admin"};
  spec.key_usage = kDigitalSignature;
  spec.client_auth = true;
  spec.not_before = now - absl::Minutes(10);
  spec.not_after = now + absl::Hours(8760);
  ASSIGN_OR_RETURN(Certificate cert,
                   IssueCertificate(spec, key.public_key(), ca_key, &ca));
  ASSIGN_OR_RETURN(Secret key_pem, key.ToPem(PrivateKeyPem::kPkcs8));
  return CertAndKey{cert.ToPem(), std::move(key_pem)};
}

}  // namespace coldstart
