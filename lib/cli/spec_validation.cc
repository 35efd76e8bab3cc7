#include "lib/cli/spec_validation.h"

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "lib/cli/cluster_textproto.h"
#include "lib/cli/field_path.h"
#include "lib/net/ipv4.h"
#include "re2/re2.h"

namespace coldstart {
namespace {

namespace v1 = ::coldstart::v1;

re2::StringPiece Piece(absl::string_view text) {
  return re2::StringPiece(text.data(), text.size());
}

bool IsDnsLabel(absl::string_view label) {
  static const LazyRE2 kLabel = {"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?"};
  return RE2::FullMatch(Piece(label), *kLabel);
}

// A DNS name without the trailing dot; "*" allowed as the first label when
// `wildcard`.
bool IsDnsName(absl::string_view name, bool wildcard = false) {
  if (name.empty() || name.size() > 253) return false;
  std::vector<absl::string_view> labels = absl::StrSplit(name, '.');
  for (size_t i = 0; i < labels.size(); ++i) {
    if (wildcard && i == 0 && labels[i] == "*" && labels.size() > 1) continue;
    std::string lower(labels[i]);
    for (char& c : lower) c = static_cast<char>(std::tolower(c));
    if (!IsDnsLabel(lower)) return false;
  }
  return true;
}

// "http(s)://host[:port][/path]" with a non-empty host.
bool IsUrl(absl::string_view url, bool https_only) {
  static const LazyRE2 kUrl = {R"((https?)://[^/:\s]+(:[0-9]{1,5})?(/\S*)?)"};
  std::string scheme;
  if (!RE2::FullMatch(Piece(url), *kUrl, &scheme)) return false;
  return !https_only || scheme == "https";
}

bool IsHostPort(absl::string_view text) {
  static const LazyRE2 kHostPort = {R"([^\s:]+:[0-9]{1,5})"};
  return RE2::FullMatch(Piece(text), *kHostPort);
}

class Validator {
 public:
  std::vector<SpecProblem> Run(const v1::Cluster& cluster) {
    if (cluster.schema_version() == 0) {
      Add(FieldPath().Child("schema_version"),
          absl::StrCat("required (this coldstart writes ", kSchemaVersion,
                       ")"));
    }
    const FieldPath spec_path = FieldPath().Child("spec");
    if (!cluster.has_spec()) {
      Add(spec_path, "required");
      return std::move(problems_);
    }
    const v1::ClusterSpec& spec = cluster.spec();
    Name(spec_path, spec);
    Versions(spec_path.Child("versions"), spec);
    Network(spec_path.Child("network"), spec);
    Nodes(spec_path, spec);
    NetworkAddresses(spec_path.Child("network"), spec);
    Proxmox(spec_path.Child("proxmox"), spec);
    Image(spec_path.Child("image"), spec);
    Mesh(spec_path.Child("mesh"), spec);
    Talos(spec_path.Child("talos"), spec);
    SealedSecrets(spec_path.Child("sealed_secrets"), spec);
    Gitops(spec_path.Child("gitops"), spec);
    Dns(spec_path.Child("dns"), spec);
    Verify(spec_path.Child("verify"), spec);
    return std::move(problems_);
  }

 private:
  void Add(FieldPath path, std::string message) {
    problems_.push_back({std::move(path), std::move(message)});
  }

  // Reports "required" for an empty value; returns whether it is set.
  bool Required(const FieldPath& path, absl::string_view value) {
    if (value.empty()) {
      Add(path, "required");
      return false;
    }
    return true;
  }

  void RequiredLayer(const FieldPath& path, bool present) {
    if (!present) Add(path, "required");
  }

  // A SecretRef must name a key when it is required or present.
  void Secret(const FieldPath& path, bool present, const v1::SecretRef& ref,
              bool required) {
    if (!present) {
      if (required) Add(path, "required (a keystore item: key: \"...\")");
      return;
    }
    if (ref.key().empty()) Add(path.Child("key"), "required");
  }

  std::optional<uint32_t> Address(const FieldPath& path, absl::string_view text,
                                  bool required) {
    if (text.empty()) {
      if (required) Add(path, "required");
      return std::nullopt;
    }
    std::optional<uint32_t> address = ParseIpv4(text);
    if (!address) {
      Add(path, absl::StrCat("\"", text, "\" is not an IPv4 address"));
    }
    return address;
  }

