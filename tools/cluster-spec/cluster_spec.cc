#include "tools/cluster-spec/cluster_spec.h"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "lib/base/status_macros.h"
#include "lib/cli/cli.h"
#include "lib/cli/cluster_textproto.h"
#include "lib/cli/spec_validation.h"
#include "lib/net/ipv4.h"

namespace coldstart {
namespace {

namespace v1 = ::coldstart::v1;

// The lab's fixed endpoints (cluster.proto documents the same table).
constexpr char kLabProxmox[] = "https://127.0.10.1:8006/api2/json";
constexpr char kLabFactory[] = "https://127.0.10.2:8443";
constexpr char kLabHeadscale[] = "https://127.0.10.3:8443";
constexpr char kLabRoute53[] = "https://127.0.10.4:8443";
constexpr char kLabVps[] = "127.0.10.5";
constexpr char kLabResolver[] = "127.0.10.53";
constexpr uint32_t kLabEndpointBlock = 0x7f000a00;  // 127.0.10.0/24

class LabMapper {
 public:
  explicit LabMapper(Ipv4Prefix subnet) : subnet_(subnet) {}

  // Addresses inside the node subnet get first octet 127; others are kept.
  std::string Address(const std::string& text) {
    std::optional<uint32_t> address = ParseIpv4(text);
    if (!address || !subnet_.Contains(*address)) return text;
    const uint32_t mapped = (127u << 24) | (*address & 0x00ffffff);
    if ((mapped & 0xffffff00) == kLabEndpointBlock && error_.ok()) {
      error_ = absl::InvalidArgumentError(absl::StrCat(
          "lab-map: ", text, " maps to ", FormatIpv4(mapped),
          ", which the lab uses for its own endpoints (127.0.10.0/24)"));
    }
    return FormatIpv4(mapped);
  }

  std::string Prefix(const std::string& text) {
    std::optional<Ipv4Prefix> prefix = ParseIpv4Prefix(text);
    if (!prefix || !subnet_.Contains(prefix->network)) return text;
    return absl::StrCat(Address(FormatIpv4(prefix->network)), "/",
                        prefix->length);
  }

  // Ports below 1024 move up by 8000 so the lab runs unprivileged.
  static std::string Port(absl::string_view port) {
    int number = 0;
    if (absl::SimpleAtoi(port, &number) && number > 0 && number < 1024) {
      return absl::StrCat(number + 8000);
    }
    return std::string(port);
  }

  std::string HostPort(const std::string& text) {
    const size_t colon = text.rfind(':');
    if (colon == std::string::npos) return Address(text);
    return absl::StrCat(Address(text.substr(0, colon)), ":",
                        Port(absl::string_view(text).substr(colon + 1)));
  }

  // "scheme://host[:port]/path" with the host mapped (port kept).
  std::string Url(const std::string& url) {
    const size_t scheme_end = url.find("://");
    if (scheme_end == std::string::npos) return url;
    const size_t host_start = scheme_end + 3;
    const size_t host_end = url.find_first_of(":/", host_start);
    const std::string host = url.substr(host_start, host_end - host_start);
    return absl::StrCat(
        url.substr(0, host_start), Address(host),
        host_end == std::string::npos ? "" : url.substr(host_end));
  }

  const absl::Status& error() const { return error_; }

 private:
  Ipv4Prefix subnet_;
  absl::Status error_;
};

std::string RoleName(v1::NodeRole role) {
  switch (role) {
    case v1::NODE_ROLE_CONTROL_PLANE:
      return "control-plane";
    case v1::NODE_ROLE_WORKER:
      return "worker";
    default:
      return "?";
  }
}

// Left-aligned columns separated by two spaces, no trailing blanks.
std::string Table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths;
  for (const auto& row : rows) {
    widths.resize(std::max(widths.size(), row.size()));
    for (size_t i = 0; i < row.size(); ++i) {
      widths[i] = std::max(widths[i], row[i].size());
    }
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line.append(widths[i] - row[i].size() + 2, ' ');
    }
    line.erase(line.find_last_not_of(' ') + 1);
    absl::StrAppend(&out, line, "\n");
  }
  return out;
}

}  // namespace

