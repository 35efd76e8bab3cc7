// YAML to JSON values the way kubectl converts them (sigs.k8s.io/yaml, which
// decodes with go-yaml v2), for Kubernetes manifests, apply bodies and
// scenario files.
//
// Scalars:
//   - quoted ('x', "x") and block (|, >) scalars are strings;
//   - plain scalars resolve as YAML 1.1 does in go-yaml v2:
//     null ~ Null NULL and the empty value are null;
//     true/false, yes/no, on/off, y/n (each also Capitalised and UPPER)
//     are booleans, so a string "true" must be quoted;
//     integers are decimal, 0x hex, 0o or leading-0 octal (0644 is 420),
//     0b binary, with '_' ignored; beyond int64 an unsigned 64-bit integer;
//     [-+]?(.N|N[.N])(e[-+]N) is a float, written as an integer when its
//     value is integral (Go's encoding/json writes 3.0 as 3);
//     everything else (timestamps too) is a string;
//   - explicit tags: !!str and !!binary keep the text; !!int, !!float,
//     !!bool, !!null, !!timestamp must resolve to that type; a scalar with
//     any other tag (e.g. !custom) is its text, a string.
// Map keys resolve the same way and then become text (yes: is "true",
// 0x10: is "16"); a null or non-scalar key is an error. `<<` merge keys are
// applied as go-yaml v2 does (in order; the earliest of a list of maps
// wins). Duplicate keys: the last one wins.
//
// Errors are InvalidArgument with "<filename>:LINE:COL: " (1-based; just
// "LINE:COL: " when `filename` is empty, for text the caller locates
// itself), from yaml-cpp's parser or from the conversion: .inf/.nan (JSON
// has no such numbers), nesting deeper than 1000 (or a recursive alias),
// aliases expanding to more nodes than the text has bytes plus 100000, a
// bad merge value, a mistyped explicit tag. No function throws.
#ifndef COLDSTART_LIB_YAML_JSON_H_
#define COLDSTART_LIB_YAML_JSON_H_

#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"

namespace coldstart {

// One document of a YAML stream, converted, with where it starts.
struct JsonDocument {
  nlohmann::json value;
  int line = 0;  // 1-based
  int column = 0;
};

// Exactly one non-empty document of `yaml`. InvalidArgument (prefixed by
// `filename`) when the stream holds none or more than one.
absl::StatusOr<nlohmann::json> YamlToJson(absl::string_view yaml,
                                          absl::string_view filename);

// Every non-empty document of the `---`-separated stream `yaml`, in order.
// A document that is empty, only comments, or a bare null is skipped.
absl::StatusOr<std::vector<nlohmann::json>> YamlDocumentsToJson(
    absl::string_view yaml, absl::string_view filename);

// As YamlDocumentsToJson, each with the position of its root node, for
// messages about a document as a whole.
absl::StatusOr<std::vector<JsonDocument>> YamlDocumentsToJsonWithPositions(
    absl::string_view yaml, absl::string_view filename);

}  // namespace coldstart

#endif  // COLDSTART_LIB_YAML_JSON_H_