  std::optional<Ipv4Prefix> Prefix(const FieldPath& path,
                                   absl::string_view text) {
    if (!Required(path, text)) return std::nullopt;
    std::optional<Ipv4Prefix> prefix = ParseIpv4Prefix(text);
    if (!prefix) {
      Add(path, absl::StrCat("\"", text,
                             "\" is not an IPv4 prefix like 10.0.0.0/16 "
                             "(host bits zero)"));
    }
    return prefix;
  }

  void Url(const FieldPath& path, absl::string_view url, bool required,
           bool https_only) {
    if (url.empty()) {
      if (required) Add(path, "required");
      return;
    }
    if (!IsUrl(url, https_only)) {
      Add(path, absl::StrCat("\"", url, "\" is not an ",
                             https_only ? "https" : "http(s)", " URL"));
    }
  }

  void Name(const FieldPath& spec_path, const v1::ClusterSpec& spec) {
    const FieldPath path = spec_path.Child("name");
    if (!Required(path, spec.name())) return;
    if (!IsDnsLabel(spec.name())) {
      Add(path, absl::StrCat("\"", spec.name(),
                             "\" is not a DNS label ([a-z0-9-], at most 63 "
                             "characters)"));
    }
  }

  void Versions(const FieldPath& path, const v1::ClusterSpec& spec) {
    if (!spec.has_versions()) return RequiredLayer(path, false);
    const v1::Versions& versions = spec.versions();
    static const LazyRE2 kTalos = {R"(v[0-9]+\.[0-9]+\.[0-9]+)"};
    static const LazyRE2 kPlain = {R"([0-9]+\.[0-9]+\.[0-9]+)"};
    if (Required(path.Child("talos"), versions.talos()) &&
        !RE2::FullMatch(versions.talos(), *kTalos)) {
      Add(path.Child("talos"),
          absl::StrCat("\"", versions.talos(),
                       "\" is not a Talos version like v1.9.1"));
    }
    if (Required(path.Child("kubernetes"), versions.kubernetes()) &&
        !RE2::FullMatch(versions.kubernetes(), *kPlain)) {
      Add(path.Child("kubernetes"),
          absl::StrCat("\"", versions.kubernetes(),
                       "\" is not a Kubernetes version like 1.32.1 (no "
                       "leading v)"));
    }
    if (Required(path.Child("cilium"), versions.cilium()) &&
        !RE2::FullMatch(versions.cilium(), *kPlain)) {
      Add(path.Child("cilium"),
          absl::StrCat("\"", versions.cilium(),
                       "\" is not a Cilium version like 1.16.5 (no leading "
                       "v)"));
    }
  }

  void Network(const FieldPath& path, const v1::ClusterSpec& spec) {
    if (!spec.has_network()) return RequiredLayer(path, false);
    const v1::NetworkPlan& network = spec.network();
    subnet_ = Prefix(path.Child("node_subnet"), network.node_subnet());
    if (subnet_ && subnet_->length > 30) {
      Add(path.Child("node_subnet"),
          absl::StrCat(subnet_->ToString(), " is too small for a cluster"));
      subnet_.reset();
    }
    for (int i = 0; i < network.nameservers_size(); ++i) {
      Address(path.Child("nameservers", i), network.nameservers(i), true);
    }
    for (int i = 0; i < network.ntp_servers_size(); ++i) {
      const std::string& server = network.ntp_servers(i);
      if (!ParseIpv4(server) && !IsDnsName(server)) {
        Add(path.Child("ntp_servers", i),
            absl::StrCat("\"", server,
                         "\" is neither a host name nor an "
                         "IPv4 address"));
      }
    }
    std::optional<Ipv4Prefix> pods =
        Prefix(path.Child("pod_cidr"), network.pod_cidr());
    std::optional<Ipv4Prefix> services =
        Prefix(path.Child("service_cidr"), network.service_cidr());
    if (pods && subnet_ && pods->Overlaps(*subnet_)) {
      Add(path.Child("pod_cidr"),
          absl::StrCat(pods->ToString(), " overlaps the node subnet ",
                       subnet_->ToString()));
    }
    if (services && subnet_ && services->Overlaps(*subnet_)) {
      Add(path.Child("service_cidr"),
          absl::StrCat(services->ToString(), " overlaps the node subnet ",
                       subnet_->ToString()));
    }
    if (pods && services && pods->Overlaps(*services)) {
      Add(path.Child("service_cidr"),
          absl::StrCat(services->ToString(), " overlaps the pod CIDR ",
                       pods->ToString()));
    }
    if (network.api_port() > 65535) {
      Add(path.Child("api_port"),
          absl::StrCat(network.api_port(), " is not a TCP port"));
    }
  }

