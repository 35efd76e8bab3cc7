#include "lab/kube/scenario.h"

#include <algorithm>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/text_format.h"
#include "lib/yaml/yaml_json.h"

namespace coldstart::lab {
namespace {

absl::StatusOr<std::string> Read(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string DirOf(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

class Collector : public google::protobuf::io::ErrorCollector {
 public:
  explicit Collector(std::string file) : file_(std::move(file)) {}
  void AddError(int line, int column, const std::string& message) override {
    if (first_.empty()) {
      first_ =
          absl::StrCat(file_, ":", line + 1, ":", column + 1, ": ", message);
    }
  }
  const std::string& first() const { return first_; }

 private:
  std::string file_;
  std::string first_;
};

absl::Status Load(const std::string& path, std::set<std::string>& active,
                  LoadedScenario& out, bool top) {
  if (!active.insert(path).second) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": include cycle"));
  }
  absl::StatusOr<std::string> text = Read(path);
  if (!text.ok()) return text.status();
  kube::Scenario scenario;
  google::protobuf::TextFormat::Parser parser;
  Collector errors(path);
  parser.RecordErrorsTo(&errors);
  if (!parser.ParseFromString(*text, &scenario)) {
    return absl::InvalidArgumentError(errors.first());
  }
  const std::string dir = DirOf(path);
  for (const std::string& inc : scenario.include()) {
    absl::Status s = Load(absl::StrCat(dir, "/", inc), active, out, false);
    if (!s.ok()) return s;
  }
  if (top || scenario.has_trigger()) {
    if (scenario.has_trigger()) out.trigger = scenario.trigger();
  }
  for (const kube::ScenarioStep& step : scenario.steps()) {
    LoadedStep loaded;
    loaded.at = absl::Seconds(step.at_seconds());
    loaded.note = step.note();
    for (const std::string& file : step.apply_file()) {
      std::string p = absl::StrCat(dir, "/", file);
      absl::StatusOr<std::string> yaml = Read(p);
      if (!yaml.ok()) return yaml.status();
      absl::StatusOr<std::vector<Json>> docs = YamlDocumentsToJson(*yaml, p);
      if (!docs.ok()) return docs.status();
      for (Json& d : *docs) loaded.apply.push_back(std::move(d));
    }
    if (!step.apply().empty()) {
      absl::StatusOr<std::vector<Json>> docs =
          YamlDocumentsToJson(step.apply(), "");
      if (!docs.ok()) {
        return absl::InvalidArgumentError(absl::StrCat(
            path, ": step \"", step.note(), "\": ", docs.status().message()));
      }
      for (Json& d : *docs) loaded.apply.push_back(std::move(d));
    }
    loaded.remove.assign(step.delete_().begin(), step.delete_().end());
    out.steps.push_back(std::move(loaded));
  }
  active.erase(path);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<LoadedScenario> LoadScenarioFile(const std::string& path) {
  LoadedScenario out;
  out.trigger.set_api_version("source.toolkit.fluxcd.io/v1");
  out.trigger.set_kind("GitRepository");
  out.trigger.set_namespace_("flux-system");
  out.trigger.set_name("flux-system");
  std::set<std::string> active;
  absl::Status s = Load(path, active, out, true);
  if (!s.ok()) return s;
  std::stable_sort(
      out.steps.begin(), out.steps.end(),
      [](const LoadedStep& a, const LoadedStep& b) { return a.at < b.at; });
  return out;
}

absl::Status ApplyStep(ApiServer& api, const LoadedStep& step) {
  for (const Json& doc : step.apply) {
    absl::StatusOr<Json> applied = api.Apply(doc);
    if (!applied.ok()) {
      std::string name;
      if (doc.contains("metadata") && doc["metadata"].is_object()) {
        name = doc["metadata"].value("name", "");
      }
      return absl::Status(applied.status().code(),
                          absl::StrCat("scenario step \"", step.note,
                                       "\": ", doc.value("kind", "?"), " ",
                                       name, ": ", applied.status().message()));
    }
  }
  for (const kube::ObjectRef& ref : step.remove) {
    (void)api.Delete(ref.api_version(), ref.kind(), ref.namespace_(),
                     ref.name());
  }
  return absl::OkStatus();
}

void PlayScenario(const LoadedScenario& scenario, ApiServer& api,
                  Scheduler& scheduler, double time_scale,
                  std::function<void(const std::string&)> log) {
  auto shared = std::make_shared<LoadedScenario>(scenario);
  for (size_t i = 0; i < shared->steps.size(); ++i) {
    scheduler.ScheduleAfter(
        shared->steps[i].at * time_scale, [shared, i, &api, log] {
          const LoadedStep& step = shared->steps[i];
          absl::Status s = ApplyStep(api, step);
          if (log) {
            log(s.ok() ? absl::StrCat("kube scenario: ", step.note)
                       : absl::StrCat("kube scenario: ", s.message()));
          }
        });
  }
}

}  // namespace coldstart::lab
