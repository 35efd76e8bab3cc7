// Storage: content listings and download-url (a task that fetches the URL).
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "lab/pve/pve_api.h"
#include "lab/pve/pve_api_internal.h"
#include "lab/tls/lab_tls.h"
#include "nlohmann/json.hpp"
#include "re2/re2.h"

namespace coldstart::lab {
namespace {

using json = nlohmann::json;
using pve_internal::CheckSchema;
using pve_internal::Data;
using pve_internal::Fail;
using pve_internal::Forbidden;
using pve_internal::Param;
using pve_internal::ParamError;

// download-url's file name: the last path element, other characters than
// [A-Za-z0-9_.-] replaced by '_'.
std::string NormalizeFilename(std::string filename) {
  size_t slash = filename.rfind('/');
  if (slash != std::string::npos) filename = filename.substr(slash + 1);
  for (char& ch : filename) {
    if (!absl::ascii_isalnum(ch) && ch != '_' && ch != '.' && ch != '-')
      ch = '_';
  }
  return filename;
}

// The 400 errors of a download-url call on Proxmox VE `version`: url,
// content (import needs 8.3+), file name (qcow2/raw/vmdk import needs
// 8.4+), the checksum pair, no decompression for import.
std::map<std::string, std::string> DownloadParamErrors(
    const PveRequest& r, const std::string& version,
    const std::string& filename) {
  std::map<std::string, std::string> errors;
  static const RE2 kUrl(R"(https?://.+)");
  if (!RE2::FullMatch(Param(r, "url"), kUrl))
    errors["url"] = "invalid format - value must be an http(s) URL";
  std::string content = Param(r, "content");
  bool pve83 = absl::StrContains(version, "8.3") ||
               absl::StartsWith(version, "8.4") ||
               absl::StartsWith(version, "9.");
  bool pve84 =
      absl::StartsWith(version, "8.4") || absl::StartsWith(version, "9.");
  if (content != "iso" && content != "vztmpl" &&
      !(content == "import" && pve83)) {
    errors["content"] = absl::StrCat(
        "value '", content, "' does not have a value in the enumeration");
  }
  if (filename.empty() || filename.size() > 255) {
    errors["filename"] = "invalid filename";
  } else if (content == "iso" &&
             !RE2::FullMatch(absl::AsciiStrToLower(filename),
                             R"(.+\.(iso|img))")) {
    errors["filename"] = "wrong file extension";
  } else if (content == "import") {
    const char* pattern = pve84 ? R"([A-Za-z0-9\-.+=_]+\.(ova|qcow2|raw|vmdk))"
                                : R"([A-Za-z0-9\-.+=_]+\.ova)";
    if (!RE2::FullMatch(filename, pattern)) {
      errors["filename"] = "invalid filename or wrong extension";
    }
  }
  if (Param(r, "checksum").empty() != Param(r, "checksum-algorithm").empty()) {
    errors[Param(r, "checksum").empty() ? "checksum" : "checksum-algorithm"] =
        "requires the other checksum parameter";
  }
  if (!Param(r, "compression").empty() && content == "import") {
    errors["compression"] = "decompression not supported for import";
  }
  return errors;
}

// The virtual size in a qcow2 header; 0 for anything else.
int64_t Qcow2VirtualSize(const std::string& body) {
  if (body.size() < 32 || body.compare(0, 4, "QFI\xfb") != 0) return 0;
  uint64_t size = 0;
  for (int i = 0; i < 8; ++i) {
    size = (size << 8) | static_cast<unsigned char>(body[24 + i]);
  }
  return static_cast<int64_t>(size);
}

}  // namespace

std::optional<PveResponse> PveApi::CheckStorage(const Caller& c,
                                                const PathArgs& args) {
  if (std::optional<PveResponse> no_node = CheckNode(c, args)) return no_node;
  if (!volumes_.count({args.node, args.storage})) {
    return Fail(500,
                absl::StrCat("storage '", args.storage, "' does not exist"));
  }
  return std::nullopt;
}

PveResponse PveApi::ListContent(const PveRequest& r, const Caller& c,
                                const PathArgs& args) {
  PveResponse res;
  if (!CheckSchema(r, {"content", "vmid"}, &res)) return res;
  std::string path = "/storage/" + args.storage;
  if (!Has(c, path, "Datastore.Audit") &&
      !Has(c, path, "Datastore.AllocateSpace")) {
    return Forbidden(path, "Datastore.Audit|Datastore.AllocateSpace");
  }
  json out = json::array();
  for (const auto& [volid, v] : volumes_[{args.node, args.storage}]) {
    if (!Param(r, "content").empty() && v.content != Param(r, "content")) {
      continue;
    }
    json e = {{"volid", volid},
              {"content", v.content},
              {"format", v.format},
              {"size", v.size},
              {"ctime", v.ctime}};
    if (v.vmid != 0) e["vmid"] = v.vmid;
    out.push_back(e);
  }
  return Data(out);
}

PveResponse PveApi::DownloadUrl(const PveRequest& r, const Caller& c,
                                const PathArgs& args) {
  const std::string& node = args.node;
  const std::string& storage = args.storage;
  PveResponse res;
  if (!CheckSchema(r,
                   {"node", "storage", "url", "content", "filename", "checksum",
                    "checksum-algorithm", "verify-certificates", "compression"},
                   &res)) {
    return res;
  }
  std::string storage_path = "/storage/" + storage;
  if (!Has(c, storage_path, "Datastore.AllocateTemplate")) {
    return Forbidden(storage_path, "Datastore.AllocateTemplate");
  }
  if (!(Has(c, "/", "Sys.Audit") && Has(c, "/", "Sys.Modify")) &&
      !Has(c, "/nodes/" + node, "Sys.AccessNetwork")) {
    return Forbidden("/nodes/" + node, "Sys.AccessNetwork");
  }
  std::string filename = NormalizeFilename(Param(r, "filename"));
  std::map<std::string, std::string> errors =
      DownloadParamErrors(r, options_.version, filename);
  if (!errors.empty()) return ParamError(errors);
  std::string content = Param(r, "content");
  const PveStorageConfig* config = nullptr;
  for (const auto& s : options_.storages) {
    if (s.id == storage) config = &s;
  }
  if (config->type != "dir") {
    return Fail(500,
                absl::StrCat("can't upload to storage type '", config->type,
                             "', not a file based storage!"));
  }
  if (!config->content.count(content)) {
    return Fail(500, absl::StrCat("storage '", storage,
                                  "' is not configured for content-type '",
                                  content, "'"));
  }
  std::string volid = absl::StrCat(storage, ":", content, "/", filename);
  std::string path = absl::StrCat("/var/lib/vz/", content, "/", filename);
  std::string url = Param(r, "url");
  std::string checksum = absl::AsciiStrToLower(Param(r, "checksum"));
  std::string algorithm = Param(r, "checksum-algorithm");
  return Data(StartTask(node, "download", filename, c,
                        latency_.Base(Step::kImageDownload), r.task_error,
                        [this, node, storage, volid, path, url, checksum,
                         algorithm, content](bool failed) -> TaskEnd {
                          if (failed) return {"failed", {}};
                          return FinishDownload(node, storage, volid, path, url,
                                                checksum, algorithm, content);
                        }));
}

PveApi::TaskEnd PveApi::FinishDownload(
    const std::string& node, const std::string& storage,
    const std::string& volid, const std::string& path, const std::string& url,
    const std::string& checksum, const std::string& algorithm,
    const std::string& content) {
  absl::StatusOr<std::string> body = options_.fetch
                                         ? options_.fetch(url)
                                         : absl::UnavailableError("no fetcher");
  absl::MutexLock lock(&mu_);
  auto& vols = volumes_[{node, storage}];
  bool exists = vols.count(volid) > 0;
  if (!body.ok()) {
    return {absl::StrCat("download failed: ", body.status().message()), {}};
  }
  std::string got = LabSha256Hex(*body);
  if (!checksum.empty()) {
    if (algorithm != "sha256") {
      return {"the lab's pve verifies sha256 checksums only", {}};
    }
    if (got != checksum) {
      return {absl::StrCat("checksum mismatch: got '", got, "' != expect '",
                           checksum, "', aborting"),
              {}};
    }
    if (exists) return {"OK", {}};
  } else if (exists) {
    return {absl::StrCat("refusing to override existing file '", path, "'"),
            {}};
  }
  Volume v;
  v.content = content;
  v.format = absl::EndsWith(volid, ".qcow2") ? "qcow2"
             : absl::EndsWith(volid, ".raw") ? "raw"
                                             : "iso";
  v.size = static_cast<int64_t>(body->size());
  v.virtual_size = Qcow2VirtualSize(*body);
  v.ctime = NowSeconds();
  vols[volid] = v;
  return {"OK", {}};
}

}  // namespace coldstart::lab