  // An address that must be a usable host address of the node subnet.
  bool InSubnet(const FieldPath& path, uint32_t address,
                absl::string_view what) {
    if (!subnet_) return true;
    if (!subnet_->Contains(address)) {
      Add(path,
          absl::StrCat(FormatIpv4(address), " is outside the node subnet ",
                       subnet_->ToString()));
      return false;
    }
    if (address == subnet_->network || address == subnet_->Broadcast()) {
      Add(path,
          absl::StrCat(FormatIpv4(address), " is the ",
                       address == subnet_->network ? "network" : "broadcast",
                       " address of ", subnet_->ToString(), ", not usable as ",
                       what));
      return false;
    }
    return true;
  }

  void Nodes(const FieldPath& spec_path, const v1::ClusterSpec& spec) {
    const FieldPath nodes_path = spec_path.Child("nodes");
    if (spec.nodes_size() == 0) {
      Add(nodes_path, "required (at least one control plane)");
      return;
    }
    std::map<std::string, int> names;
    std::map<uint32_t, int> vmids;
    int control_planes = 0;
    for (int i = 0; i < spec.nodes_size(); ++i) {
      const v1::Node& node = spec.nodes(i);
      const FieldPath path = spec_path.Child("nodes", i);
      if (Required(path.Child("name"), node.name())) {
        if (!IsDnsLabel(node.name())) {
          Add(path.Child("name"),
              absl::StrCat("\"", node.name(),
                           "\" is not a DNS label ([a-z0-9-], at most 63 "
                           "characters)"));
        } else if (auto [it, fresh] = names.emplace(node.name(), i); !fresh) {
          Add(path.Child("name"),
              absl::StrCat("duplicate node name \"", node.name(),
                           "\" (also spec.nodes[", it->second, "])"));
        }
      }
      switch (node.role()) {
        case v1::NODE_ROLE_CONTROL_PLANE:
          ++control_planes;
          break;
        case v1::NODE_ROLE_WORKER:
          break;
        default:
          Add(path.Child("role"),
              "required (NODE_ROLE_CONTROL_PLANE or NODE_ROLE_WORKER)");
      }
      if (node.vmid() == 0) {
        Add(path.Child("vmid"), "required");
      } else if (node.vmid() < 100 || node.vmid() > 999999999) {
        Add(path.Child("vmid"),
            absl::StrCat("VMID ", node.vmid(), " is outside 100..999999999"));
      } else if (auto [it, fresh] = vmids.emplace(node.vmid(), i); !fresh) {
        Add(path.Child("vmid"),
            absl::StrCat("duplicate VMID ", node.vmid(), " (also spec.nodes[",
                         it->second, "])"));
      }
      if (std::optional<uint32_t> ip =
              Address(path.Child("ip"), node.ip(), true)) {
        if (InSubnet(path.Child("ip"), *ip, "a node IP")) {
          if (auto [it, fresh] = node_ips_.emplace(*ip, i); !fresh) {
            Add(path.Child("ip"),
                absl::StrCat("duplicate IP ", node.ip(), " (also spec.nodes[",
                             it->second, "])"));
          }
        }
        if (node.role() == v1::NODE_ROLE_CONTROL_PLANE) {
          control_plane_ips_.insert(*ip);
        }
      }
      if (node.cores() == 0) Add(path.Child("cores"), "required");
      if (node.memory_mib() == 0) {
        Add(path.Child("memory_mib"), "required");
      } else if (node.memory_mib() < 1024) {
        Add(path.Child("memory_mib"),
            absl::StrCat(node.memory_mib(),
                         " MiB is below what Talos needs (at least 1024)"));
      }
      if (node.disk_gib() == 0) Add(path.Child("disk_gib"), "required");
      Required(path.Child("proxmox_node"), node.proxmox_node());
      if (node.storage().empty() && spec.proxmox().vm_storage().empty()) {
        Add(path.Child("storage"), "required (or set spec.proxmox.vm_storage)");
      }
    }
    if (control_planes % 2 == 0) {
      Add(nodes_path,
          absl::StrCat(control_planes,
                       " control planes; etcd needs an odd number (1, 3, 5)"));
    }
  }

