#include "tools/seal-keystore/sealed_secret.h"

#include <algorithm>
#include <regex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "lib/base/file.h"
#include "lib/base/status_macros.h"
#include "yaml-cpp/yaml.h"

namespace coldstart {
namespace {

constexpr char kLastAppliedAnnotation[] =
    "kubectl.kubernetes.io/last-applied-configuration";

absl::Status MarkedError(absl::string_view source, const YAML::Mark& mark,
                         absl::string_view message) {
  if (mark.is_null()) {
    return absl::InvalidArgumentError(absl::StrCat(source, ": ", message));
  }
  return absl::InvalidArgumentError(absl::StrCat(
      source, ":", mark.line + 1, ":", mark.column + 1, ": ", message));
}

// The offset just past the closing quote of the quoted scalar whose opening
// quote is at `open`, or npos when the text ends first.
size_t QuotedScalarEnd(absl::string_view text, size_t open) {
  const char quote = text[open];
  for (size_t i = open + 1; i < text.size(); ++i) {
    if (quote == '"' && text[i] == '\\') {
      ++i;  // an escape: the next character is not the closing quote
    } else if (text[i] == quote) {
      if (quote == '\'' && i + 1 < text.size() && text[i + 1] == '\'') {
        ++i;  // '' is a quote inside a single-quoted scalar
      } else {
        return i + 1;
      }
    }
  }
  return absl::string_view::npos;
}

// yaml-cpp accepts a quoted scalar that runs to the end of the input and
// reads everything up to there as its value; go-yaml and kubectl refuse it
// ("found unexpected end of stream"). Every scalar of the documents whose
// text starts with a quote (after an anchor or tag) must end with one.
absl::Status CheckQuotedScalarsEnd(const std::vector<YAML::Node>& documents,
                                   absl::string_view text,
                                   absl::string_view source) {
  std::vector<YAML::Node> pending(documents.begin(), documents.end());
  std::set<size_t> seen_collections;  // aliases repeat a node: visit it once
  while (!pending.empty()) {
    const YAML::Node node = pending.back();
    pending.pop_back();
    const YAML::Mark mark = node.Mark();
    if (node.IsMap() || node.IsSequence()) {
      if (!mark.is_null() && !seen_collections.insert(mark.pos).second) {
        continue;
      }
      for (const auto& entry : node) {
        if (node.IsMap()) {
          pending.push_back(entry.first);
          pending.push_back(entry.second);
        } else {
          pending.push_back(entry);
        }
      }
      continue;
    }
    if (!node.IsScalar() || mark.is_null() || mark.pos < 0) continue;
    size_t at = mark.pos;
    while (at < text.size() && (text[at] == '&' || text[at] == '!')) {
      at = text.find_first_of(" \t\r\n", at);
      if (at == absl::string_view::npos) break;
      at = text.find_first_not_of(" \t\r\n", at);
    }
    if (at >= text.size() || (text[at] != '"' && text[at] != '\'')) continue;
    if (QuotedScalarEnd(text, at) == absl::string_view::npos) {
      return MarkedError(
          source, mark,
          absl::StrCat("unterminated ", text[at] == '"' ? "double" : "single",
                       "-quoted string: no closing ", std::string(1, text[at]),
                       " before the end of the input"));
    }
  }
  return absl::OkStatus();
}

// Wraps yaml-cpp, which reports errors by throwing.
absl::StatusOr<std::vector<YAML::Node>> LoadDocuments(
    absl::string_view text, absl::string_view source) {
  std::vector<YAML::Node> documents;
  try {
    documents = YAML::LoadAll(std::string(text));
    RETURN_IF_ERROR(CheckQuotedScalarsEnd(documents, text, source));
  } catch (const YAML::Exception& e) {
    return MarkedError(source, e.mark, e.msg);
  }
  return documents;
}

// A scalar child, or nullopt when absent or null. InvalidArgument when it is
// a map or list.
absl::StatusOr<std::optional<std::string>> ScalarField(const YAML::Node& node,
                                                       absl::string_view key,
                                                       absl::string_view source,
                                                       absl::string_view path) {
  const YAML::Node child = node[std::string(key)];
  if (!child.IsDefined() || child.IsNull()) return std::nullopt;
  if (!child.IsScalar()) {
    return MarkedError(source, child.Mark(),
                       absl::StrCat(path, key, ": must be a string"));
  }
  return child.Scalar();
}

absl::StatusOr<std::map<std::string, std::string>> StringMapField(
    const YAML::Node& node, absl::string_view key, absl::string_view source,
    absl::string_view path) {
  std::map<std::string, std::string> result;
  const YAML::Node child = node[std::string(key)];
  if (!child.IsDefined() || child.IsNull()) return result;
  if (!child.IsMap()) {
    return MarkedError(source, child.Mark(),
                       absl::StrCat(path, key, ": must be a map"));
  }
  for (const auto& entry : child) {
    if (!entry.first.IsScalar() ||
        !(entry.second.IsScalar() || entry.second.IsNull())) {
      return MarkedError(source, entry.first.Mark(),
                         absl::StrCat(path, key, ": values must be strings"));
    }
    result[entry.first.Scalar()] =
        entry.second.IsNull() ? "" : entry.second.Scalar();
  }
  return result;
}

absl::StatusOr<ObjectMeta> ParseMeta(const YAML::Node& node,
                                     absl::string_view source,
                                     absl::string_view path) {
  ObjectMeta meta;
  if (!node.IsDefined() || node.IsNull()) return meta;
  if (!node.IsMap()) {
    return MarkedError(source, node.Mark(),
                       absl::StrCat(path, ": must be a map"));
  }
  const std::string prefix = absl::StrCat(path, ".");
  ASSIGN_OR_RETURN(std::optional<std::string> name,
                   ScalarField(node, "name", source, prefix));
  ASSIGN_OR_RETURN(std::optional<std::string> ns,
                   ScalarField(node, "namespace", source, prefix));
  meta.name = name.value_or("");
  meta.namespace_ = ns.value_or("");
  // Kubernetes' limits (DNS subdomain, label); they also keep messages that
  // name the object short.
  if (meta.name.size() > 253 || meta.namespace_.size() > 63) {
    const bool name_too_long = meta.name.size() > 253;
    return MarkedError(
        source, node[name_too_long ? "name" : "namespace"].Mark(),
        absl::StrCat(prefix, name_too_long ? "name \"" : "namespace \"",
                     Abbreviate(name_too_long ? meta.name : meta.namespace_),
                     "\" is longer than Kubernetes allows (",
                     name_too_long ? "253" : "63", " characters)"));
  }
  ASSIGN_OR_RETURN(meta.labels, StringMapField(node, "labels", source, prefix));
  ASSIGN_OR_RETURN(meta.annotations,
                   StringMapField(node, "annotations", source, prefix));
  return meta;
}

absl::StatusOr<std::optional<bool>> BoolField(const YAML::Node& node,
                                              absl::string_view key,
                                              absl::string_view source,
                                              absl::string_view path) {
  ASSIGN_OR_RETURN(std::optional<std::string> text,
                   ScalarField(node, key, source, path));
  if (!text.has_value()) return std::optional<bool>();
  if (*text == "true") return std::optional<bool>(true);
  if (*text == "false") return std::optional<bool>(false);
  return MarkedError(source, node[std::string(key)].Mark(),
                     absl::StrCat(path, key, ": must be true or false"));
}

// The documents of `text` with List/SecretList/SealedSecretList items
// flattened, each with its kind.
absl::StatusOr<std::vector<YAML::Node>> Objects(absl::string_view text,
                                                absl::string_view source) {
  ASSIGN_OR_RETURN(std::vector<YAML::Node> documents,
                   LoadDocuments(text, source));
  std::vector<YAML::Node> objects;
  for (const YAML::Node& document : documents) {
    if (!document.IsDefined() || document.IsNull()) continue;
    if (!document.IsMap()) {
      return MarkedError(source, document.Mark(),
                         "expected a Kubernetes object (a map)");
    }
    const YAML::Node kind = document["kind"];
    const std::string kind_text =
        kind.IsDefined() && kind.IsScalar() ? kind.Scalar() : "";
    if (absl::EndsWith(kind_text, "List")) {
      const YAML::Node items = document["items"];
      if (items.IsDefined() && !items.IsNull()) {
        if (!items.IsSequence()) {
          return MarkedError(source, items.Mark(), "items: must be a list");
        }
        for (const YAML::Node& item : items) objects.push_back(item);
      }
      continue;
    }
    objects.push_back(document);
  }
  return objects;
}

std::string KindOf(const YAML::Node& object) {
  const YAML::Node kind = object["kind"];
  return kind.IsDefined() && kind.IsScalar() ? kind.Scalar() : "";
}

// --- YAML output
// --------------------------------------------------------------

bool LooksLikeNonString(absl::string_view value) {
  static const auto* const kReserved = new std::vector<std::string>{
      "true", "false", "yes", "no", "on", "off", "y", "n", "null", "~"};
  const std::string lower = absl::AsciiStrToLower(value);
  for (const std::string& word : *kReserved) {
    if (lower == word) return true;
  }
  // Only strings made of these characters can read as numbers, times or
  // sexagesimals; the cheap test spares the regexes for long base64 values.
  if (value.find_first_not_of("0123456789+-._:eExXoOaAbBcCdDfFiInNtTzZ ") !=
      absl::string_view::npos) {
    return false;
  }
  static const auto* const kPatterns = new std::vector<std::regex>{
      std::regex(
          R"([-+]?(\.[0-9]+|[0-9][0-9_]*(\.[0-9_]*)?)([eE][-+]?[0-9]+)?)"),
      std::regex(
          R"(0[xX][0-9a-fA-F_]+|0[oO]?[0-7_]+|[-+]?\.(inf|Inf|INF)|\.(nan|NaN|NAN))"),
      std::regex(R"([-+]?[0-9][0-9_]*(:[0-5]?[0-9])+(\.[0-9_]*)?)"),
      std::regex(R"([0-9]{4}-[0-9]{1,2}-[0-9]{1,2}.*)"),
  };
  const std::string text(value);
  for (const std::regex& pattern : *kPatterns) {
    if (std::regex_match(text, pattern)) return true;
  }
  return false;
}

bool PlainIsSafe(absl::string_view value) {
  if (value.empty() || LooksLikeNonString(value)) return false;
  const char first = value.front();
  if (!(absl::ascii_isalnum(first) || first == '_' || first == '.' ||
        first == '/')) {
    return false;
  }
  for (char c : value) {
    if (!(absl::ascii_isalnum(c) || absl::StrContains("_./+=:@- ", c))) {
      return false;
    }
  }
  return value.back() != ' ' && value.back() != ':' &&
         !absl::StrContains(value, ": ") && !absl::StrContains(value, " #");
}

class YamlWriter {
 public:
  void Key(int indent, absl::string_view key) {
    absl::StrAppend(&out_, std::string(indent * 2, ' '), YamlScalar(key),
                    ":\n");
  }
  void Field(int indent, absl::string_view key, absl::string_view value) {
    absl::StrAppend(&out_, std::string(indent * 2, ' '), YamlScalar(key), ": ",
                    YamlScalar(value), "\n");
  }
  void Raw(int indent, absl::string_view key, absl::string_view raw_value) {
    absl::StrAppend(&out_, std::string(indent * 2, ' '), YamlScalar(key), ": ",
                    raw_value, "\n");
  }
  void Map(int indent, absl::string_view key,
           const std::map<std::string, std::string>& values) {
    if (values.empty()) {
      Raw(indent, key, "{}");
      return;
    }
    Key(indent, key);
    for (const auto& [k, v] : values) Field(indent + 1, k, v);
  }
  // metadata as Go's ObjectMeta marshals it (sorted, creationTimestamp null).
  void Meta(int indent, const ObjectMeta& meta) {
    Key(indent, "metadata");
    if (!meta.annotations.empty())
      Map(indent + 1, "annotations", meta.annotations);
    Raw(indent + 1, "creationTimestamp", "null");
    if (!meta.labels.empty()) Map(indent + 1, "labels", meta.labels);
    if (!meta.name.empty()) Field(indent + 1, "name", meta.name);
    if (!meta.namespace_.empty())
      Field(indent + 1, "namespace", meta.namespace_);
  }
  std::string& out() { return out_; }

