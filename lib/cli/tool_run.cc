#include "lib/cli/tool_run.h"

#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "lib/base/status_macros.h"
#include "lib/cli/spec_validation.h"

namespace coldstart {

ToolIo StandardIo() {
  ToolIo io{std::cout, std::cerr};
  io.clock = Clock::Real();
  io.environment = ProcessEnvironment();
  io.err_is_process_stderr = true;
  return io;
}

ToolRun::ToolRun(absl::string_view tool, const CommonOptions& options,
                 ToolIo& io)
    : tool_(tool),
      options_(options),
      io_(io),
      clock_(io.clock != nullptr ? io.clock : Clock::Real()),
      environment_(io.environment ? io.environment : ProcessEnvironment()) {}

ToolRun::~ToolRun() {
  if (events_ != nullptr && !finished_) {
    events_->End(run_step_, absl::AbortedError("run ended without Finish"));
  }
}

absl::StatusOr<std::unique_ptr<ToolRun>> ToolRun::Open(
    absl::string_view tool, const CommonOptions& options, ToolIo& io) {
  return OpenImpl(tool, options, io, /*read_cluster=*/true);
}

absl::StatusOr<std::unique_ptr<ToolRun>> ToolRun::OpenWithoutCluster(
    absl::string_view tool, const CommonOptions& options, ToolIo& io) {
  return OpenImpl(tool, options, io, /*read_cluster=*/false);
}

absl::StatusOr<std::unique_ptr<ToolRun>> ToolRun::OpenImpl(
    absl::string_view tool, const CommonOptions& options, ToolIo& io,
    bool read_cluster) {
  RETURN_IF_ERROR(CheckCommonOptions(options));
  std::unique_ptr<ToolRun> run(new ToolRun(tool, options, io));
  std::string spec_keystore;
  if (read_cluster) {
    ASSIGN_OR_RETURN(ClusterSession session, ClusterSession::Open(options));
    run->session_.emplace(std::move(session));
    run->cluster_ = run->session_->input().cluster;
    spec_keystore = run->cluster_.spec().sealed_secrets().keystore();
  }
  run->keystore_spec_ =
      ResolveKeystoreSpec(options.keystore, run->environment_, spec_keystore);

  EventsOptions events;
  events.tool = std::string(tool);
  events.events_path = options.events;
  events.clock = run->clock_;
  if (io.err_is_process_stderr) {
    events.stderr_stream = stderr;
  } else {
    events.stderr_stream = nullptr;
    events.stderr_ostream = &io.err;
  }
  absl::StatusOr<std::unique_ptr<Events>> created =
      Events::Create(std::move(events));
  if (!created.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--events: ", created.status().message()));
  }
  run->events_ = *std::move(created);
  run->run_step_ = run->events_->StartRecordOnly(tool);
  return run;
}

absl::StatusOr<Keystore*> ToolRun::keystore() {
  if (keystore_ == nullptr) {
    ASSIGN_OR_RETURN(keystore_, OpenKeystore(keystore_spec_));
  }
  return keystore_.get();
}

absl::StatusOr<Secret> ToolRun::Credential(const CredentialSource& source) {
  CredentialSource scoped = source;
  if (scoped.cluster.empty()) scoped.cluster = spec().name();
  Keystore* store = nullptr;
  if (!scoped.keystore_key.empty()) {
    absl::StatusOr<Keystore*> opened = keystore();
    // Without a usable keystore the environment may still have it.
    if (opened.ok()) store = *opened;
    if (!opened.ok() && !NonEmpty(environment_, scoped.environment_variable)) {
      return absl::Status(
          opened.status().code(),
          absl::StrCat(source.description, ": keystore ", keystore_spec_, ": ",
                       opened.status().message()));
    }
  }
  absl::StatusOr<ResolvedCredential> resolved =
      ResolveCredential(scoped, environment_, store);
  if (!resolved.ok()) {
    if (resolved.status().code() == absl::StatusCode::kNotFound) {
      return absl::FailedPreconditionError(resolved.status().message());
    }
    return resolved.status();
  }
  if (credentials_noted_.insert(source.description).second) {
    events_->Note(
        absl::StrCat("using ", source.description, " from ", resolved->source));
  }
  return std::move(resolved->secret);
}

PollOptions ToolRun::PollFor(absl::string_view what, absl::Duration timeout) {
  PollOptions options;
  options.what = std::string(what);
  options.timeout = timeout;
  options.clock = clock_;
  Events* events = events_.get();
  options.progress = [events](absl::string_view line) { events->Note(line); };
  return options;
}

void ToolRun::Plan(absl::string_view line) {
  events_->Note(absl::StrCat("plan: ", line));
}

absl::Status ToolRun::CheckEndpoint(absl::string_view what,
                                    absl::string_view endpoint,
                                    EndpointExistence existence,
                                    const absl::Status& probe) {
  if (probe.ok()) {
    Plan(absl::StrCat(what, " at ", endpoint, " answers"));
    return absl::OkStatus();
  }
  const bool transport = probe.code() == absl::StatusCode::kUnavailable ||
                         probe.code() == absl::StatusCode::kDeadlineExceeded ||
                         probe.code() == absl::StatusCode::kNotFound;
  if (existence == EndpointExistence::kCreatedEarlier && transport) {
    Plan(absl::StrCat("pending: ", what, " at ", endpoint,
                      " (created by an earlier layer; not reachable yet: ",
                      probe.message(), ")"));
    return absl::OkStatus();
  }
  return absl::Status(transport ? absl::StatusCode::kUnavailable : probe.code(),
                      absl::StrCat(what, " at ", endpoint,
                                   " cannot be used: ", probe.message()));
}

absl::Status ToolRun::Finish(absl::Status status) {
  absl::Status written = absl::OkStatus();
  if (session_.has_value()) {
    if (dry_run()) {
      if (options_.state.empty()) {
        written = session_->Write(session_->input().cluster, io_.out);
      }
    } else {
      written = session_->Write(cluster_, io_.out);
    }
  }
  if (status.ok()) status = written;
  if (!finished_) {
    events_->End(run_step_, status);
    finished_ = true;
  }
  return status;
}

}  // namespace coldstart
