#include "tools/talos-bootstrap/manifest.h"

#include <cstdint>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "re2/re2.h"
#include "yaml-cpp/yaml.h"

namespace coldstart {
namespace {

using Json = nlohmann::json;

Json Scalar(const YAML::Node& node) {
  const std::string& s = node.Scalar();
  if (node.Tag() == "!") return s;  // quoted
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") {
    return nullptr;
  }
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  static const LazyRE2 kInt = {R"([-+]?[0-9]+)"};
  static const LazyRE2 kFloat = {
      R"([-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?)"};
  int64_t i = 0;
  if (RE2::FullMatch(s, *kInt) && absl::SimpleAtoi(s, &i)) return i;
  double d = 0;
  if (RE2::FullMatch(s, *kFloat) && absl::SimpleAtod(s, &d)) return d;
  return s;
}

Json Convert(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      return nullptr;
    case YAML::NodeType::Scalar:
      return Scalar(node);
    case YAML::NodeType::Sequence: {
      Json a = Json::array();
      for (const YAML::Node& e : node) a.push_back(Convert(e));
      return a;
    }
    case YAML::NodeType::Map: {
      Json o = Json::object();
      for (const auto& kv : node) o[kv.first.Scalar()] = Convert(kv.second);
      return o;
    }
  }
  return nullptr;
}

std::string Text(const Json& object, const char* a, const char* b = nullptr) {
  const Json* j = &object;
  for (const char* key : {a, b}) {
    if (key == nullptr) break;
    if (!j->is_object() || !j->contains(key)) return "";
    j = &(*j)[key];
  }
  return j->is_string() ? j->get<std::string>() : "";
}

}  // namespace

std::string ManifestObject::Describe() const {
  return absl::StrCat(kind, " ", ns.empty() ? "" : absl::StrCat(ns, "/"), name);
}

absl::StatusOr<std::vector<ManifestObject>> ParseManifest(
    absl::string_view text, absl::string_view source) {
  std::vector<YAML::Node> docs;
  try {
    docs = YAML::LoadAll(std::string(text));
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(
        source, ":", e.mark.line + 1, ":", e.mark.column + 1, ": ", e.msg));
  }
  std::vector<ManifestObject> out;
  int index = 0;
  for (const YAML::Node& doc : docs) {
    ++index;
    Json j = Convert(doc);
    if (j.is_null()) continue;
    ManifestObject o;
    o.api_version = Text(j, "apiVersion");
    o.kind = Text(j, "kind");
    o.ns = Text(j, "metadata", "namespace");
    o.name = Text(j, "metadata", "name");
    if (!j.is_object() || o.api_version.empty() || o.kind.empty() ||
        o.name.empty() || absl::EndsWith(o.kind, "List")) {
      return absl::InvalidArgumentError(absl::StrCat(
          source, ": document ", index,
          " is not one object with apiVersion, kind and metadata.name"));
    }
    o.object = std::move(j);
    out.push_back(std::move(o));
  }
  return out;
}

}  // namespace coldstart
