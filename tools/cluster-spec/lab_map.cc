#include "tools/cluster-spec/lab_map.h"

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "lib/base/status_macros.h"
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

}  // namespace

namespace {

void MapNetwork(LabMapper& map, v1::ClusterSpec& spec) {
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
}

// Proxmox, the Image Factory and Headscale: the lab's fixed endpoints.
void MapServices(LabMapper& map, const std::string& lab_ca_file,
                 v1::ClusterSpec& spec) {
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
}

void MapVps(LabMapper& map, v1::VpsSpec& vps) {
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

void MapDns(LabMapper& map, const std::string& lab_ca_file, v1::DnsSpec& dns) {
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
  if (dns.has_vps()) MapVps(map, *dns.mutable_vps());
  if (dns.has_route53()) {
    dns.mutable_route53()->set_endpoint(kLabRoute53);
    dns.mutable_route53()->set_ca_file(lab_ca_file);
  }
}

}  // namespace

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
  MapNetwork(map, spec);
  MapServices(map, lab_ca_file, spec);
  for (std::string& san : *spec.mutable_talos()->mutable_cert_sans()) {
    san = map.Address(san);
  }
  if (spec.has_dns()) MapDns(map, lab_ca_file, *spec.mutable_dns());
  for (v1::Check& check : *spec.mutable_verify()->mutable_checks()) {
    if (check.has_service()) {
      check.mutable_service()->set_load_balancer_ip(
          map.Address(check.service().load_balancer_ip()));
    }
  }
  RETURN_IF_ERROR(map.error());
  return lab;
}

}  // namespace coldstart
