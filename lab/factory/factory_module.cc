#include "lab/factory/factory_module.h"

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "lab/factory/schematic.h"
#include "lab/listen_address.h"
#include "lab/tls/lab_tls.h"
#include "lab/tls/tls_module_server.h"
#include "lib/base/status_macros.h"
#include "nlohmann/json.hpp"

namespace coldstart::lab {
namespace {

void Text(httplib::Response& res, int status, const std::string& text) {
  res.status = status;
  res.set_content(text + "\n", "text/plain; charset=utf-8");
}

}  // namespace

FactoryModule::FactoryModule() = default;
FactoryModule::~FactoryModule() { Stop(); }

absl::Status FactoryModule::Start(ModuleContext& context) {
  ASSIGN_OR_RETURN(
      HostPort host_port,
      ModuleListenAddress(context, "factory",
                          context.spec != nullptr
                              ? context.spec->spec().image().factory_url()
                              : "",
                          kFactoryDefaultAddress));
  ASSIGN_OR_RETURN(ServerCertificateFiles files,
                   IssueLabServerCertificate(context.workdir, "factory",
                                             {host_port.host, "127.0.0.1"}));
  server_ = std::make_unique<TlsModuleServer>(
      ModuleServerOptions{"factory", host_port.host,
                          context.any_port ? 0 : host_port.port, context.faults,
                          context.requests},
      files.cert_path, files.key_path);

  server_->Post("/schematics", [this](const httplib::Request& req,
                                      httplib::Response& res,
                                      const FaultDecision&) {
    absl::StatusOr<CanonicalSchematic> schematic =
        CanonicalizeSchematic(req.body);
    if (!schematic.ok()) {
      Text(res, 400, std::string(schematic.status().message()));
      return;
    }
    {
      absl::MutexLock lock(&mu_);
      schematics_[schematic->id] = schematic->yaml;
    }
    res.status = 201;
    res.set_content(
        nlohmann::json{{"id", schematic->id}, {"schematic", schematic->yaml}}
            .dump(),
        "application/json");
  });

  server_->Get("/schematics/([0-9a-f]+)",
               [this](const httplib::Request& req, httplib::Response& res,
                      const FaultDecision&) {
                 absl::MutexLock lock(&mu_);
                 auto it = schematics_.find(req.matches[1].str());
                 if (it == schematics_.end()) {
                   Text(res, 404, "schematic not found");
                   return;
                 }
                 res.set_content(it->second, "application/yaml");
               });

  server_->Get(
      "/image/([^/]+)/([^/]+)/([^/]+)",
      [this](const httplib::Request& req, httplib::Response& res,
             const FaultDecision&) {
        std::string id = req.matches[1].str();
        std::string version = req.matches[2].str();
        std::string file = req.matches[3].str();
        if (absl::EndsWith(file, ".sha256") ||
            absl::EndsWith(file, ".sha512")) {
          Text(res, 402, "checksums are available in the Enterprise edition");
          return;
        }
        {
          absl::MutexLock lock(&mu_);
          if (schematics_.count(id) == 0) {
            Text(res, 404, "schematic not found");
            return;
          }
        }
        if (file != "nocloud-amd64.qcow2") {
          Text(res, 404,
               absl::StrCat("the lab serves only nocloud-amd64.qcow2, not ",
                            file));
          return;
        }
        absl::StatusOr<std::string> image = LabNocloudQcow2(id, version);
        if (!image.ok()) {
          Text(res, 404, std::string(image.status().message()));
          return;
        }
        res.set_header("Content-Disposition",
                       "attachment; filename=\"nocloud-amd64.qcow2\"");
        res.set_content(*image, "application/octet-stream");
      });

  return server_->Start();
}

std::map<std::string, std::string> FactoryModule::Listeners() const {
  if (server_ == nullptr) return {};
  return {{"https", server_->address()}};
}

void FactoryModule::Stop() {
  if (server_ != nullptr) server_->Stop();
}

}  // namespace coldstart::lab
