#include "tools/talos-bootstrap/machine_config.h"

#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "lib/base/status_macros.h"
#include "lib/secrets/crypto.h"
#include "yaml-cpp/yaml.h"

namespace coldstart {
namespace {

using coldstart::v1::ClusterSpec;
using coldstart::v1::Node;

std::string B64(absl::string_view text) { return absl::Base64Escape(text); }

// "v1.9.1" -> {1, 9}; {0, 0} when unparsable.
std::pair<int, int> MajorMinor(absl::string_view version) {
  absl::ConsumePrefix(&version, "v");
  std::vector<std::string> parts = absl::StrSplit(version, '.');
  int major = 0, minor = 0;
  if (parts.size() >= 2 && absl::SimpleAtoi(parts[0], &major) &&
      absl::SimpleAtoi(parts[1], &minor)) {
    return {major, minor};
  }
  return {0, 0};
}

void StringList(YAML::Emitter& out, const char* key,
                const std::vector<std::string>& values) {
  out << YAML::Key << key << YAML::Value << YAML::BeginSeq;
  for (const std::string& v : values) out << v;
  out << YAML::EndSeq;
}

void CaPair(YAML::Emitter& out, const char* key, const CertAndKey& pair,
            bool with_key) {
  out << YAML::Key << key << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "crt" << YAML::Value << B64(pair.crt_pem);
  out << YAML::Key << "key" << YAML::Value
      << (with_key ? B64(pair.key_pem.Reveal()) : std::string());
  out << YAML::EndMap;
}

std::string Render(const ClusterSpec& spec, const Node& node,
                   const SecretsBundle& b, absl::string_view schematic_id,
                   absl::string_view preauth_key, int prefix) {
  const bool cp = node.role() == coldstart::v1::NODE_ROLE_CONTROL_PLANE;
  const auto& net = spec.network();
  const uint32_t api_port = net.api_port() == 0 ? 6443 : net.api_port();
  std::vector<std::string> sans = {net.bootstrap_endpoint(), net.api_vip()};
  for (const std::string& san : spec.talos().cert_sans()) sans.push_back(san);

  YAML::Emitter out;
  out << YAML::BeginMap;
  out << YAML::Key << "version" << YAML::Value << "v1alpha1";
  out << YAML::Key << "debug" << YAML::Value << false;
  out << YAML::Key << "persist" << YAML::Value << true;

  // --- machine ---
  out << YAML::Key << "machine" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "type" << YAML::Value << (cp ? "controlplane" : "worker");
  out << YAML::Key << "token" << YAML::Value
      << std::string(b.trustd_token.Reveal());
  CaPair(out, "ca", b.os_ca, cp);
  StringList(out, "certSANs", sans);
  out << YAML::Key << "kubelet" << YAML::Value << YAML::BeginMap;
  if (!spec.versions().kubernetes().empty()) {
    out << YAML::Key << "image" << YAML::Value
        << absl::StrCat("ghcr.io/siderolabs/kubelet:v",
                        spec.versions().kubernetes());
  }
  out << YAML::Key << "nodeIP" << YAML::Value << YAML::BeginMap;
  StringList(out, "validSubnets", {net.node_subnet()});
  out << YAML::EndMap << YAML::EndMap;
  if (node.labels_size() > 0) {
    out << YAML::Key << "nodeLabels" << YAML::Value << YAML::BeginMap;
    std::map<std::string, std::string> labels(node.labels().begin(),
                                              node.labels().end());
    for (const auto& [k, v] : labels) out << YAML::Key << k << YAML::Value << v;
    out << YAML::EndMap;
  }
  out << YAML::Key << "network" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "hostname" << YAML::Value << node.name();
  StringList(out, "nameservers",
             {net.nameservers().begin(), net.nameservers().end()});
  out << YAML::Key << "interfaces" << YAML::Value << YAML::BeginSeq;
  out << YAML::BeginMap;
  out << YAML::Key << "deviceSelector" << YAML::Value << YAML::BeginMap
      << YAML::Key << "physical" << YAML::Value << true << YAML::EndMap;
  out << YAML::Key << "dhcp" << YAML::Value << false;
  StringList(out, "addresses", {absl::StrCat(node.ip(), "/", prefix)});
  out << YAML::Key << "routes" << YAML::Value << YAML::BeginSeq
      << YAML::BeginMap << YAML::Key << "network" << YAML::Value << "0.0.0.0/0"
      << YAML::Key << "gateway" << YAML::Value << net.gateway() << YAML::EndMap
      << YAML::EndSeq;
  if (cp) {
    out << YAML::Key << "vip" << YAML::Value << YAML::BeginMap << YAML::Key
        << "ip" << YAML::Value << net.api_vip() << YAML::EndMap;
  }
  out << YAML::EndMap << YAML::EndSeq;
  out << YAML::EndMap;  // network
  out << YAML::Key << "install" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "disk" << YAML::Value
      << (spec.talos().install_disk().empty() ? "/dev/sda"
                                              : spec.talos().install_disk());
  out << YAML::Key << "image" << YAML::Value
      << InstallerImage(spec, schematic_id);
  out << YAML::Key << "wipe" << YAML::Value << false;
  out << YAML::EndMap;
  if (net.ntp_servers_size() > 0) {
    out << YAML::Key << "time" << YAML::Value << YAML::BeginMap;
    StringList(out, "servers",
               {net.ntp_servers().begin(), net.ntp_servers().end()});
    out << YAML::EndMap;
  }
  if (spec.talos().registry_mirrors_size() > 0) {
    out << YAML::Key << "registries" << YAML::Value << YAML::BeginMap;
    out << YAML::Key << "mirrors" << YAML::Value << YAML::BeginMap;
    for (const auto& mirror : spec.talos().registry_mirrors()) {
      out << YAML::Key << mirror.registry() << YAML::Value << YAML::BeginMap;
      StringList(out, "endpoints",
                 {mirror.endpoints().begin(), mirror.endpoints().end()});
      out << YAML::EndMap;
    }
    out << YAML::EndMap << YAML::EndMap;
  }
  out << YAML::Key << "features" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "rbac" << YAML::Value << true;
  out << YAML::Key << "stableHostname" << YAML::Value << true;
  out << YAML::Key << "apidCheckExtKeyUsage" << YAML::Value << true;
  out << YAML::Key << "diskQuotaSupport" << YAML::Value << true;
  out << YAML::Key << "kubePrism" << YAML::Value << YAML::BeginMap << YAML::Key
      << "enabled" << YAML::Value << true << YAML::Key << "port" << YAML::Value
      << 7445 << YAML::EndMap;
  out << YAML::Key << "hostDNS" << YAML::Value << YAML::BeginMap << YAML::Key
      << "enabled" << YAML::Value << true << YAML::Key << "forwardKubeDNSToHost"
      << YAML::Value << false << YAML::EndMap;
  out << YAML::EndMap;  // features
  out << YAML::EndMap;  // machine

  // --- cluster ---
  out << YAML::Key << "cluster" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "id" << YAML::Value << b.cluster_id;
  out << YAML::Key << "secret" << YAML::Value
      << std::string(b.cluster_secret.Reveal());
  out << YAML::Key << "clusterName" << YAML::Value << spec.name();
  out << YAML::Key << "controlPlane" << YAML::Value << YAML::BeginMap
      << YAML::Key << "endpoint" << YAML::Value
      << absl::StrCat("https://", net.api_vip(), ":", api_port) << YAML::EndMap;
  out << YAML::Key << "network" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "dnsDomain" << YAML::Value << "cluster.local";
  StringList(out, "podSubnets",
             {net.pod_cidr().empty() ? "10.244.0.0/16" : net.pod_cidr()});
  StringList(
      out, "serviceSubnets",
      {net.service_cidr().empty() ? "10.96.0.0/12" : net.service_cidr()});
  out << YAML::Key << "cni" << YAML::Value << YAML::BeginMap << YAML::Key
      << "name" << YAML::Value << "none" << YAML::EndMap;
  out << YAML::EndMap;  // network
  out << YAML::Key << "proxy" << YAML::Value << YAML::BeginMap << YAML::Key
      << "disabled" << YAML::Value << true << YAML::EndMap;
  out << YAML::Key << "token" << YAML::Value
      << std::string(b.bootstrap_token.Reveal());
  if (cp) {
    out << YAML::Key << "secretboxEncryptionSecret" << YAML::Value
        << std::string(b.secretbox_secret.Reveal());
  }
  CaPair(out, "ca", b.kubernetes_ca, cp);
  if (cp) {
    CaPair(out, "aggregatorCA", b.aggregator_ca, true);
    out << YAML::Key << "serviceAccount" << YAML::Value << YAML::BeginMap
        << YAML::Key << "key" << YAML::Value
        << B64(b.service_account_key.Reveal()) << YAML::EndMap;
    out << YAML::Key << "etcd" << YAML::Value << YAML::BeginMap;
    CaPair(out, "ca", b.etcd_ca, true);
    out << YAML::EndMap;
    out << YAML::Key << "apiServer" << YAML::Value << YAML::BeginMap;
    StringList(out, "certSANs", sans);
    out << YAML::EndMap;
  }
  out << YAML::Key << "discovery" << YAML::Value << YAML::BeginMap << YAML::Key
      << "enabled" << YAML::Value << false << YAML::EndMap;
  out << YAML::EndMap;  // cluster
  out << YAML::EndMap;
  std::string text = absl::StrCat(out.c_str(), "\n");

  // --- Tailscale extension ---
  const auto& mesh = spec.mesh();
  if (!mesh.headscale_url().empty()) {
    YAML::Emitter ts;
    ts << YAML::BeginMap;
    ts << YAML::Key << "apiVersion" << YAML::Value << "v1alpha1";
    ts << YAML::Key << "kind" << YAML::Value << "ExtensionServiceConfig";
    ts << YAML::Key << "name" << YAML::Value << "tailscale";
    ts << YAML::Key << "environment" << YAML::Value << YAML::BeginSeq;
    if (!preauth_key.empty()) ts << absl::StrCat("TS_AUTHKEY=", preauth_key);
    ts << absl::StrCat("TS_EXTRA_ARGS=--login-server=", mesh.headscale_url());
    ts << absl::StrCat("TS_HOSTNAME=", node.name());
    if (mesh.advertise_routes_size() > 0) {
      ts << absl::StrCat("TS_ROUTES=",
                         absl::StrJoin(mesh.advertise_routes(), ","));
    }
    ts << "TS_AUTH_ONCE=true";
    ts << YAML::EndSeq << YAML::EndMap;
    absl::StrAppend(&text, "---\n", ts.c_str(), "\n");
  }
  return text;
}

}  // namespace

std::string InstallerImage(const ClusterSpec& spec,
                           absl::string_view schematic_id) {
  absl::string_view host = spec.image().factory_url();
  absl::ConsumePrefix(&host, "https://");
  absl::ConsumePrefix(&host, "http://");
  host = absl::StripSuffix(host, "/");
  const std::string& version = spec.versions().talos();
  const std::string platform =
      spec.image().platform().empty() ? "nocloud" : spec.image().platform();
  const std::pair<int, int> mm = MajorMinor(version);
  const bool platform_installer = mm >= std::make_pair(1, 10);
  return absl::StrCat(
      host, "/", platform_installer ? platform + "-installer" : "installer",
      "/", schematic_id, ":", version);
}

absl::StatusOr<MachineConfig> RenderMachineConfig(
    const ClusterSpec& spec, const Node& node, const SecretsBundle& bundle,
    absl::string_view schematic_id, const Secret& preauth_key) {
  const auto& net = spec.network();
  std::pair<std::string, std::string> subnet =
      absl::StrSplit(net.node_subnet(), absl::MaxSplits('/', 1));
  int prefix = 0;
  if (!absl::SimpleAtoi(subnet.second, &prefix) || prefix < 0 || prefix > 32) {
    return absl::InvalidArgumentError(absl::StrCat(
        "spec.network.node_subnet \"", net.node_subnet(), "\" is not a CIDR"));
  }
  if (net.gateway().empty() || net.api_vip().empty() ||
      net.bootstrap_endpoint().empty()) {
    return absl::InvalidArgumentError(
        "spec.network needs gateway, api_vip and bootstrap_endpoint");
  }
  if (node.role() != coldstart::v1::NODE_ROLE_CONTROL_PLANE &&
      node.role() != coldstart::v1::NODE_ROLE_WORKER) {
    return absl::InvalidArgumentError(
        absl::StrCat("node ", node.name(), " has no role"));
  }
  if (schematic_id.empty()) {
    return absl::FailedPreconditionError(
        "no Image Factory schematic id (status.provision.image.schematic_id); "
        "run provision-vms first");
  }
  MachineConfig config;
  config.yaml = Secret(
      Render(spec, node, bundle, schematic_id, preauth_key.Reveal(), prefix));
  const std::string hashed =
      Render(spec, node, bundle, schematic_id,
             preauth_key.empty() ? absl::string_view() : kPreauthKeyPlaceholder,
             prefix);
  config.sha256 = HexEncode(Sha256(hashed));
  return config;
}

}  // namespace coldstart
