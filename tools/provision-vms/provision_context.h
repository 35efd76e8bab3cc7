// What every step of one provision-vms run shares: the run frame (spec,
// keystore, events, clock, polls), the options, and the HTTP clients of
// Proxmox and the Image Factory with the spec's TLS trust.
#ifndef COLDSTART_TOOLS_PROVISION_VMS_PROVISION_CONTEXT_H_
#define COLDSTART_TOOLS_PROVISION_VMS_PROVISION_CONTEXT_H_

#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/timestamp.pb.h"
#include "lib/cli/tool_run.h"
#include "lib/net/http.h"
#include "lib/secrets/keystore.h"
#include "lib/secrets/secret.h"
#include "proto/coldstart/v1/cluster.pb.h"
#include "tools/provision-vms/provision_options.h"
#include "tools/provision-vms/pve_client.h"

namespace coldstart {

// Proxmox task attempts when a task ends in a lock timeout.
inline constexpr int kTaskAttempts = 5;
// Attempts of a dry run's reachability probe (a quick answer, not a wait).
inline constexpr int kProbeAttempts = 3;

class ProvisionContext {
 public:
  // Errors: the HTTP clients' (NotFound for a missing CA file,
  // InvalidArgument for a malformed pin).
  static absl::StatusOr<std::unique_ptr<ProvisionContext>> Create(
      ToolRun& run, const ProvisionOptions& options);

  ToolRun& run() { return run_; }
  const ProvisionOptions& options() const { return options_; }
  const v1::ClusterSpec& spec() const { return run_.spec(); }
  bool dry_run() const { return run_.dry_run(); }
  Events& events() { return run_.events(); }
  HttpClient& factory_http() { return *factory_http_; }

  // A Proxmox API client with `credential`, waiting on the run's clock with
  // its progress lines; each call is tried up to `call_attempts` times
  // within --retry-deadline.
  PveClient Client(Secret credential, int call_attempts = 10);
  // The run's PollOptions (ToolRun::PollFor).
  PollOptions PollFor(absl::string_view what, absl::Duration timeout);
  // A plan line ("provision-vms: plan: ...") and a plain progress line.
  void Plan(absl::string_view line) { run_.Plan(line); }
  void Say(absl::string_view line) { run_.events().Note(line); }
  // The run clock's now, for status timestamps.
  google::protobuf::Timestamp Now();
  // This cluster's keystore item `key`.
  KeystoreAttributes Item(absl::string_view key) const;

  // Calls fn(0..n-1) on up to --parallelism threads; OK, or the first
  // error's code with every error's message, one a line.
  absl::Status ForEachParallel(size_t n,
                               const std::function<absl::Status(size_t)>& fn);

 private:
  ProvisionContext(ToolRun& run, const ProvisionOptions& options)
      : run_(run), options_(options) {}

  ToolRun& run_;
  const ProvisionOptions& options_;
  std::unique_ptr<CurlHttpClient> pve_http_;
  std::unique_ptr<CurlHttpClient> factory_http_;
};

}  // namespace coldstart

#endif  // COLDSTART_TOOLS_PROVISION_VMS_PROVISION_CONTEXT_H_
