#include "lab/factory/schematic.h"

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "lab/tls/lab_tls.h"
#include "lib/yaml/yaml_scalar.h"
#include "re2/re2.h"
#include "yaml-cpp/yaml.h"

namespace coldstart::lab {
namespace {

absl::Status Unknown(const std::string& field, const std::string& where) {
  return absl::InvalidArgumentError(
      absl::StrCat("error unmarshaling schematic: field ", field,
                   " not found in type ", where));
}

absl::Status CheckKeys(const YAML::Node& node,
                       const std::vector<std::string>& known,
                       const std::string& type) {
  if (!node.IsMap()) {
    return absl::InvalidArgumentError(
        absl::StrCat("error unmarshaling schematic: ", type, " must be a map"));
  }
  for (const auto& entry : node) {
    std::string key = entry.first.as<std::string>();
    bool found = false;
    for (const auto& k : known) found = found || k == key;
    if (!found) return Unknown(key, type);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> StringList(const YAML::Node& node,
                                                    const std::string& field) {
  std::vector<std::string> out;
  if (!node.IsSequence()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "error unmarshaling schematic: ", field, " must be a list"));
  }
  for (const auto& item : node) out.push_back(item.as<std::string>());
  return out;
}

}  // namespace

absl::StatusOr<CanonicalSchematic> CanonicalizeSchematic(
    absl::string_view body) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(body));
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat("error unmarshaling schematic: ", e.what()));
  }
  std::vector<std::string> kernel_args, extensions;
  std::vector<std::pair<int, std::string>> meta;
  try {
    if (root.IsDefined() && !root.IsNull()) {
      absl::Status s =
          CheckKeys(root, {"customization"}, "schematic.Schematic");
      if (!s.ok()) return s;
      YAML::Node c = root["customization"];
      if (c.IsDefined() && !c.IsNull()) {
        s = CheckKeys(c, {"extraKernelArgs", "meta", "systemExtensions"},
                      "schematic.Customization");
        if (!s.ok()) return s;
        if (c["extraKernelArgs"]) {
          auto list = StringList(c["extraKernelArgs"], "extraKernelArgs");
          if (!list.ok()) return list.status();
          kernel_args = *list;
        }
        if (c["meta"]) {
          for (const auto& m : c["meta"]) {
            s = CheckKeys(m, {"key", "value"}, "schematic.MetaValue");
            if (!s.ok()) return s;
            int key = m["key"].as<int>();
            if (key < 0 || key > 255) {
              return absl::InvalidArgumentError(
                  "error unmarshaling schematic: meta key out of range");
            }
            meta.emplace_back(key, m["value"].as<std::string>(""));
          }
        }
        YAML::Node se = c["systemExtensions"];
        if (se.IsDefined() && !se.IsNull()) {
          s = CheckKeys(se, {"officialExtensions"},
                        "schematic.SystemExtensions");
          if (!s.ok()) return s;
          if (se["officialExtensions"]) {
            auto list =
                StringList(se["officialExtensions"], "officialExtensions");
            if (!list.ok()) return list.status();
            extensions = *list;
          }
        }
      }
    }
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat("error unmarshaling schematic: ", e.what()));
  }
  std::string yaml;
  if (kernel_args.empty() && meta.empty() && extensions.empty()) {
    yaml = "customization: {}\n";
  } else {
    yaml = "customization:\n";
    if (!kernel_args.empty()) {
      yaml += "    extraKernelArgs:\n";
      for (const auto& a : kernel_args) {
        absl::StrAppend(&yaml, "        - ", GoYamlScalar(a), "\n");
      }
    }
    if (!meta.empty()) {
      yaml += "    meta:\n";
      for (const auto& [k, v] : meta) {
        absl::StrAppend(&yaml, "        - key: ", k,
                        "\n          value: ", GoYamlScalar(v), "\n");
      }
    }
    if (!extensions.empty()) {
      yaml += "    systemExtensions:\n        officialExtensions:\n";
      for (const auto& e : extensions) {
        absl::StrAppend(&yaml, "            - ", GoYamlScalar(e), "\n");
      }
    }
  }
  return CanonicalSchematic{yaml, LabSha256Hex(yaml)};
}

absl::StatusOr<std::string> LabNocloudQcow2(absl::string_view schematic_id,
                                            absl::string_view version) {
  absl::string_view v = version;
  absl::ConsumePrefix(&v, "v");
  std::vector<std::string> parts = absl::StrSplit(v, '.');
  int major = 0, minor = 0;
  if (parts.size() != 3 || !absl::SimpleAtoi(parts[0], &major) ||
      !absl::SimpleAtoi(parts[1], &minor)) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid version \"", version, "\""));
  }
  uint64_t mib = 4247;
  if (major == 1 && minor <= 9) mib = 1246;
  if (major == 1 && minor == 10) mib = 2247;
  uint64_t size = mib << 20;
  std::string image(512, '\0');
  auto put32 = [&](size_t off, uint32_t x) {
    for (int i = 0; i < 4; ++i) image[off + i] = char(x >> (24 - 8 * i));
  };
  auto put64 = [&](size_t off, uint64_t x) {
    for (int i = 0; i < 8; ++i) image[off + i] = char(x >> (56 - 8 * i));
  };
  image[0] = 'Q';
  image[1] = 'F';
  image[2] = 'I';
  image[3] = char(0xfb);
  put32(4, 3);      // version
  put32(20, 13);    // cluster_bits: 8 KiB clusters
  put64(24, size);  // virtual size
  put32(96, 4);     // refcount_order
  put32(100, 104);  // header_length
  std::string seed = absl::StrCat(schematic_id, "/", version);
  for (int i = 0; i < 64; ++i) image += LabSha256Hex(absl::StrCat(seed, i));
  return image;
}

}  // namespace coldstart::lab