  // Gateway, VIPs and bootstrap endpoint against the subnet, the nodes and
  // each other; runs after Nodes.
  void NetworkAddresses(const FieldPath& path, const v1::ClusterSpec& spec) {
    if (!spec.has_network()) return;
    const v1::NetworkPlan& network = spec.network();
    std::optional<uint32_t> gateway =
        Address(path.Child("gateway"), network.gateway(), true);
    if (gateway && InSubnet(path.Child("gateway"), *gateway, "the gateway")) {
      if (auto it = node_ips_.find(*gateway); it != node_ips_.end()) {
        Add(path.Child("gateway"), NodeClash(*gateway, it->second, spec));
      }
    }
    const std::pair<const char*, const std::string*> vips[] = {
        {"api_vip", &network.api_vip()},
        {"ingress_vip", &network.ingress_vip()},
        {"dns_vip", &network.dns_vip()},
    };
    std::map<uint32_t, std::string> seen;
    for (const auto& [field, text] : vips) {
      const FieldPath vip_path = path.Child(field);
      std::optional<uint32_t> vip = Address(vip_path, *text, true);
      if (!vip || !InSubnet(vip_path, *vip, "a VIP")) continue;
      if (auto it = node_ips_.find(*vip); it != node_ips_.end()) {
        Add(vip_path, NodeClash(*vip, it->second, spec));
      } else if (gateway && *vip == *gateway) {
        Add(vip_path, absl::StrCat(*text, " is also spec.network.gateway"));
      } else if (auto [other, fresh] = seen.emplace(*vip, field); !fresh) {
        Add(vip_path,
            absl::StrCat(*text, " is also spec.network.", other->second));
      }
    }
    std::optional<uint32_t> bootstrap = Address(
        path.Child("bootstrap_endpoint"), network.bootstrap_endpoint(), true);
    if (bootstrap && !control_plane_ips_.empty() &&
        control_plane_ips_.count(*bootstrap) == 0) {
      Add(path.Child("bootstrap_endpoint"),
          absl::StrCat(network.bootstrap_endpoint(),
                       " is not the IP of a control plane"));
    }
  }

  std::string NodeClash(uint32_t address, int node,
                        const v1::ClusterSpec& spec) {
    return absl::StrCat(FormatIpv4(address), " is also the IP of spec.nodes[",
                        node, "] (", spec.nodes(node).name(), ")");
  }

