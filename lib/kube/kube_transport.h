// The HttpClient (lib/http.h) that talks to a Kubernetes API server as a
// kubeconfig says: libcurl with the kubeconfig's CA (from memory, no temp
// files), the client certificate and key as in-memory blobs, SNI override,
// and connection reuse across requests (a small pool of curl handles), so
// paging through a large list does not pay one TLS handshake per page.
//
// lib/http's CurlHttpClient trusts CA files and pins but presents no client
// certificate; this is the Kubernetes-specific transport next to it.
#ifndef COLDSTART_LIB_KUBE_TRANSPORT_H_
#define COLDSTART_LIB_KUBE_TRANSPORT_H_

#include <memory>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "lib/kube/kube_config.h"
#include "lib/net/http.h"

namespace coldstart::kube {

struct TransportOptions {
  absl::Duration connect_timeout = absl::Seconds(10);
  // Default limit for one exchange (HttpRequest::timeout overrides).
  absl::Duration timeout = absl::Seconds(60);
  // insecure-skip-tls-verify in the kubeconfig is refused unless this is set
  // (DESIGN.md: skipping verification needs an explicit --insecure).
  bool allow_insecure = false;
  std::string user_agent = "coldstart-kube";
};

// Errors: FailedPrecondition for insecure-skip-tls-verify without
// allow_insecure. The client's Send follows lib/http's contract: every HTTP
// status is a response; Unavailable (connect/reset, TLS handshake refused —
// e.g. the server rejected the client certificate), DeadlineExceeded,
// FailedPrecondition (server certificate not trusted).
absl::StatusOr<std::unique_ptr<HttpClient>> NewKubeHttpClient(
    const RestConfig& config, const TransportOptions& options = {});

}  // namespace coldstart::kube

#endif  // COLDSTART_LIB_KUBE_TRANSPORT_H_
