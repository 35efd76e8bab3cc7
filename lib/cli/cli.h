// The command-line contract shared by every coldstart tool (DESIGN.md "Tool
// contract"): the common options, where the Cluster comes from and goes to,
// and how a Status becomes an exit code.
//
//   tool < in.txtpb > out.txtpb          stdin -> stdout
//   tool --in FILE -o json               FILE -> stdout as JSON
//   tool --state FILE                    FILE -> FILE, atomically, locked
#ifndef COLDSTART_LIB_CLI_H_
#define COLDSTART_LIB_CLI_H_

#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "lib/cli/atomic_file.h"
#include "lib/cli/cluster_textproto.h"
#include "proto/coldstart/v1/cluster.pb.h"

namespace coldstart {

inline constexpr int kExitOk = 0;
// The world said no (API error, timeout, failed check); state so far is valid.
inline constexpr int kExitFailed = 1;
// Bad input or usage; nothing changed.
inline constexpr int kExitBadInput = 2;

// OK -> 0; InvalidArgument (bad input, bad usage) -> 2; everything else -> 1.
int ExitCodeForStatus(const absl::Status& status);

enum class OutputFormat { kTextproto, kJson };

// "textproto" | "json"; anything else is InvalidArgument.
absl::StatusOr<OutputFormat> ParseOutputFormat(absl::string_view name);

struct CommonOptions {
  // --in FILE: read the Cluster from FILE ("-" or empty: standard input).
  std::string in;
  // --state FILE: read FILE and write the result back into it (atomically,
  // under an exclusive lock on FILE.lock). Excludes --in.
  std::string state;
  // -o: format of the Cluster written to stdout (--state always writes text).
  OutputFormat output = OutputFormat::kTextproto;
  // --dry-run: validate, check, print the plan, change nothing.
  bool dry_run = false;
  // --events FILE: JSON-lines progress events (lib/events.h).
  std::string events;
  // --keystore SPEC ("secret-service" | "file:DIR"); empty: the environment
  // (COLDSTART_KEYSTORE) or the spec decides.
  std::string keystore;
};

// InvalidArgument for contradictory options (--in together with --state).
absl::Status CheckCommonOptions(const CommonOptions& options);

// Rewrites "-" to "_" in flag names ("--dry-run=x" -> "--dry_run=x") so the
// documented spellings parse with absl flags, whose names cannot hold "-".
// Values, positional arguments and everything after "--" are untouched.
std::vector<std::string> NormalizeFlagNames(int argc, char** argv);

// The Cluster rendered for stdout in `format` (text ends with a newline).
absl::StatusOr<std::string> FormatCluster(const coldstart::v1::Cluster& cluster,
                                          OutputFormat format);

// One run's input and output of the Cluster. Holds the state-file lock (if
// any) from Open until destruction, so read-change-write is exclusive.
class ClusterSession {
 public:
  // Reads the input the options name: --state FILE (locked; a missing state
  // file is InvalidArgument), else --in FILE, else standard input, and
  // validates its spec (lib/cli/spec_validation.h). Errors: InvalidArgument
  // for unusable input or an invalid spec (every problem with
  // FILE:LINE:COL; with --state no lock file is created for bad input),
  // FailedPrecondition when another process holds the state lock.
  static absl::StatusOr<ClusterSession> Open(const CommonOptions& options);

  ParsedCluster& input() { return input_; }
  const ParsedCluster& input() const { return input_; }

  // Stamps schema_version = kSchemaVersion and writes `cluster`: into the
  // state file (atomic replace) with --state, else to `out` in the chosen
  // format.
  absl::Status Write(coldstart::v1::Cluster cluster, std::ostream& out);

 private:
  ClusterSession() = default;
  CommonOptions options_;
  ParsedCluster input_;
  std::optional<FileLock> lock_;
};

// Prints a failed run's status to `err`: InvalidArgument messages that start
// with a location ("FILE:LINE:COL:") are printed as they are; every other
// message gets "<tool>: " in front. OK prints nothing.
void PrintStatus(absl::string_view tool, const absl::Status& status,
                 std::ostream& err);

}  // namespace coldstart

#endif  // COLDSTART_LIB_CLI_H_
