#include "tools/verify-cluster/check_support.h"

#include "absl/strings/str_cat.h"
#include "lib/json/json_path.h"
#include "lib/kube/kube_client.h"

namespace coldstart {

CheckOutcome Conclude(CheckOutcome outcome, const std::string& ok_message) {
  outcome.passed = outcome.failures.empty();
  if (outcome.passed) {
    outcome.message = ok_message;
  } else if (outcome.failures.size() == 1) {
    outcome.message = outcome.failures[0];
  } else {
    outcome.message = absl::StrCat(outcome.failures[0], " (and ",
                                   outcome.failures.size() - 1, " more)");
  }
  return outcome;
}

std::string ObjectName(const nlohmann::json& object) {
  const std::string ns = JsonString(object, {"metadata", "namespace"});
  const std::string name = JsonString(object, {"metadata", "name"});
  return ns.empty() ? name : absl::StrCat(ns, "/", name);
}

bool IsReady(const nlohmann::json& object) {
  const nlohmann::json* ready = kube::FindCondition(object, "Ready");
  return ready != nullptr && JsonString(*ready, {"status"}) == "True";
}

std::string ReadyText(const nlohmann::json& object) {
  const nlohmann::json* ready = kube::FindCondition(object, "Ready");
  if (ready == nullptr) return "no Ready condition yet";
  std::string text = absl::StrCat("Ready=", JsonString(*ready, {"status"}));
  const std::string reason = JsonString(*ready, {"reason"});
  const std::string message = JsonString(*ready, {"message"});
  if (!reason.empty()) absl::StrAppend(&text, " ", reason);
  if (!message.empty()) absl::StrAppend(&text, ": ", message);
  return text;
}

std::string Plural(size_t n, const char* one, const char* many) {
  return absl::StrCat(n, " ", n == 1 ? one : many);
}

std::vector<std::string> NamespacesOrAll(
    const google::protobuf::RepeatedPtrField<std::string>& namespaces) {
  if (namespaces.empty()) return {""};
  return {namespaces.begin(), namespaces.end()};
}

bool PodHealthy(const kube::PodSummary& pod) {
  if (pod.phase == "Succeeded") return true;
  return pod.phase == "Running" && pod.reason.empty();
}

std::string PodProblem(const kube::PodSummary& pod) {
  std::string state = pod.phase;
  if (!pod.reason.empty()) absl::StrAppend(&state, "/", pod.reason);
  return absl::StrCat(
      "pod ", pod.ns, "/", pod.name, ": ", state, ", ",
      Plural(static_cast<size_t>(pod.restarts), "restart", "restarts"));
}

}  // namespace coldstart