 private:
  std::string out_;
};

// --- Sealing ---------------------------------------------------------------

absl::StatusOr<std::string> DecodeBase64(absl::string_view text,
                                         absl::string_view what) {
  std::string bytes;
  if (!absl::Base64Unescape(text, &bytes)) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": not valid base64"));
  }
  return bytes;
}

std::map<std::string, std::string> WithScopeAnnotation(
    std::map<std::string, std::string> annotations, SealingScope scope) {
  annotations.erase(kNamespaceWideAnnotation);
  annotations.erase(kClusterWideAnnotation);
  if (scope == SealingScope::kNamespaceWide) {
    annotations[kNamespaceWideAnnotation] = "true";
  } else if (scope == SealingScope::kClusterWide) {
    annotations[kClusterWideAnnotation] = "true";
  }
  return annotations;
}

bool OpensTo(absl::string_view base64_blob, absl::string_view label,
             absl::Span<const PrivateKey> keys, const Secret& plaintext) {
  absl::StatusOr<Secret> opened = OpenSealedValue(base64_blob, label, keys);
  return opened.ok() && *opened == plaintext;
}

}  // namespace

// --- Scope -----------------------------------------------------------------

absl::string_view ScopeName(SealingScope scope) {
  switch (scope) {
    case SealingScope::kStrict:
      return "strict";
    case SealingScope::kNamespaceWide:
      return "namespace-wide";
    case SealingScope::kClusterWide:
      return "cluster-wide";
  }
  return "strict";
}

