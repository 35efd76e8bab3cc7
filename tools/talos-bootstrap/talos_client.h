// A client of one Talos node's machine API (proto/talos) over gRPC+TLS.
//
// Two ways to connect (facts/talos.md §1, §7):
//   Insecure(): maintenance mode, as talosctl --insecure: TLS without server
//     verification and without a client certificate (trust on first use);
//     the server's leaf CN is captured so the mode can be told from TLS.
//   Mutual(): configured mode: the server must chain to the OS CA (and name
//     the node's IP), and we present the os:admin client certificate.
// Every call uses a fresh channel (apid restarts during the lifecycle), a
// per-call deadline and a 32 MiB receive limit.
#ifndef COLDSTART_TOOLS_TALOS_BOOTSTRAP_TALOS_CLIENT_H_
#define COLDSTART_TOOLS_TALOS_BOOTSTRAP_TALOS_CLIENT_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "proto/talos/machine/machine.pb.h"

namespace coldstart {

// What the node's TLS certificate said on the last insecure call.
struct TalosPeer {
  std::string leaf_common_name;
};

inline constexpr char kMaintenanceCommonName[] =
    "maintenance-service.talos.dev";

class TalosClient {
 public:
  // `address` = "ip:port".
  static std::unique_ptr<TalosClient> Insecure(std::string address);
  static std::unique_ptr<TalosClient> Mutual(std::string address,
                                             std::string os_ca_pem,
                                             std::string client_cert_pem,
                                             std::string client_key_pem);
  virtual ~TalosClient() = default;

  // gRPC errors become absl::Status with the same code and message
  // "<Method> on <address>: <server message>".
  virtual absl::StatusOr<machine::ApplyConfigurationResponse> Apply(
      const machine::ApplyConfigurationRequest& request) = 0;
  virtual absl::StatusOr<machine::BootstrapResponse> Bootstrap() = 0;
  virtual absl::StatusOr<machine::VersionResponse> Version() = 0;
  virtual absl::StatusOr<machine::EtcdMemberListResponse> EtcdMemberList() = 0;
  virtual absl::StatusOr<machine::ServiceListResponse> ServiceList() = 0;
  // Concatenated bytes of the Kubeconfig stream.
  virtual absl::StatusOr<std::string> Kubeconfig() = 0;
  // The server leaf seen by the last insecure call.
  virtual TalosPeer peer() const = 0;
};

// The `kubeconfig` file from Talos's gzip'd, unterminated tar stream
// (facts/talos.md §2.2): one ustar header, then exactly `size` bytes.
// InvalidArgument for anything else.
absl::StatusOr<std::string> ExtractKubeconfig(const std::string& gzip_tar);

}  // namespace coldstart

#endif  // COLDSTART_TOOLS_TALOS_BOOTSTRAP_TALOS_CLIENT_H_
