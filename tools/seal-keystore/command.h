// What every seal-keystore subcommand works with: its options, the run frame
// (lib/cli/tool_run.h) and the few rules the subcommands share (arguments,
// input files, the keystore's keys, the sealing certificate, steps).
#ifndef COLDSTART_TOOLS_SEAL_KEYSTORE_COMMAND_H_
#define COLDSTART_TOOLS_SEAL_KEYSTORE_COMMAND_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "lib/cli/tool_run.h"
#include "lib/secrets/crypto.h"
#include "lib/secrets/keystore.h"
#include "tools/seal-keystore/seal_keystore_options.h"
#include "tools/seal-keystore/sealing_keys.h"

namespace coldstart {

class SealKeystoreCommand {
 public:
  // Both must outlive the command.
  SealKeystoreCommand(const SealKeystoreOptions& options, ToolRun& run)
      : options_(options), run_(run) {}

  const SealKeystoreOptions& options() const { return options_; }
  ToolRun& run() { return run_; }
  bool dry_run() const { return run_.dry_run(); }
  absl::Time Now() { return run_.clock().Now(); }
  // A progress line on stderr (and a note in the events file).
  void Note(absl::string_view message) { run_.events().Note(message); }

  // Runs `body` as the step `name` of the events file (start, end, outcome).
  absl::Status Step(absl::string_view name,
                    const std::function<absl::Status()>& body);

  // InvalidArgument "usage: seal-keystore <command> <usage>" unless there
  // are min..max positional arguments.
  absl::Status RequireArgs(size_t min, size_t max,
                           absl::string_view usage) const;
  // InvalidArgument when --in or --state is given to a subcommand that reads
  // no Cluster.
  absl::Status RequireNoCluster() const;

  // The file the user named (or, for "-", standard input). Every failure is
  // InvalidArgument naming it (lib/base/file.h ReadInputFile).
  absl::StatusOr<std::string> ReadInput(const std::string& path);

  // The run's keystore (ToolRun::keystore). One that cannot be opened fails
  // as an endpoint that must exist (ToolRun::CheckEndpoint: Unavailable
  // naming it, e.g. no Secret Service on the session bus).
  absl::StatusOr<Keystore*> keystore();
  // The keystore's sealing keys, newest first; FailedPrecondition (with
  // what to run) when there are none.
  absl::StatusOr<std::vector<SealingKeyPair>> RequireKeys();

  // A self-signed sealing certificate for `key` as the controller makes one
  // (CN = --common_name, CA, EncipherOnly), valid from now for --validity.
  absl::StatusOr<Certificate> IssueSealingCertificate(const PrivateKey& key);

 private:
  const SealKeystoreOptions& options_;
  ToolRun& run_;
};

}  // namespace coldstart

#endif  // COLDSTART_TOOLS_SEAL_KEYSTORE_COMMAND_H_