absl::StatusOr<SealingScope> ParseScope(absl::string_view name) {
  for (SealingScope scope :
       {SealingScope::kStrict, SealingScope::kNamespaceWide,
        SealingScope::kClusterWide}) {
    if (name == ScopeName(scope)) return scope;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown scope \"", Abbreviate(name),
                   "\" (want strict, namespace-wide or cluster-wide)"));
}

std::string ObjectMeta::Describe() const {
  return namespace_.empty() ? name : absl::StrCat(namespace_, "/", name);
}

SealingScope ScopeOfAnnotations(const ObjectMeta& meta) {
  auto is_true = [&](const char* annotation) {
    auto it = meta.annotations.find(annotation);
    return it != meta.annotations.end() && it->second == "true";
  };
  if (is_true(kClusterWideAnnotation)) return SealingScope::kClusterWide;
  if (is_true(kNamespaceWideAnnotation)) return SealingScope::kNamespaceWide;
  return SealingScope::kStrict;
}

std::string ScopeLabel(SealingScope scope, const ObjectMeta& meta) {
  switch (scope) {
    case SealingScope::kStrict:
      return absl::StrCat(meta.namespace_, "/", meta.name);
    case SealingScope::kNamespaceWide:
      return meta.namespace_;
    case SealingScope::kClusterWide:
      return "";
  }
  return "";
}

