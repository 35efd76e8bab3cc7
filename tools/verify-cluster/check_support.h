// What every verify-cluster check shares: its outcome, and how Kubernetes
// objects are named and judged in failure lines (tools/verify-cluster).
#ifndef COLDSTART_TOOLS_VERIFY_CLUSTER_CHECK_SUPPORT_H_
#define COLDSTART_TOOLS_VERIFY_CLUSTER_CHECK_SUPPORT_H_

#include <cstddef>
#include <string>
#include <vector>

#include "google/protobuf/repeated_ptr_field.h"
#include "lib/kube/kube_lists.h"
#include "nlohmann/json.hpp"

namespace coldstart {

struct CheckOutcome {
  std::string name;
  std::string gate;
  bool passed = false;
  // What was seen (on success) or a summary of the failures.
  std::string message;
  // One line per failing object.
  std::vector<std::string> failures;
};

// Passed when `outcome` has no failures; the message is `ok_message` then,
// else the first failure and how many more there are.
CheckOutcome Conclude(CheckOutcome outcome, const std::string& ok_message);

// "NAMESPACE/NAME" (or "NAME" for cluster-scoped objects).
std::string ObjectName(const nlohmann::json& object);

// Whether the object's Ready condition is True.
bool IsReady(const nlohmann::json& object);

// "Ready=False BuildFailed: message", or "no Ready condition yet".
std::string ReadyText(const nlohmann::json& object);

// "1 pod", "3 pods".
std::string Plural(size_t n, const char* one, const char* many);

// The namespaces a check lists, or {""} (every namespace) when none.
std::vector<std::string> NamespacesOrAll(
    const google::protobuf::RepeatedPtrField<std::string>& namespaces);

// Running without a waiting/terminated reason, or Succeeded.
bool PodHealthy(const kube::PodSummary& pod);

// "pod vault/vault-0: Running/CrashLoopBackOff, 7 restarts".
std::string PodProblem(const kube::PodSummary& pod);

}  // namespace coldstart

#endif  // COLDSTART_TOOLS_VERIFY_CLUSTER_CHECK_SUPPORT_H_
