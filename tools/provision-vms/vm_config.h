// What provision-vms asks Proxmox and the Image Factory for, derived from the
// spec alone (pure functions, no I/O): the schematic and its id, the image
// file name, the VM's create parameters, our marker, and Proxmox property
// strings.
#ifndef COLDSTART_TOOLS_PROVISION_VMS_VM_CONFIG_H_
#define COLDSTART_TOOLS_PROVISION_VMS_VM_CONFIG_H_

#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "proto/coldstart/v1/cluster.pb.h"

namespace coldstart {

// The schematic YAML in the factory's canonical form (facts/talos.md §6):
// extensions sorted (their order would change the id), kernel args in spec
// order; "customization: {}\n" when empty.
std::string SchematicYaml(const coldstart::v1::ImageSpec& image);
// Lowercase hex SHA-256 of the canonical YAML: the id the factory returns.
std::string SchematicId(absl::string_view canonical_yaml);

// "nocloud"/"amd64" unless the spec says otherwise.
std::string ImagePlatform(const coldstart::v1::ImageSpec& image);
std::string ImageArch(const coldstart::v1::ImageSpec& image);
// "talos-<version>-<schematic id>-<platform>-<arch>.qcow2" (Proxmox's import
// file-name rules: [A-Za-z0-9-.+=_]+ ending .qcow2).
std::string ImageFileName(const coldstart::v1::ClusterSpec& spec,
                          absl::string_view schematic_id);
// "<factory>/image/<id>/<version>/<platform>-<arch>.qcow2"
std::string ImageUrl(const coldstart::v1::ClusterSpec& spec,
                     absl::string_view schematic_id);

// Tags of every VM provision-vms manages: "coldstart;cs-<cluster>" (Proxmox
// stores them lower-cased and sorted; cluster names are lower-case).
std::string ClusterTags(absl::string_view cluster);
std::string ClusterTag(absl::string_view cluster);
// The marker line in the description.
std::string MarkerLine(absl::string_view cluster, absl::string_view node);

// The storage of a node's disk and cloud-init drive.
std::string NodeStorage(const coldstart::v1::ClusterSpec& spec,
                        const coldstart::v1::Node& node);
std::string CpuType(const coldstart::v1::ClusterSpec& spec);
// "virtio,bridge=vmbr0[,tag=N]" (Proxmox adds the MAC).
std::string Net0(const coldstart::v1::ClusterSpec& spec);
// "ip=<ip>/<prefix>,gw=<gateway>". InvalidArgument for a bad subnet.
absl::StatusOr<std::string> Ipconfig0(const coldstart::v1::ClusterSpec& spec,
                                      const coldstart::v1::Node& node);
std::string Nameservers(const coldstart::v1::ClusterSpec& spec);

// Parameters of POST /nodes/{node}/qemu for `node`, importing its disk from
// `image_volid` (facts/talos-on-proxmox.md §0): fixed VMID, virtio-scsi-pci,
// cloud-init drive with the static address and nameservers, guest agent on,
// our tags and marker.
absl::StatusOr<std::map<std::string, std::string>> CreateParams(
    const coldstart::v1::ClusterSpec& spec, const coldstart::v1::Node& node,
    absl::string_view image_volid);

// "k=v,k2=v2" -> map; an element without "=" goes under `bare_key` (for
// "virtio=MAC,bridge=..." the model is a key whose value is the MAC).
std::map<std::string, std::string> ParsePropertyString(
    absl::string_view value, absl::string_view bare_key = "");

// Bytes of a Proxmox size ("40G", "1246M", "512K", "123").
absl::StatusOr<int64_t> ParsePveSize(absl::string_view size);

}  // namespace coldstart

#endif  // COLDSTART_TOOLS_PROVISION_VMS_VM_CONFIG_H_