// --- YAML scalar -----------------------------------------------------------

std::string YamlScalar(absl::string_view value) {
  if (PlainIsSafe(value)) return std::string(value);
  std::string out = "\"";
  for (unsigned char c : value) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          absl::StrAppendFormat(&out, "\\x%02x", c);
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += "\"";
  return out;
}

// --- Secret ------------------------------------------------------------------

absl::StatusOr<std::vector<SecretObject>> ParseSecrets(
    absl::string_view text, absl::string_view source) {
  ASSIGN_OR_RETURN(std::vector<YAML::Node> objects, Objects(text, source));
  std::vector<SecretObject> secrets;
  try {
    for (const YAML::Node& object : objects) {
      const std::string kind = KindOf(object);
      if (kind != "Secret") {
        return MarkedError(source, object.Mark(),
                           absl::StrCat("expected kind Secret, found \"",
                                        Abbreviate(kind), "\""));
      }
      SecretObject secret;
      ASSIGN_OR_RETURN(secret.metadata,
                       ParseMeta(object["metadata"], source, "metadata"));
      if (secret.metadata.name.empty()) {
        return MarkedError(source, object.Mark(),
                           "Secret without metadata.name");
      }
      const std::string what =
          absl::StrCat(source, ": Secret ", secret.metadata.Describe(), ": ");
      ASSIGN_OR_RETURN(std::optional<std::string> type,
                       ScalarField(object, "type", source, ""));
      secret.type = type.value_or("");
      ASSIGN_OR_RETURN(secret.immutable,
                       BoolField(object, "immutable", source, ""));
      ASSIGN_OR_RETURN(auto data, StringMapField(object, "data", source, ""));
      for (auto& [key, encoded] : data) {
        ASSIGN_OR_RETURN(std::string bytes,
                         DecodeBase64(encoded, absl::StrCat(what, "data.",
                                                            Abbreviate(key))));
        secret.data[key] = Secret(std::move(bytes));
        WipeBytes(encoded.data(), encoded.size());
      }
      ASSIGN_OR_RETURN(auto string_data,
                       StringMapField(object, "stringData", source, ""));
      for (auto& [key, value] : string_data) {
        secret.data[key] = Secret(std::move(value));
      }
      secrets.push_back(std::move(secret));
    }
  } catch (const YAML::Exception& e) {
    return MarkedError(source, e.mark, e.msg);
  }
  return secrets;
}

