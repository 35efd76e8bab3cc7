#include "lab/kube/yaml_json.h"

#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "re2/re2.h"
#include "yaml-cpp/yaml.h"

namespace coldstart::lab {
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

}  // namespace

absl::StatusOr<std::vector<Json>> ParseYamlDocuments(absl::string_view text) {
  try {
    std::vector<Json> docs;
    for (const YAML::Node& doc : YAML::LoadAll(std::string(text))) {
      Json j = Convert(doc);
      if (!j.is_null()) docs.push_back(std::move(j));
    }
    return docs;
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat(e.mark.line + 1, ":", e.mark.column + 1, ": ", e.msg));
  }
}

absl::StatusOr<Json> ParseJsonOrYaml(absl::string_view text) {
  Json j = Json::parse(text.begin(), text.end(), nullptr, false);
  if (!j.is_discarded()) return j;
  absl::StatusOr<std::vector<Json>> docs = ParseYamlDocuments(text);
  if (!docs.ok()) return docs.status();
  if (docs->size() != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("expected one document, found ", docs->size()));
  }
  return std::move((*docs)[0]);
}

}  // namespace coldstart::lab
