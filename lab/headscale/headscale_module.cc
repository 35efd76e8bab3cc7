#include "lab/headscale/headscale_module.h"

#include <sys/stat.h>

#include <cstdio>
#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "lab/headscale/headscale_api.h"
#include "lab/headscale/headscale_state.h"
#include "lab/listen_address.h"
#include "lab/tls/lab_tls.h"
#include "lab/tls/tls_module_server.h"
#include "lib/base/status_macros.h"

namespace coldstart::lab {
namespace {

// The admin's API key, as `headscale apikeys create` would print it (§1),
// written to <workdir>/headscale-api-key (0600).
absl::StatusOr<std::string> WriteApiKey(const std::string& workdir,
                                        int generation) {
  const std::string api_key =
      generation >= 28
          ? absl::StrCat("hskey-api-", RandomHex(12), "-", RandomHex(32))
          : absl::StrCat(RandomHex(7), ".", RandomHex(32));
  const std::string path = absl::StrCat(workdir, "/headscale-api-key");
  FILE* f = std::fopen(path.c_str(), "w");
  if (f == nullptr) {
    return absl::PermissionDeniedError(
        absl::StrCat("headscale: cannot write the API key to ", path));
  }
  fchmod(fileno(f), 0600);
  std::fputs(api_key.c_str(), f);
  std::fclose(f);
  return api_key;
}

}  // namespace

HeadscaleModule::HeadscaleModule() = default;
HeadscaleModule::~HeadscaleModule() { Stop(); }

absl::Status HeadscaleModule::Start(ModuleContext& context) {
  const auto& mesh = context.spec->spec().mesh();
  std::string version =
      mesh.api_version().empty() ? "0.26" : mesh.api_version();
  if (auto it = context.options.find("version"); it != context.options.end()) {
    version = it->second;
  }
  ASSIGN_OR_RETURN(int minor, ParseHeadscaleMinorVersion(version));
  state_ = std::make_unique<HeadscaleState>(minor);

  ASSIGN_OR_RETURN(HostPort hp, ModuleListenAddress(context, "headscale",
                                                    mesh.headscale_url(), ""));
  ASSIGN_OR_RETURN(
      ServerCertificateFiles files,
      IssueLabServerCertificate(context.workdir, "headscale", {hp.host}));
  ASSIGN_OR_RETURN(std::string api_key,
                   WriteApiKey(context.workdir, state_->generation()));

  ModuleServerOptions options;
  options.module = "headscale";
  options.host = hp.host;
  options.port = context.any_port ? 0 : hp.port;
  options.faults = context.faults;
  options.requests = context.requests;
  server_ = std::make_unique<TlsModuleServer>(options, files.cert_path,
                                              files.key_path);
  ServeHeadscaleApi(*server_, *state_, api_key);
  return server_->Start();
}

std::map<std::string, std::string> HeadscaleModule::Listeners() const {
  if (!server_) return {};
  return {{"https", server_->address()}};
}

void HeadscaleModule::Stop() {
  if (server_) server_->Stop();
}

}  // namespace coldstart::lab