std::string FormatSecretYaml(const SecretObject& secret) {
  YamlWriter w;
  w.out() = "---\n";
  w.Field(0, "apiVersion", "v1");
  if (!secret.data.empty()) {
    w.Key(0, "data");
    for (const auto& [key, value] : secret.data) {
      w.Field(1, key, absl::Base64Escape(value.Reveal()));
    }
  }
  if (secret.immutable.has_value()) {
    w.Raw(0, "immutable", *secret.immutable ? "true" : "false");
  }
  w.Field(0, "kind", "Secret");
  w.Meta(0, secret.metadata);
  w.Field(0, "type", secret.type.empty() ? "Opaque" : secret.type);
  return std::move(w.out());
}

// --- SealedSecret ----------------------------------------------------------

absl::StatusOr<std::vector<SealedSecretDocument>> ParseSealedSecrets(
    absl::string_view text, absl::string_view source) {
  ASSIGN_OR_RETURN(std::vector<YAML::Node> objects, Objects(text, source));
  std::vector<SealedSecretDocument> result;
  try {
    for (const YAML::Node& object : objects) {
      if (KindOf(object) != "SealedSecret") continue;
      SealedSecretDocument document;
      document.line = object.Mark().is_null() ? 0 : object.Mark().line + 1;
      SealedSecretObject& sealed = document.object;
      ASSIGN_OR_RETURN(sealed.metadata,
                       ParseMeta(object["metadata"], source, "metadata"));
      if (sealed.metadata.name.empty()) {
        return MarkedError(source, object.Mark(),
                           "SealedSecret without metadata.name");
      }
      const YAML::Node spec = object["spec"];
      if (!spec.IsDefined() || !spec.IsMap()) {
        return MarkedError(
            source, object.Mark(),
            absl::StrCat("SealedSecret ", sealed.metadata.Describe(),
                         " has no spec"));
      }
      ASSIGN_OR_RETURN(sealed.encrypted_data,
                       StringMapField(spec, "encryptedData", source, "spec."));
      ASSIGN_OR_RETURN(std::optional<std::string> legacy,
                       ScalarField(spec, "data", source, "spec."));
      sealed.legacy_data = legacy.value_or("");
      const YAML::Node tmpl = spec["template"];
      if (tmpl.IsDefined() && tmpl.IsMap()) {
        ASSIGN_OR_RETURN(
            sealed.template_metadata,
            ParseMeta(tmpl["metadata"], source, "spec.template.metadata"));
        ASSIGN_OR_RETURN(std::optional<std::string> type,
                         ScalarField(tmpl, "type", source, "spec.template."));
        sealed.template_type = type.value_or("");
        ASSIGN_OR_RETURN(
            sealed.template_immutable,
            BoolField(tmpl, "immutable", source, "spec.template."));
        ASSIGN_OR_RETURN(
            sealed.template_data,
            StringMapField(tmpl, "data", source, "spec.template."));
      }
      result.push_back(std::move(document));
    }
  } catch (const YAML::Exception& e) {
    return MarkedError(source, e.mark, e.msg);
  }
  return result;
}

