#include "lib/yaml/yaml_json.h"

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "re2/re2.h"
#include "yaml-cpp/yaml.h"

namespace coldstart {
namespace {

using Json = nlohmann::json;

constexpr int kMaxDepth = 1000;
constexpr char kTagPrefix[] = "tag:yaml.org,2002:";

enum class Kind { kNull, kBool, kInt, kFloat, kString };

struct Resolved {
  Kind kind;
  Json value;
};

// Go's strconv.ParseInt / ParseUint with base 0 (what go-yaml v2 uses):
// optional sign, then 0x / 0o / 0b / leading-0 octal / decimal.
bool ParseGoInt(absl::string_view s, Json* out) {
  bool negative = false;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  int base = 10;
  if (s.size() >= 2 && s[0] == '0') {
    switch (absl::ascii_tolower(s[1])) {
      case 'x':
        base = 16;
        s.remove_prefix(2);
        break;
      case 'o':
        base = 8;
        s.remove_prefix(2);
        break;
      case 'b':
        base = 2;
        s.remove_prefix(2);
        break;
      default:
        base = 8;
        s.remove_prefix(1);
    }
  }
  if (s.empty()) return false;
  uint64_t v = 0;
  for (char c : s) {
    int digit = 99;
    if (absl::ascii_isdigit(c)) {
      digit = c - '0';
    } else if (absl::ascii_isalpha(c)) {
      digit = absl::ascii_tolower(c) - 'a' + 10;
    }
    if (digit >= base) return false;
    if (v > (std::numeric_limits<uint64_t>::max() - digit) / base) {
      return false;
    }
    v = v * base + digit;
  }
  constexpr uint64_t kInt64Max = std::numeric_limits<int64_t>::max();
  if (negative) {
    if (v > kInt64Max + 1) return false;
    *out = v == kInt64Max + 1 ? std::numeric_limits<int64_t>::min()
                              : -static_cast<int64_t>(v);
  } else if (v <= kInt64Max) {
    *out = static_cast<int64_t>(v);
  } else {
    *out = v;
  }
  return true;
}

bool ParseYamlFloat(const std::string& s, double* out) {
  static const LazyRE2 kFloat = {
      R"([-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?)"};
  return RE2::FullMatch(s, *kFloat) && absl::SimpleAtod(s, out) &&
         std::isfinite(*out);
}

// go-yaml v2's resolve() for an untagged plain scalar (or one with a core
// tag). InvalidArgument only for .inf/.nan, which JSON cannot carry.
absl::StatusOr<Resolved> Resolve(const std::string& s) {
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") {
    return Resolved{Kind::kNull, nullptr};
  }
  for (const char* word : {"y", "Y", "yes", "Yes", "YES", "true", "True",
                           "TRUE", "on", "On", "ON"}) {
    if (s == word) return Resolved{Kind::kBool, true};
  }
  for (const char* word : {"n", "N", "no", "No", "NO", "false", "False",
                           "FALSE", "off", "Off", "OFF"}) {
    if (s == word) return Resolved{Kind::kBool, false};
  }
  for (const char* word :
       {".nan", ".NaN", ".NAN", ".inf", ".Inf", ".INF", "+.inf", "+.Inf",
        "+.INF", "-.inf", "-.Inf", "-.INF"}) {
    if (s == word) {
      return absl::InvalidArgumentError(absl::StrCat(
          "\"", s, "\" is not a JSON number (quote it for a string)"));
    }
  }
  const char first = s[0];
  double d = 0;
  if (first == '.') {
    if (ParseYamlFloat(s, &d)) return Resolved{Kind::kFloat, d};
  } else if (absl::ascii_isdigit(first) || first == '+' || first == '-') {
    const std::string plain = absl::StrReplaceAll(s, {{"_", ""}});
    Json i;
    if (ParseGoInt(plain, &i)) return Resolved{Kind::kInt, std::move(i)};
    if (ParseYamlFloat(plain, &d)) return Resolved{Kind::kFloat, d};
  }
  return Resolved{Kind::kString, s};
}

// Go's encoding/json writes an integral float64 below 1e21 without a
// fraction, so the API server reads `replicas: 3.0` from kubectl as 3.
Json JsonNumber(const Resolved& r) {
  if (r.kind != Kind::kFloat) return r.value;
  const double d = r.value.get<double>();
  if (d == std::trunc(d) && d >= -9.2e18 && d <= 9.2e18) {
    return static_cast<int64_t>(d);
  }
  return r.value;
}

bool KindMatchesTag(Kind kind, absl::string_view tag) {
  if (tag == "null") return kind == Kind::kNull;
  if (tag == "bool") return kind == Kind::kBool;
  if (tag == "int") return kind == Kind::kInt;
  if (tag == "float") return kind == Kind::kFloat || kind == Kind::kInt;
  if (tag == "timestamp") return kind == Kind::kString;
  return true;
}

const char* KindName(Kind kind) {
  switch (kind) {
    case Kind::kNull:
      return "!!null";
    case Kind::kBool:
      return "!!bool";
    case Kind::kInt:
      return "!!int";
    case Kind::kFloat:
      return "!!float";
    case Kind::kString:
      return "!!str";
  }
  return "";
}

class Converter {
 public:
  Converter(absl::string_view filename, size_t text_size)
      : filename_(filename), budget_(100'000 + text_size) {}

  absl::Status Error(const YAML::Mark& mark, absl::string_view message) const {
    std::string where(filename_);
    if (!mark.is_null()) {
      absl::StrAppend(&where, where.empty() ? "" : ":", mark.line + 1, ":",
                      mark.column + 1);
    }
    return absl::InvalidArgumentError(
        absl::StrCat(where, where.empty() ? "" : ": ", message));
  }

  absl::Status Convert(const YAML::Node& node, int depth, Json* out) {
    if (depth > kMaxDepth) {
      return Error(node.Mark(), absl::StrCat("nested deeper than ", kMaxDepth,
                                             " levels (or a recursive alias)"));
    }
    if (--budget_ < 0) {
      return Error(node.Mark(), "aliases expand the document too far");
    }
    switch (node.Type()) {
      case YAML::NodeType::Null:
      case YAML::NodeType::Undefined:
        *out = nullptr;
        return absl::OkStatus();
      case YAML::NodeType::Scalar:
        return Scalar(node, out);
      case YAML::NodeType::Sequence: {
        *out = Json::array();
        for (const YAML::Node& element : node) {
          Json j;
          absl::Status s = Convert(element, depth + 1, &j);
          if (!s.ok()) return s;
          out->push_back(std::move(j));
        }
        return absl::OkStatus();
      }
      case YAML::NodeType::Map:
        return Map(node, depth, out);
    }
    *out = nullptr;
    return absl::OkStatus();
  }

 private:
  absl::Status Scalar(const YAML::Node& node, Json* out) const {
    const std::string& tag = node.Tag();
    if (tag == "!") {  // quoted or block scalar
      *out = node.Scalar();
      return absl::OkStatus();
    }
    absl::string_view core;
    if (absl::string_view(tag).substr(0, sizeof(kTagPrefix) - 1) ==
        kTagPrefix) {
      core = absl::string_view(tag).substr(sizeof(kTagPrefix) - 1);
    }
    if (tag != "?" && (core.empty() || core == "str" || core == "binary")) {
      *out = node.Scalar();  // !!str, !!binary, or a tag go-yaml ignores
      return absl::OkStatus();
    }
    absl::StatusOr<Resolved> r = Resolve(node.Scalar());
    if (!r.ok()) return Error(node.Mark(), r.status().message());
    if (!core.empty() && !KindMatchesTag(r->kind, core)) {
      return Error(node.Mark(),
                   absl::StrCat("cannot decode ", KindName(r->kind), " `",
                                node.Scalar(), "` as a !!", core));
    }
    *out = JsonNumber(*r);
    return absl::OkStatus();
  }

  absl::Status Map(const YAML::Node& node, int depth, Json* out) {
    *out = Json::object();
    for (const auto& entry : node) {
      const YAML::Node& key = entry.first;
      if (key.IsScalar() && key.Tag() == "?" && key.Scalar() == "<<") {
        absl::Status s = Merge(entry.second, depth, out);
        if (!s.ok()) return s;
        continue;
      }
      absl::StatusOr<std::string> text = KeyText(key);
      if (!text.ok()) return text.status();
      Json value;
      absl::Status s = Convert(entry.second, depth + 1, &value);
      if (!s.ok()) return s;
      (*out)[*text] = std::move(value);
    }
    return absl::OkStatus();
  }

  // sigs.k8s.io/yaml turns bool and integer keys into their text.
  absl::StatusOr<std::string> KeyText(const YAML::Node& key) const {
    if (key.IsScalar()) {
      if (key.Tag() != "?") return key.Scalar();
      absl::StatusOr<Resolved> r = Resolve(key.Scalar());
      if (r.ok() && r->kind == Kind::kBool) {
        return std::string(r->value.get<bool>() ? "true" : "false");
      }
      if (r.ok() && r->kind == Kind::kInt) return r->value.dump();
      if (!r.ok() || r->kind != Kind::kNull) return key.Scalar();
    }
    return Error(key.Mark(), key.IsScalar() || key.IsNull()
                                 ? "a map key is null"
                                 : "a map key is a map or a list");
  }

  // go-yaml v2: a map merges in place; for a list of maps the earliest
  // wins.
  absl::Status Merge(const YAML::Node& value, int depth, Json* out) {
    std::vector<YAML::Node> maps;
    if (value.IsMap()) {
      maps.push_back(value);
    } else if (value.IsSequence()) {
      for (const YAML::Node& m : value) maps.insert(maps.begin(), m);
    }
    if (maps.empty() && !(value.IsSequence() && value.size() == 0)) {
      return Error(value.Mark(),
                   "map merge requires map or sequence of maps as the value");
    }
    for (const YAML::Node& m : maps) {
      if (!m.IsMap()) {
        return Error(m.Mark(),
                     "map merge requires map or sequence of maps as the value");
      }
      Json merged;
      absl::Status s = Convert(m, depth + 1, &merged);
      if (!s.ok()) return s;
      for (auto& [k, v] : merged.items()) (*out)[k] = std::move(v);
    }
    return absl::OkStatus();
  }

  absl::string_view filename_;
  int64_t budget_;
};

}  // namespace

absl::StatusOr<std::vector<JsonDocument>> YamlDocumentsToJsonWithPositions(
    absl::string_view yaml, absl::string_view filename) {
  Converter converter(filename, yaml.size());
  try {
    std::vector<JsonDocument> docs;
    for (const YAML::Node& doc : YAML::LoadAll(std::string(yaml))) {
      JsonDocument d;
      absl::Status s = converter.Convert(doc, 0, &d.value);
      if (!s.ok()) return s;
      if (d.value.is_null()) continue;
      d.line = doc.Mark().line + 1;
      d.column = doc.Mark().column + 1;
      docs.push_back(std::move(d));
    }
    return docs;
  } catch (const YAML::Exception& e) {
    return converter.Error(e.mark, e.msg);
  }
}

absl::StatusOr<std::vector<Json>> YamlDocumentsToJson(
    absl::string_view yaml, absl::string_view filename) {
  absl::StatusOr<std::vector<JsonDocument>> docs =
      YamlDocumentsToJsonWithPositions(yaml, filename);
  if (!docs.ok()) return docs.status();
  std::vector<Json> values;
  values.reserve(docs->size());
  for (JsonDocument& d : *docs) values.push_back(std::move(d.value));
  return values;
}

absl::StatusOr<Json> YamlToJson(absl::string_view yaml,
                                absl::string_view filename) {
  absl::StatusOr<std::vector<Json>> docs = YamlDocumentsToJson(yaml, filename);
  if (!docs.ok()) return docs.status();
  if (docs->size() != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat(filename, filename.empty() ? "" : ": ",
                     "expected one YAML document, found ", docs->size()));
  }
  return std::move((*docs)[0]);
}

}  // namespace coldstart
