// The Tailscale extension of a configured node: it logs in to the login
// server its ExtensionServiceConfig names (POST /_lab/tailscale/login on the
// lab's Headscale) with TS_AUTHKEY, TS_HOSTNAME and TS_ROUTES.
#include <map>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "httplib.h"
#include "lab/talos/talos_simulator.h"
#include "nlohmann/json.hpp"

namespace coldstart::lab {

void TalosSimulator::TailscaleLogin(const std::string& name, int attempt) {
  std::map<std::string, std::string> env;
  {
    absl::MutexLock lock(&mu_);
    Node& node = nodes_.at(name);
    if (stopped_ || node.stage != Stage::kConfigured ||
        node.tailscale_logged_in) {
      return;
    }
    auto it = node.config.extension_env.find("tailscale");
    if (it == node.config.extension_env.end()) return;
    env = it->second;
  }
  std::string login_server;
  for (absl::string_view arg : absl::StrSplit(env["TS_EXTRA_ARGS"], ' ')) {
    if (absl::ConsumePrefix(&arg, "--login-server="))
      login_server = std::string(arg);
  }
  std::string key =
      env.count("TS_AUTHKEY") ? env["TS_AUTHKEY"] : env["TS_AUTH_KEY"];
  if (login_server.empty() || key.empty()) return;
  nlohmann::json body = {
      {"authkey", key},
      {"hostname", env.count("TS_HOSTNAME") ? env["TS_HOSTNAME"] : name},
      {"routes", nlohmann::json::array()}};
  for (absl::string_view route :
       absl::StrSplit(env["TS_ROUTES"], ',', absl::SkipEmpty())) {
    body["routes"].push_back(std::string(route));
  }
  httplib::Client client(login_server);
  client.set_ca_cert_path(
      absl::StrCat(context_.workdir, "/lab-ca.pem").c_str());
  client.enable_server_certificate_verification(true);
  client.set_connection_timeout(2, 0);
  auto res =
      client.Post("/_lab/tailscale/login", body.dump(), "application/json");
  if (res && res->status == 200) {
    absl::MutexLock lock(&mu_);
    nodes_.at(name).tailscale_logged_in = true;
    return;
  }
  Log(absl::StrCat(name, ": tailscale login to ", login_server, " failed (",
                   res ? absl::StrCat("HTTP ", res->status, " ", res->body)
                       : std::string("no connection"),
                   ")"));
  // containerboot retries; a refused key stays refused (as on a real node).
  if (res && res->status >= 400 && res->status < 500) return;
  if (attempt >= 20) return;
  After(absl::Milliseconds(200), [name, attempt](TalosSimulator& self) {
    self.TailscaleLogin(name, attempt + 1);
  });
}

}  // namespace coldstart::lab
