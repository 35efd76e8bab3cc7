#include "lab/talos/config_validation.h"

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "lab/talos/talos_pki.h"
#include "re2/re2.h"
#include "yaml-cpp/yaml.h"

namespace coldstart::lab {
namespace {

std::string Str(const YAML::Node& node) {
  return node && node.IsScalar() ? node.Scalar() : std::string();
}

std::vector<std::string> StrList(const YAML::Node& node) {
  std::vector<std::string> out;
  if (node && node.IsSequence()) {
    for (const auto& item : node) out.push_back(Str(item));
  }
  return out;
}

class Errors {
 public:
  void Add(std::string message) { errors_.push_back(std::move(message)); }
  bool empty() const { return errors_.empty(); }
  // Talos (hashicorp/go-multierror) formatting.
  std::string Text() const {
    std::string out =
        absl::StrCat(errors_.size(), errors_.size() == 1 ? " error" : " errors",
                     " occurred:\n");
    for (const std::string& e : errors_) absl::StrAppend(&out, "\t* ", e, "\n");
    return absl::StrCat(out, "\n");
  }

 private:
  std::vector<std::string> errors_;
};

// base64(PEM) field -> PEM text; records an error when not decodable.
std::string DecodePem(const YAML::Node& node, const std::string& path,
                      Errors& errors) {
  const std::string value = Str(node);
  if (value.empty()) return "";
  std::string pem;
  if (!absl::Base64Unescape(value, &pem)) {
    errors.Add(absl::StrCat(path, ": illegal base64 data"));
    return "";
  }
  return pem;
}

void CheckCaPair(const YAML::Node& node, const std::string& path,
                 bool key_required, bool key_forbidden, std::string* crt,
                 std::string* key, Errors& errors) {
  if (!node || !node.IsMap()) {
    if (key_required) errors.Add(absl::StrCat(path, " is required"));
    return;
  }
  *crt = DecodePem(node["crt"], path + ".crt", errors);
  *key = DecodePem(node["key"], path + ".key", errors);
  if (crt->empty()) {
    errors.Add(absl::StrCat(path, ".crt is required"));
  } else if (absl::Status s = CheckCertificatePem(*crt); !s.ok()) {
    errors.Add(absl::StrCat(path, ".crt: ", s.message()));
  }
  if (key->empty()) {
    if (key_required) errors.Add(absl::StrCat(path, ".key is required"));
    return;
  }
  if (key_forbidden) {
    errors.Add(
        absl::StrCat(path, ".key should not be set for worker machine type"));
    return;
  }
  if (absl::Status s = CheckTalosKeyPem(*key); !s.ok()) {
    errors.Add(absl::StrCat(path, ".key: ", s.message()));
  } else if (!crt->empty() && !KeyMatchesCertificate(*crt, *key)) {
    errors.Add(absl::StrCat(path, ": private key does not match certificate"));
  }
}

const RE2& TokenPattern() {
  static const RE2* const kPattern = new RE2("[a-z0-9]{6}\\.[a-z0-9]{16}");
  return *kPattern;
}

}  // namespace

absl::StatusOr<TalosMachineConfig> ValidateMachineConfig(
    absl::string_view yaml) {
  std::vector<YAML::Node> docs;
  try {
    docs = YAML::LoadAll(std::string(yaml));
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(
        "failed to parse config: yaml: line ", e.mark.line + 1, ": ", e.msg));
  }
  TalosMachineConfig config;
  Errors errors;
  YAML::Node v1;
  int v1_count = 0;
  for (const YAML::Node& doc : docs) {
    if (!doc || doc.IsNull()) continue;
    if (!doc.IsMap()) {
      return absl::InvalidArgumentError(
          "failed to parse config: document is not a map");
    }
    if (doc["version"]) {
      if (Str(doc["version"]) != "v1alpha1") {
        return absl::InvalidArgumentError(
            absl::StrCat("failed to parse config: unknown version \"",
                         Str(doc["version"]), "\""));
      }
      v1 = doc;
      ++v1_count;
      continue;
    }
    const std::string kind = Str(doc["kind"]);
    if (kind == "ExtensionServiceConfig") {
      const std::string name = Str(doc["name"]);
      if (name.empty()) errors.Add("ExtensionServiceConfig: name is required");
      auto& env = config.extension_env[name];
      for (const std::string& entry : StrList(doc["environment"])) {
        const size_t eq = entry.find('=');
        if (eq == std::string::npos || eq == 0) {
          errors.Add(absl::StrCat("ExtensionServiceConfig ", name,
                                  ": environment entry is not KEY=VALUE"));
          continue;
        }
        env[entry.substr(0, eq)] = entry.substr(eq + 1);
      }
      continue;
    }
    return absl::InvalidArgumentError(absl::StrCat(
        "failed to parse config: unknown document kind \"", kind, "\""));
  }
  if (v1_count != 1) {
    return absl::InvalidArgumentError(v1_count == 0
                                          ? "the v1alpha1 document is missing"
                                          : "duplicate v1alpha1 document");
  }
  if (v1["persist"] && Str(v1["persist"]) == "false") {
    errors.Add("persist must be true or omitted");
  }
  const YAML::Node machine = v1["machine"];
  const YAML::Node cluster = v1["cluster"];
  if (!machine || !machine.IsMap())
    errors.Add("machine instructions are required");
  if (!cluster || !cluster.IsMap())
    errors.Add("cluster instructions are required");
  if (!errors.empty()) return absl::InvalidArgumentError(errors.Text());

