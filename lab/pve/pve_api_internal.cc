#include "lab/pve/pve_api_internal.h"

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "lab/tls/lab_tls.h"
#include "re2/re2.h"

namespace coldstart::lab::pve_internal {
namespace {

using json = nlohmann::json;

bool IsBoolParam(const std::string& key) {
  static const std::set<std::string>* kBools =
      new std::set<std::string>{"onboot",     "template",
                                "protection", "start",
                                "full",       "privsep",
                                "propagate",  "delete-acl",
                                "purge",      "destroy-unreferenced-disks",
                                "enable",     "verify-certificates",
                                "append",     "skiplock",
                                "force",      "overrule-shutdown",
                                "forceStop",  "keepActive"};
  return kBools->count(key) > 0;
}

}  // namespace

PveResponse Data(const json& data) {
  return PveResponse{200, json{{"data", data}}.dump()};
}

PveResponse Fail(int status, const std::string& message) {
  return PveResponse{
      status, json{{"data", nullptr}, {"message", message + "\n"}}.dump()};
}

PveResponse ParamError(const std::map<std::string, std::string>& errors) {
  json e = json::object();
  for (const auto& [k, v] : errors) e[k] = v;
  return PveResponse{400, json{{"data", nullptr},
                               {"errors", e},
                               {"message", "Parameter verification failed.\n"}}
                              .dump()};
}

PveResponse Forbidden(const std::string& path, const std::string& priv) {
  return Fail(403,
              absl::StrCat("Permission check failed (", path, ", ", priv, ")"));
}

PveResponse NotImplemented(const PveRequest& r) {
  return Fail(501, absl::StrCat("Method '", r.method, " /api2/json", r.path,
                                "' not implemented"));
}

bool CheckSchema(const PveRequest& r, const std::set<std::string>& allowed,
                 PveResponse* res) {
  std::map<std::string, std::string> errors;
  for (const auto& [k, v] : r.params) {
    if (allowed.count(k) == 0) {
      errors[k] =
          "property is not defined in schema and the schema does not allow "
          "additional properties";
    } else if (IsBoolParam(k) && v != "0" && v != "1") {
      errors[k] = absl::StrCat("type check ('boolean') failed - got '", v, "'");
    }
  }
  if (errors.empty()) return true;
  *res = ParamError(errors);
  return false;
}

std::string Param(const PveRequest& r, const std::string& key,
                  const std::string& fallback) {
  auto it = r.params.find(key);
  return it == r.params.end() ? fallback : it->second;
}

std::string UriUnescape(absl::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      int v = 0;
      if (absl::SimpleHexAtoi(s.substr(i + 1, 2), &v)) {
        out.push_back(static_cast<char>(v));
        i += 2;
        continue;
      }
    }
    out.push_back(s[i]);
  }
  return out;
}

std::string FormatSize(int64_t bytes) {
  if (bytes % kGiB == 0) return absl::StrCat(bytes / kGiB, "G");
  if (bytes % kMiB == 0) return absl::StrCat(bytes / kMiB, "M");
  if (bytes % 1024 == 0) return absl::StrCat(bytes / 1024, "K");
  return absl::StrCat(bytes);
}

std::optional<int64_t> ParseSize(absl::string_view s) {
  int64_t unit = 1;
  if (!s.empty()) {
    switch (s.back()) {
      case 'K':
        unit = 1024;
        break;
      case 'M':
        unit = kMiB;
        break;
      case 'G':
        unit = kGiB;
        break;
      case 'T':
        unit = kGiB * 1024;
        break;
      default:
        break;
    }
  }
  if (unit != 1) s.remove_suffix(1);
  double value = 0;
  if (!absl::SimpleAtod(s, &value) || value < 0) return std::nullopt;
  return static_cast<int64_t>(value * static_cast<double>(unit));
}

bool IsDiskKey(const std::string& key) {
  static const RE2 kDisk(R"((scsi|virtio|sata|ide)\d+)");
  return RE2::FullMatch(key, kDisk);
}

std::string DiskStorage(const std::string& value) {
  std::string first = value.substr(0, value.find(','));
  return first.substr(0, first.find(':'));
}

std::string VmName(int vmid, const std::map<std::string, std::string>& config) {
  auto name = config.find("name");
  return name != config.end() ? name->second : absl::StrCat("VM ", vmid);
}

std::string ConfigDigest(const std::map<std::string, std::string>& config) {
  std::string text;
  for (const auto& [k, v] : config) absl::StrAppend(&text, k, ": ", v, "\n");
  return LabSha256Hex(text).substr(0, 40);
}

bool AgentConfigured(const std::map<std::string, std::string>& config) {
  auto agent = config.find("agent");
  return agent != config.end() && agent->second != "0" &&
         !absl::StartsWith(agent->second, "enabled=0");
}

}  // namespace coldstart::lab::pve_internal
