// The Image Factory's schematic handling as the factory does it
// (facts/talos.md §6): parse the posted YAML/JSON, refuse unknown fields,
// re-marshal canonically (go-yaml style: 4-space indent, sequences indented
// under their key, struct field order, empty fields omitted, `customization:
// {}` when empty), id = lowercase hex SHA-256 of the canonical text.
//
// Supported subset: customization.extraKernelArgs, customization.meta
// (key 0-255, value), customization.systemExtensions.officialExtensions.
// Any other field is refused as unknown (the real factory knows more, e.g.
// overlay, secureboot; the lab does not need them).
#ifndef COLDSTART_LAB_FACTORY_SCHEMATIC_H_
#define COLDSTART_LAB_FACTORY_SCHEMATIC_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace coldstart::lab {

struct CanonicalSchematic {
  std::string yaml;
  std::string id;
};

// InvalidArgument (the factory's 400 text) for unparsable input or unknown
// fields.
absl::StatusOr<CanonicalSchematic> CanonicalizeSchematic(
    absl::string_view body);

// The nocloud qcow2 image the lab serves for a Talos version: a valid qcow2
// v3 header whose virtual size is the size facts/talos-on-proxmox.md §3 gives
// for that version (v1.9: 1246 MiB, v1.10: 2247 MiB, v1.11+: 4247 MiB),
// followed by deterministic filler. InvalidArgument for a malformed version.
absl::StatusOr<std::string> LabNocloudQcow2(absl::string_view schematic_id,
                                            absl::string_view version);

}  // namespace coldstart::lab

#endif  // COLDSTART_LAB_FACTORY_SCHEMATIC_H_