  void Proxmox(const FieldPath& path, const v1::ClusterSpec& spec) {
    if (!spec.has_proxmox()) return RequiredLayer(path, false);
    const v1::ProxmoxSpec& proxmox = spec.proxmox();
    Url(path.Child("endpoint"), proxmox.endpoint(), true, true);
    if (!proxmox.cert_sha256().empty()) {
      std::string hex;
      for (char c : proxmox.cert_sha256()) {
        if (c != ':') hex += c;
      }
      static const LazyRE2 kHex = {"[0-9a-fA-F]{64}"};
      if (!RE2::FullMatch(hex, *kHex)) {
        Add(path.Child("cert_sha256"),
            "not a SHA-256 fingerprint (64 hex digits, colons allowed)");
      }
    }
    Secret(path.Child("admin_credentials"), proxmox.has_admin_credentials(),
           proxmox.admin_credentials(), false);
    Secret(path.Child("provisioning_credentials"),
           proxmox.has_provisioning_credentials(),
           proxmox.provisioning_credentials(), true);
    std::set<std::string> roles;
    for (int i = 0; i < proxmox.roles_size(); ++i) {
      const v1::ProxmoxRole& role = proxmox.roles(i);
      const FieldPath role_path = path.Child("roles", i);
      if (Required(role_path.Child("name"), role.name()) &&
          !roles.insert(role.name()).second) {
        Add(role_path.Child("name"),
            absl::StrCat("duplicate role \"", role.name(), "\""));
      }
      if (role.privileges_size() == 0) {
        Add(role_path.Child("privileges"), "required");
      }
    }
    static const LazyRE2 kUserId = {R"([^\s@!:]+@[A-Za-z0-9._-]+)"};
    static const LazyRE2 kTokenId = {R"([A-Za-z][A-Za-z0-9._-]+)"};
    for (int i = 0; i < proxmox.users_size(); ++i) {
      const v1::ProxmoxUser& user = proxmox.users(i);
      const FieldPath user_path = path.Child("users", i);
      if (Required(user_path.Child("userid"), user.userid()) &&
          !RE2::FullMatch(user.userid(), *kUserId)) {
        Add(user_path.Child("userid"),
            absl::StrCat("\"", user.userid(), "\" is not user@realm"));
      }
      std::set<std::string> tokens;
      for (int j = 0; j < user.tokens_size(); ++j) {
        const v1::ProxmoxToken& token = user.tokens(j);
        const FieldPath token_path = user_path.Child("tokens", j);
        if (Required(token_path.Child("token_id"), token.token_id())) {
          if (!RE2::FullMatch(token.token_id(), *kTokenId)) {
            Add(token_path.Child("token_id"),
                absl::StrCat("\"", token.token_id(),
                             "\" is not a token id ([A-Za-z][A-Za-z0-9._-]+)"));
          }
          tokens.insert(token.token_id());
        }
        Secret(token_path.Child("secret"), token.has_secret(), token.secret(),
               true);
      }
      for (int j = 0; j < user.acls_size(); ++j) {
        const v1::ProxmoxAcl& acl = user.acls(j);
        const FieldPath acl_path = user_path.Child("acls", j);
        if (Required(acl_path.Child("path"), acl.path()) &&
            acl.path()[0] != '/') {
          Add(acl_path.Child("path"),
              absl::StrCat("\"", acl.path(), "\" does not start with /"));
        }
        Required(acl_path.Child("role"), acl.role());
        if (!acl.token_id().empty() && tokens.count(acl.token_id()) == 0) {
          Add(acl_path.Child("token_id"),
              absl::StrCat("\"", acl.token_id(), "\" is not a token of ",
                           user.userid()));
        }
      }
    }
    Required(path.Child("bridge"), proxmox.bridge());
    if (proxmox.vlan_tag() > 4094) {
      Add(path.Child("vlan_tag"),
          absl::StrCat(proxmox.vlan_tag(), " is outside 1..4094"));
    }
    Required(path.Child("image_storage"), proxmox.image_storage());
    Required(path.Child("region"), proxmox.region());
  }

  void Image(const FieldPath& path, const v1::ClusterSpec& spec) {
    if (!spec.has_image()) return RequiredLayer(path, false);
    const v1::ImageSpec& image = spec.image();
    Url(path.Child("factory_url"), image.factory_url(), true, false);
    static const LazyRE2 kExtension = {R"([a-z0-9-]+/[a-z0-9._-]+)"};
    for (int i = 0; i < image.extensions_size(); ++i) {
      if (!RE2::FullMatch(image.extensions(i), *kExtension)) {
        Add(path.Child("extensions", i),
            absl::StrCat("\"", image.extensions(i),
                         "\" is not an extension name like "
                         "siderolabs/qemu-guest-agent"));
      }
    }
  }

  void Mesh(const FieldPath& path, const v1::ClusterSpec& spec) {
    if (!spec.has_mesh()) return;
    const v1::MeshSpec& mesh = spec.mesh();
    Url(path.Child("headscale_url"), mesh.headscale_url(), true, false);
    Secret(path.Child("api_key"), mesh.has_api_key(), mesh.api_key(), true);
    Required(path.Child("user"), mesh.user());
    if (mesh.key_ttl_seconds() == 0) {
      Add(path.Child("key_ttl_seconds"),
          "required (Headscale rejects keys without expiration)");
    }
    for (int i = 0; i < mesh.advertise_routes_size(); ++i) {
      Prefix(path.Child("advertise_routes", i), mesh.advertise_routes(i));
    }
    for (int i = 0; i < mesh.acl_tags_size(); ++i) {
      if (!absl::StartsWith(mesh.acl_tags(i), "tag:")) {
        Add(path.Child("acl_tags", i),
            absl::StrCat("\"", mesh.acl_tags(i),
                         "\" does not start with tag:"));
      }
    }
  }

