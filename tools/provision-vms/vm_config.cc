#include "tools/provision-vms/vm_config.h"

#include <algorithm>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "lib/net/ipv4.h"
#include "lib/secrets/crypto.h"
#include "lib/yaml/yaml_scalar.h"

namespace coldstart {

std::string SchematicYaml(const coldstart::v1::ImageSpec& image) {
  std::vector<std::string> extensions(image.extensions().begin(),
                                      image.extensions().end());
  std::sort(extensions.begin(), extensions.end());
  extensions.erase(std::unique(extensions.begin(), extensions.end()),
                   extensions.end());
  if (extensions.empty() && image.extra_kernel_args().empty()) {
    return "customization: {}\n";
  }
  std::string yaml = "customization:\n";
  if (!image.extra_kernel_args().empty()) {
    yaml += "    extraKernelArgs:\n";
    for (const auto& a : image.extra_kernel_args()) {
      absl::StrAppend(&yaml, "        - ", GoYamlScalar(a), "\n");
    }
  }
  if (!extensions.empty()) {
    yaml += "    systemExtensions:\n        officialExtensions:\n";
    for (const auto& e : extensions) {
      absl::StrAppend(&yaml, "            - ", GoYamlScalar(e), "\n");
    }
  }
  return yaml;
}

std::string SchematicId(absl::string_view canonical_yaml) {
  return HexEncode(Sha256(canonical_yaml));
}

std::string ImagePlatform(const coldstart::v1::ImageSpec& image) {
  return image.platform().empty() ? "nocloud" : image.platform();
}
std::string ImageArch(const coldstart::v1::ImageSpec& image) {
  return image.arch().empty() ? "amd64" : image.arch();
}

std::string ImageFileName(const coldstart::v1::ClusterSpec& spec,
                          absl::string_view schematic_id) {
  return absl::StrCat("talos-", spec.versions().talos(), "-", schematic_id, "-",
                      ImagePlatform(spec.image()), "-", ImageArch(spec.image()),
                      ".qcow2");
}

std::string ImageUrl(const coldstart::v1::ClusterSpec& spec,
                     absl::string_view schematic_id) {
  return absl::StrCat(absl::StripSuffix(spec.image().factory_url(), "/"),
                      "/image/", schematic_id, "/", spec.versions().talos(),
                      "/", ImagePlatform(spec.image()), "-",
                      ImageArch(spec.image()), ".qcow2");
}

std::string ClusterTag(absl::string_view cluster) {
  return absl::StrCat("cs-", absl::AsciiStrToLower(cluster));
}
std::string ClusterTags(absl::string_view cluster) {
  return absl::StrCat("coldstart;", ClusterTag(cluster));
}
std::string MarkerLine(absl::string_view cluster, absl::string_view node) {
  return absl::StrCat("coldstart: managed by provision-vms, cluster ", cluster,
                      ", node ", node);
}

std::string NodeStorage(const coldstart::v1::ClusterSpec& spec,
                        const coldstart::v1::Node& node) {
  return node.storage().empty() ? spec.proxmox().vm_storage() : node.storage();
}

std::string CpuType(const coldstart::v1::ClusterSpec& spec) {
  return spec.proxmox().cpu_type().empty() ? "x86-64-v2-AES"
                                           : spec.proxmox().cpu_type();
}

std::string Net0(const coldstart::v1::ClusterSpec& spec) {
  std::string net = absl::StrCat("virtio,bridge=", spec.proxmox().bridge());
  if (spec.proxmox().vlan_tag() != 0) {
    absl::StrAppend(&net, ",tag=", spec.proxmox().vlan_tag());
  }
  return net;
}

absl::StatusOr<std::string> Ipconfig0(const coldstart::v1::ClusterSpec& spec,
                                      const coldstart::v1::Node& node) {
  std::optional<Ipv4Prefix> subnet =
      ParseIpv4Prefix(spec.network().node_subnet());
  if (!subnet.has_value()) {
    return absl::InvalidArgumentError(
        absl::StrCat("spec.network.node_subnet \"",
                     spec.network().node_subnet(), "\" is not a CIDR"));
  }
  std::string value = absl::StrCat("ip=", node.ip(), "/", subnet->length);
  if (!spec.network().gateway().empty()) {
    absl::StrAppend(&value, ",gw=", spec.network().gateway());
  }
  return value;
}

std::string Nameservers(const coldstart::v1::ClusterSpec& spec) {
  return absl::StrJoin(spec.network().nameservers(), " ");
}

absl::StatusOr<std::map<std::string, std::string>> CreateParams(
    const coldstart::v1::ClusterSpec& spec, const coldstart::v1::Node& node,
    absl::string_view image_volid) {
  std::map<std::string, std::string> p;
  std::string storage = NodeStorage(spec, node);
  p["vmid"] = absl::StrCat(node.vmid());
  p["name"] = node.name();
  p["cores"] = absl::StrCat(node.cores());
  p["sockets"] = "1";
  p["memory"] = absl::StrCat(node.memory_mib());
  p["cpu"] = CpuType(spec);
  p["scsihw"] = "virtio-scsi-pci";
  p["ostype"] = "l26";
  p["net0"] = Net0(spec);
  p["scsi0"] = absl::StrCat(storage, ":0,import-from=", image_volid);
  p["ide2"] = absl::StrCat(storage, ":cloudinit");
  auto ipconfig = Ipconfig0(spec, node);
  if (!ipconfig.ok()) return ipconfig.status();
  p["ipconfig0"] = *ipconfig;
  if (!spec.network().nameservers().empty())
    p["nameserver"] = Nameservers(spec);
  p["agent"] = "1";
  p["boot"] = "order=scsi0";
  p["serial0"] = "socket";
  p["onboot"] = "1";
  p["tags"] = ClusterTags(spec.name());
  p["description"] = MarkerLine(spec.name(), node.name());
  return p;
}

std::map<std::string, std::string> ParsePropertyString(
    absl::string_view value, absl::string_view bare_key) {
  std::map<std::string, std::string> out;
  for (absl::string_view part : absl::StrSplit(value, ',', absl::SkipEmpty())) {
    size_t eq = part.find('=');
    if (eq == absl::string_view::npos) {
      out[std::string(bare_key)] = std::string(part);
    } else {
      out[std::string(part.substr(0, eq))] = std::string(part.substr(eq + 1));
    }
  }
  return out;
}

absl::StatusOr<int64_t> ParsePveSize(absl::string_view size) {
  int64_t unit = 1;
  if (!size.empty()) {
    switch (size.back()) {
      case 'K':
        unit = int64_t{1} << 10;
        break;
      case 'M':
        unit = int64_t{1} << 20;
        break;
      case 'G':
        unit = int64_t{1} << 30;
        break;
      case 'T':
        unit = int64_t{1} << 40;
        break;
      default:
        break;
    }
  }
  if (unit != 1) size.remove_suffix(1);
  double value = 0;
  if (!absl::SimpleAtod(size, &value) || value < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", size, "\" is not a Proxmox size"));
  }
  return static_cast<int64_t>(value * static_cast<double>(unit));
}

}  // namespace coldstart
