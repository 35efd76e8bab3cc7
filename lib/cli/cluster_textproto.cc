#include "lib/cli/cluster_textproto.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/util/json_util.h"
#include "lib/base/file.h"
#include "lib/base/status_macros.h"
#include "lib/cli/field_path.h"
#include "lib/cli/textproto.h"

namespace coldstart {
namespace {

using ::coldstart::v1::Cluster;
using ::google::protobuf::Descriptor;
using ::google::protobuf::FieldDescriptor;
using ::google::protobuf::TextFormat;

// Best effort: the schema_version of a text that failed to parse, read with
// unknown fields allowed. nullopt if even that fails.
std::optional<uint32_t> LenientSchemaVersion(absl::string_view text) {
  class Silent : public google::protobuf::io::ErrorCollector {
    void AddError(int, google::protobuf::io::ColumnNumber,
                  const std::string&) override {}
  } silent;
  TextFormat::Parser parser;
  parser.AllowUnknownField(true);
  parser.AllowPartialMessage(true);
  parser.RecordErrorsTo(&silent);
  Cluster cluster;
  if (!parser.ParseFromString(std::string(text), &cluster)) {
    return std::nullopt;
  }
  return cluster.schema_version();
}

absl::Status NewerSchemaError(absl::string_view filename, uint32_t version) {
  return absl::InvalidArgumentError(
      absl::StrCat(filename, ": schema_version ", version,
                   " is newer than this coldstart understands (",
                   kSchemaVersion, "); upgrade coldstart"));
}

}  // namespace

std::optional<TextLocation> ParsedCluster::Locate(const FieldPath& path) const {
  std::optional<TextLocation> best;
  const TextFormat::ParseInfoTree* tree = tree_.get();
  const Descriptor* descriptor = Cluster::descriptor();
  for (const FieldPathElement& element : path.elements()) {
    if (tree == nullptr || descriptor == nullptr) break;
    const FieldDescriptor* field = descriptor->FindFieldByName(element.field);
    if (field == nullptr) break;
    // A whole repeated field ("spec.nodes") is located at its first element.
    const bool whole_repeated = field->is_repeated() && element.index < 0;
    const int index = field->is_repeated() ? std::max(element.index, 0) : -1;
    const TextFormat::ParseLocation location = tree->GetLocation(field, index);
    if (location.line < 0) break;
    best = TextLocation{location.line + 1, location.column + 1};
    if (whole_repeated) break;
    if (field->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) break;
    tree = tree->GetTreeForNested(field, index);
    descriptor = field->message_type();
  }
  return best;
}

std::string ParsedCluster::Prefix(const FieldPath& path) const {
  std::optional<TextLocation> location = Locate(path);
  if (!location) return absl::StrCat(filename, ": ");
  return absl::StrCat(filename, ":", location->line, ":", location->column,
                      ": ");
}

absl::StatusOr<ParsedCluster> ParseClusterText(absl::string_view text,
                                               absl::string_view filename) {
  ParsedCluster parsed;
  parsed.filename = std::string(filename);
  parsed.tree_ = std::make_unique<TextFormat::ParseInfoTree>();
  absl::Status parse_status =
      ParseTextProto(text, filename, &parsed.cluster, parsed.tree_.get());
  if (!parse_status.ok()) {
    std::optional<uint32_t> version = LenientSchemaVersion(text);
    if (version && *version > kSchemaVersion) {
      return NewerSchemaError(filename, *version);
    }
    return parse_status;
  }
  if (parsed.cluster.schema_version() > kSchemaVersion) {
    return NewerSchemaError(filename, parsed.cluster.schema_version());
  }
  return parsed;
}

absl::StatusOr<ParsedCluster> ReadClusterFile(absl::string_view path) {
  if (path == "-") {
    std::string text;
    text.assign(std::istreambuf_iterator<char>(std::cin), {});
    if (std::cin.bad()) {
      return absl::InvalidArgumentError("<stdin>: read failed");
    }
    return ParseClusterText(text, kStdinName);
  }
  ASSIGN_OR_RETURN(std::string text, ReadInputFile(path));
  return ParseClusterText(text, path);
}

std::string ClusterToText(const Cluster& cluster) {
  std::string out;
  TextFormat::Printer printer;
  printer.PrintToString(cluster, &out);
  return out;
}

absl::StatusOr<std::string> ClusterToJson(const Cluster& cluster) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.add_whitespace = true;
  std::string out;
  const auto status =
      google::protobuf::util::MessageToJsonString(cluster, &out, options);
  if (!status.ok()) {
    return absl::InternalError(
        absl::StrCat("JSON encoding failed: ", status.ToString()));
  }
  return out;
}

}  // namespace coldstart