std::string RenderPlan(const v1::Cluster& cluster) {
  const v1::ClusterSpec& spec = cluster.spec();
  const v1::NetworkPlan& network = spec.network();
  const uint32_t api_port = network.api_port() ? network.api_port() : 6443;
  std::string out = absl::StrCat(
      "cluster ", spec.name(), ": Talos ", spec.versions().talos(),
      ", Kubernetes ", spec.versions().kubernetes(), ", Cilium ",
      spec.versions().cilium(), "\n", "network ", network.node_subnet(),
      " gateway ", network.gateway(), ", pods ", network.pod_cidr(),
      ", services ", network.service_cidr(), "\n\n");
  std::vector<std::vector<std::string>> nodes = {{"NAME", "ROLE", "VMID", "IP",
                                                  "CPU", "MEMORY", "DISK",
                                                  "PVE NODE", "STORAGE"}};
  for (const v1::Node& node : spec.nodes()) {
    nodes.push_back({node.name(), RoleName(node.role()),
                     absl::StrCat(node.vmid()), node.ip(),
                     absl::StrCat(node.cores()),
                     absl::StrCat(node.memory_mib(), " MiB"),
                     absl::StrCat(node.disk_gib(), " GiB"), node.proxmox_node(),
                     node.storage().empty() ? spec.proxmox().vm_storage()
                                            : node.storage()});
  }
  absl::StrAppend(&out, Table(nodes), "\n");
  std::vector<std::vector<std::string>> vips = {
      {"VIP", "ADDRESS", "USE"},
      {"api", absl::StrCat(network.api_vip(), ":", api_port),
       absl::StrCat("Kubernetes API (bootstrap via ",
                    network.bootstrap_endpoint(), ":", api_port, ")")},
      {"ingress", network.ingress_vip(), "ingress-nginx"},
      {"dns", network.dns_vip(), "cluster PowerDNS"},
  };
  absl::StrAppend(&out, Table(vips), "\n");
  std::vector<std::vector<std::string>> endpoints = {{"ENDPOINT", "ADDRESS"}};
  endpoints.push_back({"proxmox", spec.proxmox().endpoint()});
  endpoints.push_back({"image factory", spec.image().factory_url()});
  if (spec.has_mesh()) {
    endpoints.push_back({"headscale", spec.mesh().headscale_url()});
  }
  if (spec.has_gitops()) {
    endpoints.push_back({"gitops", absl::StrCat(spec.gitops().repo_url(), " (",
                                                spec.gitops().branch(), ":",
                                                spec.gitops().path(), ")")});
  }
  if (spec.has_dns()) {
    const v1::DnsSpec& dns = spec.dns();
    endpoints.push_back({"cluster powerdns", dns.cluster_powerdns().api_url()});
    if (dns.has_vps()) {
      endpoints.push_back({"vps powerdns", dns.vps().powerdns().api_url()});
      if (dns.vps().has_sni_passthrough()) {
        endpoints.push_back(
            {"vps sni passthrough",
             absl::StrCat(dns.vps().sni_passthrough().listen(), " -> ",
                          dns.vps().sni_passthrough().target())});
      }
    }
    if (dns.has_route53()) {
      endpoints.push_back(
          {"route53", absl::StrCat(dns.route53().endpoint().empty()
                                       ? "https://route53.amazonaws.com"
                                       : dns.route53().endpoint(),
                                   " (", dns.route53().parent_zone(), ", ",
                                   dns.route53().hosted_zone_id(), ")")});
    }
    endpoints.push_back(
        {"dns zone", absl::StrCat(dns.zone(), " via ",
                                  absl::StrJoin(dns.nameservers(), ", "))});
  }
  absl::StrAppend(&out, Table(endpoints));
  return out;
}

