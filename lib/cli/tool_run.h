// The frame every coldstart tool runs in (DESIGN.md "Tool contract"), written
// once: read the Cluster, validate the spec, resolve the keystore and the
// credentials, own the events writer, the clock and the progress lines, and
// finish with one rule for stdout and the state file.
//
//   absl::Status RealMain(const MyOptions& options, ToolIo& io) {
//     ASSIGN_OR_RETURN(std::unique_ptr<ToolRun> run,
//                      ToolRun::Open("my-tool", options.common, io));
//     absl::Status status = DoTheWork(*run);   // changes run->cluster()
//     return run->Finish(status);
//   }
//
// Output rule (Finish):
// - dry run: the state file is never written; without --state the input is
//   echoed unchanged on stdout (so a dry-run pipe runs every tool's checks);
// - otherwise run->cluster() is written (to the state file atomically with
//   --state, else to stdout), also when the run failed: the partial status it
//   reached is valid and a re-run resumes from it.
//
// Dry-run reachability (CheckEndpoint): an endpoint that must already exist
// and does not answer fails the run (exit 1, with what was tried); one an
// earlier layer creates is a "pending" line of the plan (exit 0).
#ifndef COLDSTART_LIB_CLI_TOOL_RUN_H_
#define COLDSTART_LIB_CLI_TOOL_RUN_H_

#include <iostream>
#include <memory>
#include <optional>
#include <ostream>
#include <set>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "lib/base/clock.h"
#include "lib/base/environment.h"
#include "lib/base/poll.h"
#include "lib/cli/cli.h"
#include "lib/cli/events.h"
#include "lib/secrets/credentials.h"
#include "lib/secrets/keystore.h"
#include "proto/coldstart/v1/cluster.pb.h"

namespace coldstart {

// Where a run reads and writes, and what it reads the time and the
// environment from. Tests build one around string streams, a FakeClock and
// FixedEnvironment; a main uses StandardIo().
struct ToolIo {
  std::ostream& out;
  std::ostream& err;
  // nullptr: Clock::Real().
  Clock* clock = nullptr;
  // Empty: ProcessEnvironment().
  Environment environment;
  // Human lines go to stderr as a FILE* (live status line on a terminal)
  // when true; to `err` otherwise. StandardIo sets it.
  bool err_is_process_stderr = false;
};

// std::cout, std::cerr, the real clock and the process environment.
ToolIo StandardIo();

// Whether an endpoint is expected to answer already (Proxmox, the Image
// Factory, Headscale, Route53, the VPS, GitHub) or is created by an earlier
// layer (node IPs, the VIP and the Kubernetes API, the in-cluster PowerDNS, a
// kubeconfig not yet written).
enum class EndpointExistence { kMustExist, kCreatedEarlier };

class ToolRun {
 public:
  // Opens the run of `tool`: checks the options, reads the Cluster (--state
  // locked, --in, or stdin), validates the spec (every problem with
  // FILE:LINE:COL), and opens the events writer, which records one step named
  // `tool` for the whole run (in the events file only; its failure is the
  // tool's exit message). Errors: InvalidArgument for bad options or
  // input (nothing changed, no lock file left behind); FailedPrecondition when
  // another run holds the state lock; the events file's error.
  static absl::StatusOr<std::unique_ptr<ToolRun>> Open(
      absl::string_view tool, const CommonOptions& options, ToolIo& io);

  // As Open, without reading a Cluster (subcommands that take none); the
  // keystore then resolves from flag and environment only, and Finish writes
  // nothing.
  static absl::StatusOr<std::unique_ptr<ToolRun>> OpenWithoutCluster(
      absl::string_view tool, const CommonOptions& options, ToolIo& io);

  ~ToolRun();

  const std::string& tool() const { return tool_; }
  const CommonOptions& options() const { return options_; }
  bool dry_run() const { return options_.dry_run; }
  // The Cluster as read (its filename for messages).
  const ParsedCluster& input() const { return session_->input(); }
  const v1::ClusterSpec& spec() const { return cluster_.spec(); }
  // The working copy; Finish writes it.
  v1::Cluster& cluster() { return cluster_; }

  std::ostream& out() { return io_.out; }
  std::ostream& err() { return io_.err; }
  Clock& clock() { return *clock_; }
  const Environment& environment() const { return environment_; }
  Events& events() { return *events_; }

  // The keystore by the one precedence (lib/secrets/keystore.h
  // ResolveKeystoreSpec: flag, $COLDSTART_KEYSTORE, spec, secret-service).
  const std::string& keystore_spec() const { return keystore_spec_; }
  // Opened on first use, then the same one. Errors from OpenKeystore.
  absl::StatusOr<Keystore*> keystore();

  // A credential by the one precedence (environment, then keystore item of
  // this cluster); prints "using <description> from <source>" once. Errors as
  // ResolveCredential, NotFound turned into FailedPrecondition (the world
  // lacks what the run needs: exit 1 with what to do).
  absl::StatusOr<Secret> Credential(const CredentialSource& source);

  // Poll options for a wait of this run: its clock, progress lines on stderr
  // for waits over a second, and `timeout`.
  PollOptions PollFor(absl::string_view what, absl::Duration timeout);

  // A line of the plan (on stderr, "<tool>: plan: <line>").
  void Plan(absl::string_view line);

  // Dry-run reachability: `probe` is the outcome of trying `endpoint`
  // (a URL or address). OK → OK; an error of a kMustExist endpoint →
  // Unavailable "<what> at <endpoint> cannot be reached: <error>"; of a
  // kCreatedEarlier one → a "pending: ..." plan line and OK. Non-transport
  // errors (PermissionDenied, Unauthenticated: a broken credential) fail
  // either way.
  absl::Status CheckEndpoint(absl::string_view what, absl::string_view endpoint,
                             EndpointExistence existence,
                             const absl::Status& probe);

  // Ends the run: applies the output rule above, records the end of the run
  // step, and returns `status` (or the write error when `status` was OK).
  absl::Status Finish(absl::Status status);

 private:
  ToolRun(absl::string_view tool, const CommonOptions& options, ToolIo& io);
  static absl::StatusOr<std::unique_ptr<ToolRun>> OpenImpl(
      absl::string_view tool, const CommonOptions& options, ToolIo& io,
      bool read_cluster);

  const std::string tool_;
  const CommonOptions options_;
  ToolIo& io_;
  Clock* clock_;
  Environment environment_;
  std::optional<ClusterSession> session_;
  v1::Cluster cluster_;
  std::unique_ptr<Events> events_;
  Events::StepId run_step_ = 0;
  std::string keystore_spec_;
  std::unique_ptr<Keystore> keystore_;
  bool finished_ = false;
  // Descriptions of the credentials whose source was already printed.
  std::set<std::string> credentials_noted_;
};

}  // namespace coldstart

#endif  // COLDSTART_LIB_CLI_TOOL_RUN_H_