std::string FormatSealedSecretYaml(const SealedSecretObject& sealed) {
  YamlWriter w;
  w.out() = "---\n";
  w.Field(0, "apiVersion", "bitnami.com/v1alpha1");
  w.Field(0, "kind", "SealedSecret");
  w.Meta(0, sealed.metadata);
  w.Key(0, "spec");
  if (!sealed.legacy_data.empty()) w.Field(1, "data", sealed.legacy_data);
  if (!sealed.encrypted_data.empty() || sealed.legacy_data.empty()) {
    w.Map(1, "encryptedData", sealed.encrypted_data);
  }
  w.Key(1, "template");
  if (!sealed.template_data.empty()) w.Map(2, "data", sealed.template_data);
  if (sealed.template_immutable.has_value()) {
    w.Raw(2, "immutable", *sealed.template_immutable ? "true" : "false");
  }
  w.Meta(2, sealed.template_metadata);
  if (!sealed.template_type.empty()) w.Field(2, "type", sealed.template_type);
  return std::move(w.out());
}

absl::StatusOr<SealResult> SealSecret(const SecretObject& secret,
                                      const PublicKey& certificate_key,
                                      const SealOptions& options) {
  const SealingScope scope =
      options.scope.value_or(ScopeOfAnnotations(secret.metadata));
  if (scope != SealingScope::kClusterWide &&
      secret.metadata.namespace_.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "Secret ", secret.metadata.name, ": secret must declare a namespace (",
        ScopeName(scope), " scope binds it to one; or seal it cluster-wide)"));
  }
  SealResult result;
  SealedSecretObject& sealed = result.sealed;
  sealed.metadata.name = secret.metadata.name;
  sealed.metadata.namespace_ = secret.metadata.namespace_;
  sealed.metadata.annotations = WithScopeAnnotation({}, scope);
  sealed.template_metadata = secret.metadata;
  sealed.template_metadata.annotations.erase(kLastAppliedAnnotation);
  sealed.template_metadata.annotations =
      WithScopeAnnotation(sealed.template_metadata.annotations, scope);
  sealed.template_type = secret.type;
  sealed.template_immutable = secret.immutable;

  const std::string label = ScopeLabel(scope, sealed.metadata);
  for (const auto& [key, value] : secret.data) {
    if (options.previous != nullptr) {
      auto previous = options.previous->encrypted_data.find(key);
      if (previous != options.previous->encrypted_data.end() &&
          OpensTo(previous->second, label, options.open_keys, value)) {
        sealed.encrypted_data[key] = previous->second;
        result.kept.push_back(key);
        continue;
      }
    }
    ASSIGN_OR_RETURN(std::string blob,
                     HybridSeal(certificate_key, value.Reveal(), label));
    sealed.encrypted_data[key] = absl::Base64Escape(blob);
    result.resealed.push_back(key);
  }
  return result;
}

absl::StatusOr<Secret> OpenSealedValue(absl::string_view base64_blob,
                                       absl::string_view label,
                                       absl::Span<const PrivateKey> keys,
                                       size_t* opened_by) {
  ASSIGN_OR_RETURN(std::string blob, DecodeBase64(base64_blob, "value"));
  for (size_t i = 0; i < keys.size(); ++i) {
    absl::StatusOr<Secret> opened = HybridOpen(keys[i], blob, label);
    if (opened.ok()) {
      if (opened_by != nullptr) *opened_by = i;
      return opened;
    }
    if (absl::IsInvalidArgument(opened.status())) return opened.status();
  }
  return absl::PermissionDeniedError("no key could decrypt secret");
}

