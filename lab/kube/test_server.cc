#include "lab/kube/test_server.h"

#include <fcntl.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "lib/base/status_macros.h"
#include "lib/kube/kube_config.h"
#include "lib/secrets/secret.h"

namespace coldstart::lab {

absl::StatusOr<std::unique_ptr<TestKubeApi>> StartTestKubeApi(
    const std::string& dir, ApiServerOptions options, FaultInjector* faults) {
  auto t = std::make_unique<TestKubeApi>();
  ASSIGN_OR_RETURN(t->pki, IssueKubePki({"127.0.0.1"}));
  t->api = std::make_unique<ApiServer>(std::move(options));
  KubeHttpsOptions https;
  https.host = "127.0.0.1";
  https.server_cert_pem = t->pki.server_cert_pem;
  https.server_key_pem = t->pki.server_key_pem;
  https.client_ca_pem = t->pki.ca_cert_pem;
  https.tls_dir = dir;
  https.faults = faults;
  ASSIGN_OR_RETURN(t->https, KubeHttpsServer::Start(*t->api, https));
  t->url = t->https->url();
  t->kubeconfig_path = absl::StrCat(dir, "/kubeconfig");
  std::string text = kube::RenderKubeconfig(
      "lab", t->url, t->pki.ca_cert_pem, t->pki.admin_cert_pem,
      Secret(std::string(t->pki.admin_key_pem)));
  int fd = ::open(t->kubeconfig_path.c_str(),
                  O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0 || ::write(fd, text.data(), text.size()) !=
                    static_cast<ssize_t>(text.size())) {
    if (fd >= 0) ::close(fd);
    return absl::InternalError(
        absl::StrCat("cannot write ", t->kubeconfig_path));
  }
  ::close(fd);
  return t;
}

}  // namespace coldstart::lab
