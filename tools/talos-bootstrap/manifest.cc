#include "tools/talos-bootstrap/manifest.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "lib/yaml/yaml_json.h"

namespace coldstart {
namespace {

using Json = nlohmann::json;

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
  absl::StatusOr<std::vector<JsonDocument>> docs =
      YamlDocumentsToJsonWithPositions(text, source);
  if (!docs.ok()) return docs.status();
  std::vector<ManifestObject> out;
  for (JsonDocument& doc : *docs) {
    Json& j = doc.value;
    ManifestObject o;
    o.api_version = Text(j, "apiVersion");
    o.kind = Text(j, "kind");
    o.ns = Text(j, "metadata", "namespace");
    o.name = Text(j, "metadata", "name");
    if (!j.is_object() || o.api_version.empty() || o.kind.empty() ||
        o.name.empty() || absl::EndsWith(o.kind, "List")) {
      return absl::InvalidArgumentError(absl::StrCat(
          source, ":", doc.line, ":", doc.column,
          ": the document is not one object with apiVersion, kind and "
          "metadata.name"));
    }
    o.object = std::move(j);
    out.push_back(std::move(o));
  }
  return out;
}

}  // namespace coldstart
