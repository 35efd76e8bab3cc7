// Kubeconfig loading with kubectl's rules (facts/kubernetes.md §1):
//
// - An explicit file (`--kubeconfig F`) is the only file read; it must exist.
// - Else $KUBECONFIG, a ':'-separated list: duplicates dropped, empty entries
//   and missing files skipped; unset or empty → ~/.kube/config.
// - Named entries (clusters, users, contexts): the first file that defines a
//   name wins entirely. current-context: the first non-empty value.
// - The context (current-context unless overridden) selects cluster + user +
//   namespace (default "default").
// - CA: certificate-authority-data (base64 PEM) or certificate-authority
//   (a file; relative paths are relative to the kubeconfig's directory).
//   Client certificate/key: *-data or files likewise. token / tokenFile.
//   insecure-skip-tls-verify together with a CA is an error (as kubectl).
//
// Secrets (client key, token) are read into Secret and never appear in
// messages.
#ifndef COLDSTART_LIB_KUBE_CONFIG_H_
#define COLDSTART_LIB_KUBE_CONFIG_H_

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "lib/secrets/secret.h"

namespace coldstart::kube {

// Everything needed to talk to one API server as one user.
struct RestConfig {
  std::string context;
  std::string cluster_name;
  std::string user_name;
  // Base URL, possibly with a path prefix, without a trailing '/'.
  std::string server;
  // PEM bundle of trusted CAs; empty means the system store.
  std::string ca_pem;
  bool insecure_skip_tls_verify = false;
  // SNI / certificate host override (tls-server-name).
  std::string tls_server_name;
  std::string client_cert_pem;
  Secret client_key_pem;
  // Bearer token (sent when non-empty, also together with a client cert).
  Secret token;
  // The context's namespace, "default" when unset.
  std::string ns = "default";
};

struct KubeconfigLoadOptions {
  // --kubeconfig: read only this file (NotFound when missing).
  std::string explicit_path;
  // The $KUBECONFIG value; nullopt: read the environment.
  std::optional<std::string> kubeconfig_env;
  // Home directory for ~/.kube/config; empty: $HOME.
  std::string home;
  // --context: use this context instead of current-context.
  std::string context;
};

// Loads the kubeconfig the options name and resolves one context. Errors:
// NotFound (an explicit file, or no kubeconfig at all), InvalidArgument (bad
// YAML with file:line:col, no current context, a context naming a missing
// cluster/user, bad base64, CA + insecure), Unimplemented (exec/auth-provider
// credential plugins).
absl::StatusOr<RestConfig> LoadKubeconfig(const KubeconfigLoadOptions& options);

// One kubeconfig given as text; `dir` resolves relative file paths and
// `source` names it in messages.
absl::StatusOr<RestConfig> ParseKubeconfig(absl::string_view yaml,
                                           absl::string_view dir,
                                           absl::string_view source,
                                           absl::string_view context = "");

// A kubeconfig (YAML) for one cluster/user with embedded CA and client
// certificate data, e.g. for tests and the lab. `key_pem` is written into
// the returned text; store it like a secret (0600).
std::string RenderKubeconfig(absl::string_view name, absl::string_view server,
                             absl::string_view ca_pem,
                             absl::string_view client_cert_pem,
                             const Secret& client_key_pem,
                             absl::string_view ns = "");

}  // namespace coldstart::kube

#endif  // COLDSTART_LIB_KUBE_CONFIG_H_