  void Talos(const FieldPath& path, const v1::ClusterSpec& spec) {
    if (!spec.has_talos()) return RequiredLayer(path, false);
    const v1::TalosSpec& talos = spec.talos();
    if (Required(path.Child("install_disk"), talos.install_disk()) &&
        !absl::StartsWith(talos.install_disk(), "/dev/")) {
      Add(path.Child("install_disk"),
          absl::StrCat("\"", talos.install_disk(),
                       "\" is not a device path (/dev/...)"));
    }
    for (int i = 0; i < talos.registry_mirrors_size(); ++i) {
      const v1::RegistryMirror& mirror = talos.registry_mirrors(i);
      const FieldPath mirror_path = path.Child("registry_mirrors", i);
      Required(mirror_path.Child("registry"), mirror.registry());
      if (mirror.endpoints_size() == 0) {
        Add(mirror_path.Child("endpoints"), "required");
      }
      for (int j = 0; j < mirror.endpoints_size(); ++j) {
        Url(mirror_path.Child("endpoints", j), mirror.endpoints(j), true,
            false);
      }
    }
    Required(path.Child("cilium_manifest"), talos.cilium_manifest());
    Required(path.Child("talosconfig_path"), talos.talosconfig_path());
    Required(path.Child("kubeconfig_path"), talos.kubeconfig_path());
    Secret(path.Child("secrets_bundle"), talos.has_secrets_bundle(),
           talos.secrets_bundle(), true);
  }

  void SealedSecrets(const FieldPath& path, const v1::ClusterSpec& spec) {
    if (!spec.has_sealed_secrets()) return;
    const v1::SealedSecretsSpec& sealed = spec.sealed_secrets();
    Required(path.Child("controller_namespace"), sealed.controller_namespace());
    std::set<std::pair<std::string, std::string>> seen;
    for (int i = 0; i < sealed.items_size(); ++i) {
      const v1::SealItem& item = sealed.items(i);
      const FieldPath item_path = path.Child("items", i);
      Required(item_path.Child("name"), item.name());
      if (item.scope() != v1::SEAL_SCOPE_CLUSTER_WIDE) {
        Required(item_path.Child("namespace"), item.namespace_());
      }
      if (!seen.insert({item.namespace_(), item.name()}).second) {
        Add(item_path, absl::StrCat("duplicate item ", item.namespace_(), "/",
                                    item.name()));
      }
      if (item.values_size() == 0) Add(item_path.Child("values"), "required");
      for (int j = 0; j < item.values_size(); ++j) {
        const v1::SealedValue& value = item.values(j);
        const FieldPath value_path = item_path.Child("values", j);
        Required(value_path.Child("data_key"), value.data_key());
        if (value.source_case() == v1::SealedValue::SOURCE_NOT_SET ||
            (value.has_generated() &&
             value.generated() == v1::GENERATED_VALUE_UNSPECIFIED)) {
          Add(value_path, "needs a source (secret or generated)");
        } else if (value.has_secret()) {
          Secret(value_path.Child("secret"), true, value.secret(), true);
        }
      }
      if (Required(item_path.Child("output_path"), item.output_path()) &&
          (item.output_path()[0] == '/' ||
           absl::StrContains(item.output_path(), ".."))) {
        Add(item_path.Child("output_path"),
            "must be a path inside the GitOps checkout (relative, no ..)");
      }
    }
  }

  void Gitops(const FieldPath& path, const v1::ClusterSpec& spec) {
    if (!spec.has_gitops()) return;
    const v1::GitopsSpec& gitops = spec.gitops();
    Required(path.Child("repo_url"), gitops.repo_url());
    Required(path.Child("branch"), gitops.branch());
    Required(path.Child("path"), gitops.path());
    Secret(path.Child("deploy_key"), gitops.has_deploy_key(),
           gitops.deploy_key(), false);
  }