absl::StatusOr<v1::Cluster> LabMap(const v1::Cluster& cluster,
                                   const std::string& lab_ca_file) {
  std::optional<Ipv4Prefix> subnet =
      ParseIpv4Prefix(cluster.spec().network().node_subnet());
  if (!subnet) {
    return absl::InvalidArgumentError(
        "lab-map: spec.network.node_subnet is not a valid prefix");
  }
  if (subnet->length < 8) {
    return absl::InvalidArgumentError(
        absl::StrCat("lab-map: node subnet ", subnet->ToString(),
                     " is wider than /8 and cannot be mapped into "
                     "127.0.0.0/8"));
  }
  LabMapper map(*subnet);
  v1::Cluster lab = cluster;
  lab.clear_status();
  v1::ClusterSpec& spec = *lab.mutable_spec();

  v1::NetworkPlan& network = *spec.mutable_network();
  network.set_node_subnet(map.Prefix(network.node_subnet()));
  network.set_gateway(map.Address(network.gateway()));
  if (network.nameservers_size() > 0) {
    network.clear_nameservers();
    network.add_nameservers(kLabResolver);
  }
  network.set_api_vip(map.Address(network.api_vip()));
  network.set_bootstrap_endpoint(map.Address(network.bootstrap_endpoint()));
  network.set_ingress_vip(map.Address(network.ingress_vip()));
  network.set_dns_vip(map.Address(network.dns_vip()));
  for (v1::Node& node : *spec.mutable_nodes()) {
    node.set_ip(map.Address(node.ip()));
  }

  if (spec.has_proxmox()) {
    v1::ProxmoxSpec& proxmox = *spec.mutable_proxmox();
    proxmox.set_endpoint(kLabProxmox);
    proxmox.set_ca_file(lab_ca_file);
    proxmox.clear_cert_sha256();
  }
  if (spec.has_image()) {
    spec.mutable_image()->set_factory_url(kLabFactory);
    spec.mutable_image()->set_ca_file(lab_ca_file);
  }
  if (spec.has_mesh()) {
    v1::MeshSpec& mesh = *spec.mutable_mesh();
    mesh.set_headscale_url(kLabHeadscale);
    mesh.set_ca_file(lab_ca_file);
    for (std::string& route : *mesh.mutable_advertise_routes()) {
      route = map.Prefix(route);
    }
  }
  for (std::string& san : *spec.mutable_talos()->mutable_cert_sans()) {
    san = map.Address(san);
  }
  if (spec.has_dns()) {
    v1::DnsSpec& dns = *spec.mutable_dns();
    for (v1::DnsRecord& record : *dns.mutable_records()) {
      if (record.type() != "A") continue;
      for (std::string& content : *record.mutable_contents()) {
        content = map.Address(content);
      }
    }
    if (dns.has_cluster_powerdns()) {
      v1::PowerDnsEndpoint& pdns = *dns.mutable_cluster_powerdns();
      pdns.set_api_url(map.Url(pdns.api_url()));
      pdns.set_dns_address(map.HostPort(pdns.dns_address()));
    }
    if (dns.has_vps()) {
      v1::VpsSpec& vps = *dns.mutable_vps();
      vps.set_address(kLabVps);
      if (vps.has_powerdns()) {
        vps.mutable_powerdns()->set_api_url(
            absl::StrCat("http://", kLabVps, ":8081/api/v1"));
        vps.mutable_powerdns()->set_dns_address(
            absl::StrCat(kLabVps, ":", LabMapper::Port("53")));
      }
      if (vps.has_sni_passthrough()) {
        v1::SniPassthrough& sni = *vps.mutable_sni_passthrough();
        sni.set_listen(absl::StrCat(kLabVps, ":", LabMapper::Port("443")));
        sni.set_target(map.HostPort(sni.target()));
      }
    }
    if (dns.has_route53()) {
      dns.mutable_route53()->set_endpoint(kLabRoute53);
      dns.mutable_route53()->set_ca_file(lab_ca_file);
    }
  }
  for (v1::Check& check : *spec.mutable_verify()->mutable_checks()) {
    if (check.has_service()) {
      check.mutable_service()->set_load_balancer_ip(
          map.Address(check.service().load_balancer_ip()));
    }
  }
  RETURN_IF_ERROR(map.error());
  return lab;
}

absl::Status RunClusterSpec(const ClusterSpecOptions& options,
                            std::ostream& out) {
  if (options.command != "validate" && options.command != "plan" &&
      options.command != "lab-map") {
    return absl::InvalidArgumentError(
        absl::StrCat("cluster-spec: unknown command \"", options.command,
                     "\" (use validate, plan or lab-map; see --help)"));
  }
  ASSIGN_OR_RETURN(
      ParsedCluster parsed,
      ReadClusterFile(options.input.empty() ? "-" : options.input));
  RETURN_IF_ERROR(ValidateParsedCluster(parsed));
  v1::Cluster result = parsed.cluster;
  if (options.command == "plan") {
    out << RenderPlan(result);
    return absl::OkStatus();
  }
  if (options.command == "lab-map") {
    ASSIGN_OR_RETURN(result, LabMap(result, options.lab_ca_file));
    std::vector<SpecProblem> problems = ValidateCluster(result);
    if (!problems.empty()) {
      return absl::InternalError(
          absl::StrCat("lab-map produced an invalid spec (a bug): ",
                       problems[0].path.ToString(), ": ", problems[0].message));
    }
  }
  result.set_schema_version(kSchemaVersion);
  ASSIGN_OR_RETURN(std::string text, FormatCluster(result, options.output));
  out << text;
  out.flush();
  if (!out)
    return absl::UnavailableError("cluster-spec: writing stdout failed");
  return absl::OkStatus();
}

}  // namespace coldstart
