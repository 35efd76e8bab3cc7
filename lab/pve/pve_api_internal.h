// Private to //lab/pve:pve_api: the response shapes, schema checks and value
// formats that the simulator's handlers (pve_*.cc) share.
#ifndef COLDSTART_LAB_PVE_PVE_API_INTERNAL_H_
#define COLDSTART_LAB_PVE_PVE_API_INTERNAL_H_

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>

#include "absl/strings/string_view.h"
#include "lab/pve/pve_api.h"
#include "nlohmann/json.hpp"

namespace coldstart::lab::pve_internal {

inline constexpr int64_t kGiB = int64_t{1} << 30;
inline constexpr int64_t kMiB = int64_t{1} << 20;

// 200 with the envelope {"data": data}.
PveResponse Data(const nlohmann::json& data);
// `status` with {"data":null,"message":"<message>\n"}.
PveResponse Fail(int status, const std::string& message);
// 400 "Parameter verification failed." with errors by parameter.
PveResponse ParamError(const std::map<std::string, std::string>& errors);
// 403 "Permission check failed (<path>, <priv>)".
PveResponse Forbidden(const std::string& path, const std::string& priv);
// 501 "Method '<method> /api2/json<path>' not implemented".
PveResponse NotImplemented(const PveRequest& r);

// The schema check every handler shares: unknown keys and boolean values.
// false with the 400 in `res`.
bool CheckSchema(const PveRequest& r, const std::set<std::string>& allowed,
                 PveResponse* res);
// The parameter `key`, or `fallback` when absent.
std::string Param(const PveRequest& r, const std::string& key,
                  const std::string& fallback = "");

// %XX decoding; a malformed escape stays as it is.
std::string UriUnescape(absl::string_view s);
// "1246M", "40G": how Proxmox writes disk sizes.
std::string FormatSize(int64_t bytes);
// "40G", "512M", "1.5T", "1024" -> bytes; nullopt when not a size.
std::optional<int64_t> ParseSize(absl::string_view s);
// scsiN, virtioN, sataN, ideN.
bool IsDiskKey(const std::string& key);
// The storage id of a disk value "local-zfs:vm-1500-disk-0,size=40G" or
// "local-zfs:0,import-from=...".
std::string DiskStorage(const std::string& value);
// The VM's `name`, else "VM <vmid>".
std::string VmName(int vmid, const std::map<std::string, std::string>& config);
// The config `digest`: SHA-256 of "key: value\n" lines, 40 hex digits.
std::string ConfigDigest(const std::map<std::string, std::string>& config);
// Whether the config enables the QEMU guest agent.
bool AgentConfigured(const std::map<std::string, std::string>& config);

}  // namespace coldstart::lab::pve_internal

#endif  // COLDSTART_LAB_PVE_PVE_API_INTERNAL_H_