absl::StatusOr<SecretObject> UnsealSecret(const SealedSecretObject& sealed,
                                          absl::Span<const PrivateKey> keys) {
  const std::string what =
      absl::StrCat("SealedSecret ", sealed.metadata.Describe());
  if (!sealed.template_data.empty()) {
    std::vector<std::string> names;
    for (const auto& entry : sealed.template_data) names.push_back(entry.first);
    return absl::FailedPreconditionError(
        absl::StrCat(what, ": spec.template.data (", absl::StrJoin(names, ", "),
                     ") holds Go templates, which this tool does not render"));
  }
  const std::string label =
      ScopeLabel(ScopeOfAnnotations(sealed.metadata), sealed.metadata);
  SecretObject secret;
  secret.metadata = sealed.template_metadata;
  secret.metadata.name = sealed.metadata.name;
  secret.metadata.namespace_ = sealed.metadata.namespace_;
  secret.type = sealed.template_type;
  secret.immutable = sealed.template_immutable;
  if (!sealed.legacy_data.empty()) {
    if (!sealed.encrypted_data.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          what, ": spec.data and spec.encryptedData cannot be combined"));
    }
    absl::StatusOr<Secret> opened =
        OpenSealedValue(sealed.legacy_data, label, keys);
    if (!opened.ok()) {
      return absl::Status(
          opened.status().code(),
          absl::StrCat(what, ": spec.data: ", opened.status().message()));
    }
    absl::StatusOr<std::vector<SecretObject>> inner =
        ParseSecrets(opened->Reveal(), what);
    if (!inner.ok() || inner->size() != 1) {
      return absl::InvalidArgumentError(
          absl::StrCat(what, ": spec.data does not hold one Secret as JSON"));
    }
    secret.data = std::move((*inner)[0].data);
    return secret;
  }
  for (const auto& [key, blob] : sealed.encrypted_data) {
    absl::StatusOr<Secret> opened = OpenSealedValue(blob, label, keys);
    if (!opened.ok()) {
      return absl::Status(opened.status().code(),
                          absl::StrCat(what, ": data key ", Abbreviate(key),
                                       ": ", opened.status().message()));
    }
    secret.data[key] = *std::move(opened);
  }
  return secret;
}

// --- Key Secrets -------------------------------------------------------------

absl::StatusOr<std::vector<KeySecret>> ParseKeySecrets(
    absl::string_view text, absl::string_view source) {
  ASSIGN_OR_RETURN(std::vector<YAML::Node> objects, Objects(text, source));
  std::vector<KeySecret> keys;
  try {
    for (const YAML::Node& object : objects) {
      if (KindOf(object) != "Secret") continue;
      ASSIGN_OR_RETURN(ObjectMeta meta,
                       ParseMeta(object["metadata"], source, "metadata"));
      if (!meta.labels.count(kSealingKeyLabel) &&
          !absl::StartsWith(meta.name, "sealed-secrets-key")) {
        continue;
      }
      ASSIGN_OR_RETURN(auto data, StringMapField(object, "data", source, ""));
      const std::string what =
          absl::StrCat(source, ": key Secret ", meta.Describe());
      auto crt = data.find("tls.crt");
      auto key = data.find("tls.key");
      if (crt == data.end() || key == data.end()) {
        return absl::InvalidArgumentError(
            absl::StrCat(what, ": data lacks tls.crt or tls.key"));
      }
      KeySecret result;
      result.metadata = std::move(meta);
      ASSIGN_OR_RETURN(
          result.certificate_pem,
          DecodeBase64(crt->second, absl::StrCat(what, ": tls.crt")));
      ASSIGN_OR_RETURN(
          std::string key_pem,
          DecodeBase64(key->second, absl::StrCat(what, ": tls.key")));
      WipeBytes(key->second.data(), key->second.size());
      result.private_key_pem = Secret(std::move(key_pem));
      keys.push_back(std::move(result));
    }
  } catch (const YAML::Exception& e) {
    return MarkedError(source, e.mark, e.msg);
  }
  return keys;
}

}  // namespace coldstart
