#include "tools/talos-bootstrap/client_configs.h"

#include <sys/stat.h>

#include <string>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "lib/base/poll.h"
#include "lib/base/status_macros.h"
#include "lib/cli/atomic_file.h"
#include "tools/talos-bootstrap/run_steps.h"

namespace coldstart {
namespace {

bool Exists(const std::string& path) {
  struct stat info;
  return stat(path.c_str(), &info) == 0;
}

std::string Talosconfig(const v1::ClusterSpec& spec, const v1::Node& first,
                        const TalosCredentials& credentials) {
  std::string yaml = absl::StrCat("context: ", spec.name(), "\ncontexts:\n  ",
                                  spec.name(), ":\n    endpoints:\n");
  for (const v1::Node& n : spec.nodes()) {
    if (IsControlPlane(n)) absl::StrAppend(&yaml, "      - ", n.ip(), "\n");
  }
  absl::StrAppend(
      &yaml, "    nodes:\n      - ", first.ip(),
      "\n    ca: ", absl::Base64Escape(credentials.bundle.os_ca.crt_pem),
      "\n    crt: ", absl::Base64Escape(credentials.admin.crt_pem),
      "\n    key: ", absl::Base64Escape(credentials.admin.key_pem.Reveal()),
      "\n");
  return yaml;
}

}  // namespace

std::string KubeconfigPath(const v1::ClusterSpec& spec) {
  return spec.talos().kubeconfig_path().empty()
             ? "kubeconfig"
             : spec.talos().kubeconfig_path();
}

std::string TalosconfigPath(const v1::ClusterSpec& spec) {
  return spec.talos().talosconfig_path().empty()
             ? "talosconfig"
             : spec.talos().talosconfig_path();
}

absl::Status WriteClientConfigs(ToolRun& run, const TalosAccess& access,
                                const v1::Node& first, absl::Time deadline,
                                v1::TalosBootstrapStatus& status) {
  const std::string kube_path = KubeconfigPath(run.spec());
  const std::string talos_path = TalosconfigPath(run.spec());
  RETURN_IF_ERROR(RunStep(run, "kubeconfig", "", [&]() -> absl::Status {
    if (Exists(kube_path)) return absl::OkStatus();
    std::string stream;
    RETURN_IF_ERROR(Poll(
        ConvergenceWait(run, absl::StrCat("the kubeconfig from ", first.name()),
                        deadline),
        [&](PollAttempt&) -> absl::Status {
          ASSIGN_OR_RETURN(stream, access.Mutual(first)->Kubeconfig());
          return absl::OkStatus();
        }));
    ASSIGN_OR_RETURN(std::string kubeconfig, ExtractKubeconfig(stream));
    RETURN_IF_ERROR(WriteSecretFileAtomically(kube_path, kubeconfig));
    run.events().Note(absl::StrCat("wrote ", kube_path));
    return absl::OkStatus();
  }));
  RETURN_IF_ERROR(RunStep(run, "talosconfig", "", [&]() -> absl::Status {
    if (Exists(talos_path)) return absl::OkStatus();
    RETURN_IF_ERROR(WriteSecretFileAtomically(
        talos_path, Talosconfig(run.spec(), first, access.credentials())));
    run.events().Note(absl::StrCat("wrote ", talos_path));
    return absl::OkStatus();
  }));
  status.set_kubeconfig_path(kube_path);
  status.set_talosconfig_path(talos_path);
  return absl::OkStatus();
}

void PlanClientConfigs(ToolRun& run) {
  for (const auto& [what, path] :
       {std::pair<const char*, std::string>{"kubeconfig",
                                            KubeconfigPath(run.spec())},
        {"talosconfig", TalosconfigPath(run.spec())}}) {
    run.Plan(Exists(path) ? absl::StrCat(what, " ", path, ": exists (kept)")
                          : absl::StrCat("pending: ", what, " ", path,
                                         " (written after the bootstrap)"));
  }
}

}  // namespace coldstart