  void PowerDns(const FieldPath& path, bool present,
                const v1::PowerDnsEndpoint& endpoint) {
    if (!present) return RequiredLayer(path, false);
    Url(path.Child("api_url"), endpoint.api_url(), true, false);
    Secret(path.Child("api_key"), endpoint.has_api_key(), endpoint.api_key(),
           true);
    if (Required(path.Child("dns_address"), endpoint.dns_address()) &&
        !IsHostPort(endpoint.dns_address())) {
      Add(path.Child("dns_address"),
          absl::StrCat("\"", endpoint.dns_address(), "\" is not host:port"));
    }
  }

  void Dns(const FieldPath& path, const v1::ClusterSpec& spec) {
    if (!spec.has_dns()) return;
    const v1::DnsSpec& dns = spec.dns();
    if (Required(path.Child("zone"), dns.zone()) && !IsDnsName(dns.zone())) {
      Add(path.Child("zone"), absl::StrCat("\"", dns.zone(),
                                           "\" is not a DNS name (no "
                                           "trailing dot)"));
    }
    static const std::set<std::string> kTypes = {"A",   "AAAA", "CNAME", "NS",
                                                 "TXT", "MX",   "SRV",   "CAA"};
    for (int i = 0; i < dns.records_size(); ++i) {
      const v1::DnsRecord& record = dns.records(i);
      const FieldPath record_path = path.Child("records", i);
      if (Required(record_path.Child("name"), record.name()) &&
          record.name() != "@" && record.name() != "*" &&
          !IsDnsName(record.name(), true)) {
        Add(record_path.Child("name"),
            absl::StrCat("\"", record.name(),
                         "\" is not a name relative to the zone"));
      }
      if (Required(record_path.Child("type"), record.type()) &&
          kTypes.count(record.type()) == 0) {
        Add(record_path.Child("type"),
            absl::StrCat("unsupported record type \"", record.type(), "\""));
      }
      if (record.contents_size() == 0) {
        Add(record_path.Child("contents"), "required");
      }
      for (int j = 0; j < record.contents_size(); ++j) {
        if (record.type() == "A") {
          Address(record_path.Child("contents", j), record.contents(j), true);
        }
      }
    }
    if (dns.nameservers_size() == 0) {
      Add(path.Child("nameservers"), "required");
    }
    for (int i = 0; i < dns.nameservers_size(); ++i) {
      if (!IsDnsName(dns.nameservers(i))) {
        Add(path.Child("nameservers", i),
            absl::StrCat("\"", dns.nameservers(i),
                         "\" is not a DNS name (no trailing dot)"));
      }
    }
    PowerDns(path.Child("cluster_powerdns"), dns.has_cluster_powerdns(),
             dns.cluster_powerdns());
    if (dns.has_vps()) {
      const FieldPath vps_path = path.Child("vps");
      Address(vps_path.Child("address"), dns.vps().address(), true);
      PowerDns(vps_path.Child("powerdns"), dns.vps().has_powerdns(),
               dns.vps().powerdns());
      if (dns.vps().has_sni_passthrough()) {
        const v1::SniPassthrough& sni = dns.vps().sni_passthrough();
        const FieldPath sni_path = vps_path.Child("sni_passthrough");
        if (Required(sni_path.Child("listen"), sni.listen()) &&
            !IsHostPort(sni.listen())) {
          Add(sni_path.Child("listen"),
              absl::StrCat("\"", sni.listen(), "\" is not host:port"));
        }
        if (Required(sni_path.Child("target"), sni.target()) &&
            !IsHostPort(sni.target())) {
          Add(sni_path.Child("target"),
              absl::StrCat("\"", sni.target(), "\" is not host:port"));
        }
        if (sni.server_names_size() == 0) {
          Add(sni_path.Child("server_names"), "required");
        }
        for (int i = 0; i < sni.server_names_size(); ++i) {
          if (!IsDnsName(sni.server_names(i), true)) {
            Add(sni_path.Child("server_names", i),
                absl::StrCat("\"", sni.server_names(i),
                             "\" is not a DNS name"));
          }
        }
        Required(sni_path.Child("config_path"), sni.config_path());
      }
    }
    if (dns.has_route53()) {
      const v1::Route53Spec& route53 = dns.route53();
      const FieldPath r53_path = path.Child("route53");
      Required(r53_path.Child("hosted_zone_id"), route53.hosted_zone_id());
      if (Required(r53_path.Child("parent_zone"), route53.parent_zone())) {
        if (!IsDnsName(route53.parent_zone())) {
          Add(r53_path.Child("parent_zone"),
              absl::StrCat("\"", route53.parent_zone(),
                           "\" is not a DNS name (no trailing dot)"));
        } else if (!dns.zone().empty() &&
                   !absl::EndsWith(dns.zone(),
                                   absl::StrCat(".", route53.parent_zone()))) {
          Add(r53_path.Child("parent_zone"),
              absl::StrCat("spec.dns.zone ", dns.zone(),
                           " is not below the parent zone ",
                           route53.parent_zone()));
        }
      }
      Url(r53_path.Child("endpoint"), route53.endpoint(), false, true);
      Secret(r53_path.Child("credentials"), route53.has_credentials(),
             route53.credentials(), false);
    }
  }

