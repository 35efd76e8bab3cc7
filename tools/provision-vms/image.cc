#include "tools/provision-vms/image.h"

#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "lib/base/file.h"
#include "lib/base/status_macros.h"
#include "lib/net/http.h"
#include "nlohmann/json.hpp"
#include "tools/provision-vms/vm_config.h"

namespace coldstart {
namespace {

using json = nlohmann::json;

class ImageConverger {
 public:
  ImageConverger(ProvisionContext& context, PveClient& pve,
                 v1::ImageStatus* status)
      : context_(context),
        pve_(pve),
        status_(status),
        yaml_(SchematicYaml(context.spec().image())),
        local_id_(SchematicId(yaml_)),
        file_(ImageFileName(context.spec(), local_id_)),
        storage_(context.spec().proxmox().image_storage()),
        volid_(absl::StrCat(storage_, ":import/", file_)) {}

  absl::Status Run(bool plan_only);

 private:
  const v1::ClusterSpec& spec() const { return context_.spec(); }
  absl::StatusOr<bool> Present(const std::string& node);
  absl::StatusOr<std::string> PostSchematic();
  absl::Status Download(const std::string& node, const std::string& url);
  absl::Status DownloadTask(const std::string& node, const std::string& url);

  ProvisionContext& context_;
  PveClient& pve_;
  v1::ImageStatus* status_;
  const std::string yaml_;
  const std::string local_id_;
  const std::string file_;
  const std::string storage_;
  const std::string volid_;
};

absl::Status ImageConverger::Run(bool plan_only) {
  std::set<std::string> pve_nodes;
  for (const auto& n : spec().nodes()) pve_nodes.insert(n.proxmox_node());
  std::vector<std::string> missing;
  for (const auto& node : pve_nodes) {
    ASSIGN_OR_RETURN(bool present, Present(node));
    if (!present) missing.push_back(node);
  }
  status_->set_volume(volid_);
  if (missing.empty()) {
    // The volume's name carries the id, which was cross-checked with the
    // factory when it was downloaded.
    status_->set_schematic_id(local_id_);
    if (status_->image_url().empty()) {
      status_->set_image_url(ImageUrl(spec(), local_id_));
    }
    context_.Plan(absl::StrCat("image ", volid_, ": present"));
    return absl::OkStatus();
  }
  context_.Plan(absl::StrCat("image ", volid_, ": download on ",
                             absl::StrJoin(missing, ", ")));
  if (plan_only) return absl::OkStatus();
  Events::StepId step = context_.events().Start("schematic");
  absl::StatusOr<std::string> id = PostSchematic();
  context_.events().End(step, id.status());
  RETURN_IF_ERROR(id.status());
  status_->set_schematic_id(*id);
  std::string url = ImageUrl(spec(), *id);
  status_->set_image_url(url);
  return context_.ForEachParallel(
      missing.size(), [&](size_t i) { return Download(missing[i], url); });
}

absl::StatusOr<bool> ImageConverger::Present(const std::string& node) {
  ASSIGN_OR_RETURN(
      json content,
      pve_.Get(absl::StrCat("/nodes/", node, "/storage/", storage_, "/content"),
               {{"content", "import"}}));
  for (const auto& v : content) {
    if (PveString(v["volid"]) == volid_) return true;
  }
  return false;
}

// The factory's id for our schematic, which must be the local one.
absl::StatusOr<std::string> ImageConverger::PostSchematic() {
  HttpRequest request;
  request.method = "POST";
  request.url = absl::StrCat(spec().image().factory_url(), "/schematics");
  request.body = yaml_;
  request.headers.push_back({"Content-Type", "application/yaml"});
  PollOptions options = context_.PollFor("Image Factory POST /schematics",
                                         context_.options().retry_deadline);
  options.max_attempts = 10;
  options.backoff = {absl::Milliseconds(50), absl::Seconds(5), 2.0, 0.25};
  ASSIGN_OR_RETURN(
      HttpResponse response,
      SendPolled(context_.factory_http(), request, options,
                 [](const HttpResponse& r) { return r.status >= 500; }));
  if (response.status != 201 && response.status != 200) {
    return absl::FailedPreconditionError(
        absl::StrCat("Image Factory POST /schematics answered HTTP ",
                     response.status, ": ", Abbreviate(response.body, 200)));
  }
  json body = json::parse(response.body, nullptr, false);
  std::string id = body.is_object() ? PveString(body["id"]) : "";
  if (id != local_id_) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the Image Factory returned schematic id \"", Abbreviate(id), "\" but ",
        "the schematic's canonical form hashes to ", local_id_,
        "; refusing to import an image whose name would not match its "
        "content (check spec.image.extensions / extra_kernel_args)"));
  }
  return id;
}

absl::Status ImageConverger::Download(const std::string& node,
                                      const std::string& url) {
  Events::StepId step = context_.events().Start("image-download", node);
  absl::Status result = DownloadTask(node, url);
  if (result.ok()) {
    absl::StatusOr<bool> present = Present(node);
    if (!present.ok() || !*present) {
      result = absl::FailedPreconditionError(
          absl::StrCat(volid_, " is still missing after the download"));
    }
  }
  context_.events().End(step, result);
  if (result.ok()) return result;
  return absl::Status(
      result.code(),
      absl::StrCat("image ", volid_, " on node ", node, " from ", url, ": ",
                   result.message(), "; re-run to resume"));
}

absl::Status ImageConverger::DownloadTask(const std::string& node,
                                          const std::string& url) {
  // A download of the same file still running (a killed earlier run)?
  std::string running;
  absl::StatusOr<json> active =
      pve_.Get(absl::StrCat("/nodes/", node, "/tasks"),
               {{"source", "active"}, {"typefilter", "download"}});
  if (active.ok()) {
    for (const auto& t : *active) {
      if (PveString(t["id"]) == file_) running = PveString(t["upid"]);
    }
  }
  std::string where = absl::StrCat("/nodes/", node, "/storage/", storage_);
  ASSIGN_OR_RETURN(
      PveTaskRun run,
      pve_.RunTask(
          absl::StrCat("the download of ", file_, " on node ", node),
          [&]() -> absl::StatusOr<json> {
            if (!running.empty()) return json(std::exchange(running, ""));
            return pve_.Post(
                where + "/download-url",
                {{"url", url}, {"content", "import"}, {"filename", file_}});
          },
          context_.options().task_deadline, kTaskAttempts));
  // "refusing to override": another download finished first.
  if (run.task.ok() ||
      absl::StrContains(run.task.exit_status, "refusing to override")) {
    return absl::OkStatus();
  }
  return absl::FailedPreconditionError(
      absl::StrCat("download task ", run.task.upid, " ended \"",
                   run.task.exit_status, "\""));
}

}  // namespace

absl::Status EnsureImage(ProvisionContext& context, PveClient& pve,
                         bool plan_only, v1::ImageStatus* status) {
  return ImageConverger(context, pve, status).Run(plan_only);
}

absl::Status ProbeImageFactory(ProvisionContext& context) {
  HttpRequest request;
  request.url = context.spec().image().factory_url();
  PollOptions options =
      context.PollFor("Image Factory GET /", context.options().retry_deadline);
  options.max_attempts = kProbeAttempts;
  return SendPolled(context.factory_http(), request, options).status();
}

}  // namespace coldstart