  const std::string type = Str(machine["type"]);
  if (type == "controlplane" || type == "init") {
    config.control_plane = true;
  } else if (type != "worker" && type != "join") {
    errors.Add(absl::StrCat("invalid machine type: \"", type, "\""));
  }
  const bool cp = config.control_plane;
  if (!RE2::FullMatch(Str(machine["token"]), TokenPattern())) {
    errors.Add("invalid machine token (expected [a-z0-9]{6}.[a-z0-9]{16})");
  }
  CheckCaPair(machine["ca"], "machine.ca", cp, !cp, &config.os_ca_cert_pem,
              &config.os_ca_key_pem, errors);
  config.cert_sans = StrList(machine["certSANs"]);
  const YAML::Node network = machine["network"];
  config.hostname = Str(network["hostname"]);
  if (network["interfaces"] && network["interfaces"].IsSequence()) {
    for (const YAML::Node& iface : network["interfaces"]) {
      const bool by_name = static_cast<bool>(iface["interface"]);
      const bool by_selector = static_cast<bool>(iface["deviceSelector"]);
      if (by_name == by_selector) {
        errors.Add(
            "[networking.os.device.interface], "
            "[networking.os.device.deviceSelector]: config section should "
            "contain only one field");
      }
      for (const std::string& a : StrList(iface["addresses"])) {
        config.addresses.push_back(a);
      }
      if (iface["vip"]) {
        const std::string vip = Str(iface["vip"]["ip"]);
        if (!cp) {
          errors.Add(
              "virtual (shared) IP is not allowed on non-controlplane nodes");
        }
        config.vip = vip;
      }
    }
  }

  // cluster
  config.cluster_name = Str(cluster["clusterName"]);
  config.endpoint = Str(cluster["controlPlane"]["endpoint"]);
  if (!absl::StartsWith(config.endpoint, "https://") &&
      !absl::StartsWith(config.endpoint, "http://")) {
    errors.Add(absl::StrCat("control plane endpoint \"", config.endpoint,
                            "\" is not a valid URL"));
  }
  if (!RE2::FullMatch(Str(cluster["token"]), TokenPattern())) {
    errors.Add("invalid bootstrap token (expected [a-z0-9]{6}.[a-z0-9]{16})");
  }
  const YAML::Node cni = cluster["network"]["cni"];
  if (cni) {
    const std::string name = Str(cni["name"]);
    if (name != "flannel" && name != "custom" && name != "none") {
      errors.Add(
          absl::StrCat("cni name should be one of [flannel, custom, "
                       "none], got \"",
                       name, "\""));
    }
    if (name != "custom" && !StrList(cni["urls"]).empty()) {
      errors.Add(absl::StrCat("\"urls\" field should be empty for \"", name,
                              "\" CNI"));
    }
  }
  if (cluster["secretboxEncryptionSecret"] &&
      cluster["aescbcEncryptionSecret"]) {
    errors.Add(
        "only one of secretboxEncryptionSecret and aescbcEncryptionSecret "
        "may be set");
  }
  CheckCaPair(cluster["ca"], "cluster.ca", cp, !cp,
              &config.kubernetes_ca_cert_pem, &config.kubernetes_ca_key_pem,
              errors);
  if (cp) {
    CheckCaPair(cluster["etcd"]["ca"], "cluster.etcd.ca", false, false,
                &config.etcd_ca_cert_pem, &config.etcd_ca_key_pem, errors);
    std::string agg_crt, agg_key;
    CheckCaPair(cluster["aggregatorCA"], "cluster.aggregatorCA", false, false,
                &agg_crt, &agg_key, errors);
    std::string sa = DecodePem(cluster["serviceAccount"]["key"],
                               "cluster.serviceAccount.key", errors);
    if (!sa.empty()) {
      if (absl::Status s = CheckTalosKeyPem(sa); !s.ok()) {
        errors.Add(absl::StrCat("cluster.serviceAccount.key: ", s.message()));
      }
    }
  } else {
    for (const char* cp_only : {"etcd", "aggregatorCA", "serviceAccount"}) {
      if (cluster[cp_only] && cluster[cp_only].IsMap()) {
        const YAML::Node n = cluster[cp_only];
        const bool has_key =
            !Str(n["key"]).empty() || (n["ca"] && !Str(n["ca"]["key"]).empty());
        if (has_key) {
          errors.Add(absl::StrCat("cluster.", cp_only,
                                  " should not be set for worker machine "
                                  "type"));
        }
      }
    }
  }
  if (!errors.empty()) return absl::InvalidArgumentError(errors.Text());
  return config;
}

}  // namespace coldstart::lab