  void Verify(const FieldPath& path, const v1::ClusterSpec& spec) {
    if (!spec.has_verify()) return;
    std::map<std::string, int> names;
    for (int i = 0; i < spec.verify().checks_size(); ++i) {
      const v1::Check& check = spec.verify().checks(i);
      const FieldPath check_path = path.Child("checks", i);
      if (Required(check_path.Child("name"), check.name())) {
        if (auto [it, fresh] = names.emplace(check.name(), i); !fresh) {
          Add(check_path.Child("name"),
              absl::StrCat("duplicate check name \"", check.name(),
                           "\" (also spec.verify.checks[", it->second, "])"));
        }
      }
      switch (check.kind_case()) {
        case v1::Check::KIND_NOT_SET:
          Add(check_path, "needs a kind (nodes_ready, pods_healthy, …)");
          break;
        case v1::Check::kStorage:
          Required(check_path.Child("storage").Child("storage_class"),
                   check.storage().storage_class());
          break;
        case v1::Check::kPodsReady:
          Required(check_path.Child("pods_ready").Child("namespace"),
                   check.pods_ready().namespace_());
          break;
        case v1::Check::kSecretExists:
          Required(check_path.Child("secret_exists").Child("namespace"),
                   check.secret_exists().namespace_());
          Required(check_path.Child("secret_exists").Child("name"),
                   check.secret_exists().name());
          break;
        case v1::Check::kClusterSecretStoreReady:
          Required(check_path.Child("cluster_secret_store_ready").Child("name"),
                   check.cluster_secret_store_ready().name());
          break;
        case v1::Check::kService: {
          const FieldPath service_path = check_path.Child("service");
          Required(service_path.Child("namespace"),
                   check.service().namespace_());
          Required(service_path.Child("name"), check.service().name());
          Address(service_path.Child("load_balancer_ip"),
                  check.service().load_balancer_ip(), false);
          break;
        }
        default:
          break;
      }
    }
  }

  std::vector<SpecProblem> problems_;
  std::optional<Ipv4Prefix> subnet_;
  std::map<uint32_t, int> node_ips_;
  std::set<uint32_t> control_plane_ips_;
};

}  // namespace

std::vector<SpecProblem> ValidateCluster(const v1::Cluster& cluster) {
  return Validator().Run(cluster);
}

std::string FormatProblems(const ParsedCluster& parsed,
                           const std::vector<SpecProblem>& problems) {
  std::vector<std::string> lines;
  lines.reserve(problems.size());
  for (const SpecProblem& problem : problems) {
    lines.push_back(absl::StrCat(parsed.Prefix(problem.path),
                                 problem.path.ToString(), ": ",
                                 problem.message));
  }
  return absl::StrJoin(lines, "\n");
}

absl::Status ValidateParsedCluster(const ParsedCluster& parsed) {
  std::vector<SpecProblem> problems = ValidateCluster(parsed.cluster);
  if (problems.empty()) return absl::OkStatus();
  return absl::InvalidArgumentError(FormatProblems(parsed, problems));
}

}  // namespace coldstart
