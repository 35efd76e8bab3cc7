#include "lab/pve/pve_module.h"

#include <set>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "lab/listen_address.h"
#include "lab/pve/pve_api.h"
#include "lab/tls/lab_tls.h"
#include "lab/tls/tls_module_server.h"
#include "lib/base/status_macros.h"
#include "nlohmann/json.hpp"
#include "re2/re2.h"

namespace coldstart::lab {
namespace {

PveApiOptions ApiOptions(const ModuleContext& context) {
  PveApiOptions options;
  auto version = context.options.find("version");
  if (version != context.options.end()) options.version = version->second;
  std::set<std::string> nodes, block, dir;
  if (context.spec != nullptr) {
    const auto& spec = context.spec->spec();
    for (const auto& n : spec.nodes()) {
      if (!n.proxmox_node().empty()) nodes.insert(n.proxmox_node());
      if (!n.storage().empty()) block.insert(n.storage());
    }
    if (!spec.proxmox().vm_storage().empty()) {
      block.insert(spec.proxmox().vm_storage());
    }
    if (!spec.proxmox().image_storage().empty()) {
      dir.insert(spec.proxmox().image_storage());
    }
  }
  if (nodes.empty()) nodes.insert("pve");
  options.nodes.assign(nodes.begin(), nodes.end());
  dir.insert("local");
  if (!block.count("local-lvm") && !dir.count("local-lvm")) {
    options.storages.push_back({"local-lvm", "lvmthin", {"images", "rootdir"}});
  }
  for (const auto& s : dir) {
    block.erase(s);
    options.storages.push_back(
        {s, "dir", {"iso", "vztmpl", "import", "backup", "snippets"}});
  }
  for (const auto& s : block) {
    options.storages.push_back({s, "zfspool", {"images", "rootdir"}});
  }
  return options;
}

// download-url's HTTP client: the lab's own HTTPS (lab CA trusted), like
// Proxmox's wget following redirects.
absl::StatusOr<std::string> Fetch(const std::string& ca_path,
                                  const std::string& url) {
  std::string scheme_host, path;
  if (!RE2::FullMatch(url, R"((https?://[^/]+)(/.*)?)", &scheme_host, &path)) {
    return absl::InvalidArgumentError("bad URL");
  }
  httplib::Client client(scheme_host);
  client.set_ca_cert_path(ca_path.c_str());
  client.enable_server_certificate_verification(true);
  client.set_follow_location(true);
  client.set_connection_timeout(10);
  client.set_read_timeout(60);
  auto res = client.Get(path.empty() ? "/" : path.c_str());
  if (!res) {
    return absl::UnavailableError(absl::StrCat(
        "connection failed (", httplib::to_string(res.error()), ")"));
  }
  if (res->status != 200) {
    return absl::UnavailableError(
        absl::StrCat("server answered HTTP ", res->status));
  }
  return res->body;
}

}  // namespace

PveModule::PveModule() = default;
PveModule::~PveModule() { Stop(); }

absl::Status PveModule::Start(ModuleContext& context) {
  ASSIGN_OR_RETURN(
      HostPort host_port,
      ModuleListenAddress(context, "pve",
                          context.spec != nullptr
                              ? context.spec->spec().proxmox().endpoint()
                              : "",
                          kPveDefaultAddress));
  ASSIGN_OR_RETURN(ServerCertificateFiles files,
                   IssueLabServerCertificate(context.workdir, "pve",
                                             {host_port.host, "127.0.0.1"}));
  PveApiOptions options = ApiOptions(context);
  std::string ca_path = files.ca_path;
  options.fetch = [ca_path](const std::string& url) {
    return Fetch(ca_path, url);
  };
  api_ = std::make_unique<PveApi>(std::move(options), *context.scheduler,
                                  *context.latency, *context.world);
  {
    std::string credential = api_->CreateRootToken("labd");
    FILE* f = std::fopen(
        absl::StrCat(context.workdir, "/", kPveAdminTokenFile).c_str(), "we");
    if (f == nullptr) {
      return absl::PermissionDeniedError("pve: cannot write the admin token");
    }
    fchmod(fileno(f), 0600);
    std::fputs(credential.c_str(), f);
    std::fclose(f);
    FILE* sha = std::fopen(
        absl::StrCat(context.workdir, "/pve-cert.sha256").c_str(), "we");
    if (sha != nullptr) {
      std::fputs((files.cert_sha256 + "\n").c_str(), sha);
      std::fclose(sha);
    }
  }
  ModuleServerOptions server_options{"pve", host_port.host,
                                     context.any_port ? 0 : host_port.port,
                                     context.faults, context.requests};
  server_options.unrouted_status = 501;
  server_ = std::make_unique<TlsModuleServer>(server_options, files.cert_path,
                                              files.key_path);
  auto handler = [this](const httplib::Request& req, httplib::Response& res,
                        const FaultDecision& fault) {
    PveRequest request;
    request.method = req.method;
    request.path = "/" + req.matches[1].str();
    for (const auto& [k, v] : req.params) request.params[k] = v;
    if (absl::StartsWith(req.get_header_value("Content-Type"),
                         "application/json") &&
        !req.body.empty()) {
      nlohmann::json body = nlohmann::json::parse(req.body, nullptr, false);
      if (body.is_object()) {
        for (const auto& [k, v] : body.items()) {
          if (v.is_boolean()) {
            request.params[k] = v.get<bool>() ? "1" : "0";
          } else if (v.is_string()) {
            request.params[k] = v.get<std::string>();
          } else {
            request.params[k] = v.dump();
          }
        }
      }
    }
    request.authorization = req.get_header_value("Authorization");
    request.unexpected_body =
        (req.method == "GET" || req.method == "DELETE") && !req.body.empty();
    int vmid = 0;
    std::string digits;
    if (RE2::PartialMatch(req.path, R"(/qemu/(\d+))", &digits)) {
      absl::SimpleAtoi(digits, &vmid);
    } else {
      auto vmid_param = request.params.find("vmid");
      if (vmid_param != request.params.end()) {
        absl::SimpleAtoi(vmid_param->second, &vmid);
      }
    }
    request.task_error = fault.TaskErrorText(vmid);
    PveResponse response = api_->Handle(request);
    if (response.delay > absl::ZeroDuration()) absl::SleepFor(response.delay);
    res.status = response.status;
    if (!response.body.empty()) {
      res.set_content(response.body, "application/json;charset=UTF-8");
    }
  };
  server_->Get("/api2/json/(.*)", handler);
  server_->Post("/api2/json/(.*)", handler);
  server_->Put("/api2/json/(.*)", handler);
  server_->Delete("/api2/json/(.*)", handler);
  RETURN_IF_ERROR(server_->Start());
  context.log(absl::StrCat("pve: listening on https://", server_->address(),
                           "/api2/json (admin token in ", context.workdir, "/",
                           kPveAdminTokenFile, ")"));
  return absl::OkStatus();
}

std::map<std::string, std::string> PveModule::Listeners() const {
  if (server_ == nullptr) return {};
  return {{"https", server_->address()}};
}

void PveModule::Stop() {
  if (server_ != nullptr) server_->Stop();
}

}  // namespace coldstart::lab
