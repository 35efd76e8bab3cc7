// Reading and writing a coldstart.v1.Cluster as text (protobuf text format)
// and JSON, with the input contract of DESIGN.md:
// - a parse error is InvalidArgument whose message is one
//   "FILE:LINE:COL: message" line per error (1-based line and column);
// - an unknown field is an error, never dropped;
// - a schema_version newer than kSchemaVersion is InvalidArgument telling the
//   user to upgrade coldstart (also when the newer file has fields this
//   version does not know).
#ifndef COLDSTART_LIB_CLI_CLUSTER_TEXTPROTO_H_
#define COLDSTART_LIB_CLI_CLUSTER_TEXTPROTO_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/text_format.h"
#include "lib/cli/field_path.h"
#include "proto/coldstart/v1/cluster.pb.h"

namespace coldstart {

// The schema version this build reads and writes.
inline constexpr uint32_t kSchemaVersion = 1;

// Name used for standard input in messages.
inline constexpr char kStdinName[] = "<stdin>";

// A 1-based position in a text file.
struct TextLocation {
  int line = 0;
  int column = 0;
};

// A Cluster together with where it came from, so later problems (validation)
// can point at FILE:LINE:COL.
class ParsedCluster {
 public:
  ParsedCluster() = default;
  ParsedCluster(ParsedCluster&&) = default;
  ParsedCluster& operator=(ParsedCluster&&) = default;

  coldstart::v1::Cluster cluster;
  // File name as given ("<stdin>" for standard input).
  std::string filename;

  // Location of the value at `path` (relative to the Cluster, e.g.
  // spec.nodes[2].vmid). A field absent from the text yields the location
  // of its nearest present ancestor; nullopt when nothing on the path is
  // present or there is no location information.
  std::optional<TextLocation> Locate(const FieldPath& path) const;

  // "FILE:LINE:COL: " for `path` (or "FILE: " without a location).
  std::string Prefix(const FieldPath& path) const;

 private:
  friend absl::StatusOr<ParsedCluster> ParseClusterText(absl::string_view,
                                                        absl::string_view);
  std::unique_ptr<google::protobuf::TextFormat::ParseInfoTree> tree_;
};

// Parses `text` (the content of `filename`) as a Cluster. Errors:
// InvalidArgument as described at the top of this file.
absl::StatusOr<ParsedCluster> ParseClusterText(absl::string_view text,
                                               absl::string_view filename);

// Reads and parses FILE, or standard input for "-". Errors: InvalidArgument
// for parse errors and for a file that cannot be opened (bad usage).
absl::StatusOr<ParsedCluster> ReadClusterFile(absl::string_view path);

// Canonical text form: the same Cluster always prints the same bytes, and
// ParseClusterText(ClusterToText(c)) == c.
std::string ClusterToText(const coldstart::v1::Cluster& cluster);

// JSON with proto field names (protobuf's JSON mapping).
absl::StatusOr<std::string> ClusterToJson(
    const coldstart::v1::Cluster& cluster);

}  // namespace coldstart

#endif  // COLDSTART_LIB_CLI_CLUSTER_TEXTPROTO_H_
