// Cluster-wide calls: /version, /nodes, /cluster/resources, /cluster/nextid.
#include <algorithm>
#include <optional>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "lab/pve/pve_api.h"
#include "lab/pve/pve_api_internal.h"
#include "nlohmann/json.hpp"

namespace coldstart::lab {

using json = nlohmann::json;
using pve_internal::CheckSchema;
using pve_internal::Data;
using pve_internal::Fail;
using pve_internal::kGiB;
using pve_internal::kMiB;
using pve_internal::Param;
using pve_internal::ParamError;
using pve_internal::ParseSize;

std::optional<PveResponse> PveApi::CheckNode(const Caller& c,
                                             const PathArgs& args) {
  if (std::find(options_.nodes.begin(), options_.nodes.end(), args.node) ==
      options_.nodes.end()) {
    return Fail(500, absl::StrCat("no such cluster node '", args.node, "'"));
  }
  return std::nullopt;
}

PveResponse PveApi::GetVersion(const PveRequest& r, const Caller& c,
                               const PathArgs& args) {
  std::string release = options_.version.substr(0, options_.version.rfind('.'));
  return Data({{"version", options_.version},
               {"release", release},
               {"repoid", "c0ffee42"}});
}

PveResponse PveApi::ListNodes(const PveRequest& r, const Caller& c,
                              const PathArgs& args) {
  json out = json::array();
  for (const auto& n : options_.nodes) {
    if (!Has(c, "/nodes/" + n, "Sys.Audit")) continue;
    out.push_back({{"node", n},
                   {"status", "online"},
                   {"type", "node"},
                   {"id", "node/" + n},
                   {"maxcpu", 64},
                   {"cpu", 0.01},
                   {"mem", 8 * kGiB},
                   {"maxmem", 256 * kGiB},
                   {"uptime", 86400},
                   {"level", ""}});
  }
  return Data(out);
}

PveResponse PveApi::ListResources(const PveRequest& r, const Caller& c,
                                  const PathArgs& args) {
  PveResponse res;
  if (!CheckSchema(r, {"type"}, &res)) return res;
  std::string type = Param(r, "type");
  json out = json::array();
  if (type.empty() || type == "node") {
    for (const auto& n : options_.nodes) {
      if (!Has(c, "/nodes/" + n, "Sys.Audit")) continue;
      out.push_back({{"id", "node/" + n},
                     {"type", "node"},
                     {"node", n},
                     {"status", "online"}});
    }
  }
  if (type.empty() || type == "vm") {
    for (const auto& [id, vm] : vms_) {
      if (!Has(c, absl::StrCat("/vms/", id), "VM.Audit")) continue;
      json e = {{"id", absl::StrCat("qemu/", id)},
                {"type", "qemu"},
                {"node", vm.node},
                {"vmid", id},
                {"status", vm.running ? "running" : "stopped"},
                {"template", 0},
                {"cpu", 0},
                {"mem", 0},
                {"disk", 0},
                {"uptime", 0},
                {"netin", 0},
                {"netout", 0}};
      const auto& cfg = vm.config;
      if (cfg.count("name")) e["name"] = cfg.at("name");
      if (cfg.count("tags")) e["tags"] = cfg.at("tags");
      if (cfg.count("lock")) e["lock"] = cfg.at("lock");
      int64_t cores = 1, sockets = 1, memory = 512;
      if (cfg.count("cores")) absl::SimpleAtoi(cfg.at("cores"), &cores);
      if (cfg.count("sockets")) absl::SimpleAtoi(cfg.at("sockets"), &sockets);
      if (cfg.count("memory")) {
        absl::string_view mem = cfg.at("memory");
        absl::ConsumePrefix(&mem, "current=");
        absl::SimpleAtoi(mem, &memory);
      }
      e["maxcpu"] = cores * sockets;
      e["maxmem"] = memory * kMiB;
      int64_t maxdisk = 0;
      if (cfg.count("scsi0")) {
        maxdisk = ParseSize(ParsePveProperties(cfg.at("scsi0"), "")["size"])
                      .value_or(0);
      }
      e["maxdisk"] = maxdisk;
      out.push_back(e);
    }
  }
  return Data(out);
}

PveResponse PveApi::NextId(const PveRequest& r, const Caller& c,
                           const PathArgs& args) {
  PveResponse res;
  if (!CheckSchema(r, {"vmid"}, &res)) return res;
  std::string want = Param(r, "vmid");
  if (!want.empty()) {
    int id = 0;
    if (!absl::SimpleAtoi(want, &id) || id < 100 || id > 999999999) {
      return ParamError(
          {{"vmid", "invalid format - value must be 100..999999999"}});
    }
    if (vms_.count(id)) {
      return ParamError({{"vmid", absl::StrCat("VM ", id, " already exists")}});
    }
    return Data(absl::StrCat(id));
  }
  int id = 100;
  while (vms_.count(id)) ++id;
  return Data(absl::StrCat(id));  // a string, and nothing is reserved
}

}  // namespace coldstart::lab
