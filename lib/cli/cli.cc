#include "lib/cli/cli.h"

#include <algorithm>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "lib/base/status_macros.h"
#include "lib/cli/atomic_file.h"
#include "lib/cli/cluster_textproto.h"
#include "lib/cli/spec_validation.h"

namespace coldstart {

using ::coldstart::v1::Cluster;

int ExitCodeForStatus(const absl::Status& status) {
  if (status.ok()) return kExitOk;
  if (status.code() == absl::StatusCode::kInvalidArgument) {
    return kExitBadInput;
  }
  return kExitFailed;
}

absl::StatusOr<OutputFormat> ParseOutputFormat(absl::string_view name) {
  if (name == "textproto") return OutputFormat::kTextproto;
  if (name == "json") return OutputFormat::kJson;
  return absl::InvalidArgumentError(absl::StrCat(
      "-o ", name, ": unknown output format (use textproto or json)"));
}

absl::Status CheckCommonOptions(const CommonOptions& options) {
  if (!options.state.empty() && !options.in.empty()) {
    return absl::InvalidArgumentError(
        "--in and --state exclude each other (--state reads and rewrites "
        "one file)");
  }
  return absl::OkStatus();
}

std::vector<std::string> NormalizeFlagNames(int argc, char** argv) {
  std::vector<std::string> out;
  bool flags_done = false;
  for (int i = 0; i < argc; ++i) {
    std::string arg = argv[i];
    if (i > 0 && !flags_done && arg == "--") flags_done = true;
    if (i > 0 && !flags_done && arg.size() > 1 && arg[0] == '-') {
      const size_t start = arg.find_first_not_of('-');
      const size_t end = std::min(arg.find('='), arg.size());
      for (size_t j = start; j < end && start != std::string::npos; ++j) {
        if (arg[j] == '-') arg[j] = '_';
      }
    }
    out.push_back(std::move(arg));
  }
  return out;
}

absl::StatusOr<std::string> FormatCluster(const Cluster& cluster,
                                          OutputFormat format) {
  if (format == OutputFormat::kJson) {
    ASSIGN_OR_RETURN(std::string json, ClusterToJson(cluster));
    if (json.empty() || json.back() != '\n') json += '\n';
    return json;
  }
  return ClusterToText(cluster);
}

absl::StatusOr<ClusterSession> ClusterSession::Open(
    const CommonOptions& options) {
  RETURN_IF_ERROR(CheckCommonOptions(options));
  ClusterSession session;
  session.options_ = options;
  if (options.state.empty()) {
    ASSIGN_OR_RETURN(session.input_,
                     ReadClusterFile(options.in.empty() ? "-" : options.in));
    RETURN_IF_ERROR(ValidateParsedCluster(session.input_));
    return session;
  }
  // Read and validate before locking, so bad input leaves no lock file
  // behind; then lock and read again (another run may have written it).
  {
    ASSIGN_OR_RETURN(ParsedCluster unlocked, ReadClusterFile(options.state));
    RETURN_IF_ERROR(ValidateParsedCluster(unlocked));
  }
  ASSIGN_OR_RETURN(FileLock lock,
                   FileLock::Acquire(options.state + ".lock", false));
  session.lock_.emplace(std::move(lock));
  ASSIGN_OR_RETURN(session.input_, ReadClusterFile(options.state));
  RETURN_IF_ERROR(ValidateParsedCluster(session.input_));
  return session;
}

absl::Status ClusterSession::Write(Cluster cluster, std::ostream& out) {
  cluster.set_schema_version(kSchemaVersion);
  if (!options_.state.empty()) {
    return WriteFileAtomically(options_.state, ClusterToText(cluster));
  }
  ASSIGN_OR_RETURN(std::string text, FormatCluster(cluster, options_.output));
  out << text;
  out.flush();
  if (!out) return absl::UnavailableError("writing to stdout failed");
  return absl::OkStatus();
}

namespace {

// "FILE:LINE:" or "FILE:LINE:COL:" at the start of a message.
bool StartsWithLocation(absl::string_view message) {
  const size_t space = message.find(' ');
  absl::string_view head = message.substr(0, space);
  const size_t colon = head.find(':');
  if (colon == absl::string_view::npos || colon == 0) return false;
  head.remove_prefix(colon + 1);
  return !head.empty() && absl::ascii_isdigit(head[0]);
}

}  // namespace

void PrintStatus(absl::string_view tool, const absl::Status& status,
                 std::ostream& err) {
  if (status.ok()) return;
  if (status.code() == absl::StatusCode::kInvalidArgument &&
      StartsWithLocation(status.message())) {
    err << status.message() << "\n";
  } else {
    err << tool << ": " << status.message() << "\n";
  }
  err.flush();
}

}  // namespace coldstart
